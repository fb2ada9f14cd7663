// A volume element whose gain changes as a short linear ramp (sample-accurate, via the
// GStreamer controller), so a mic press or an auto-floor fallback is a crossfade on a pad
// that stays linked - never a relink, never a click.
#pragma once
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/gst.h>

#include <algorithm>
#include <atomic>

#include "gst/gst_ptr.h"

namespace tilmash::graph {

inline constexpr GstClockTime kRampDuration = 5 * GST_MSECOND;

// Running time of `element`'s pipeline now, or 0 when it has no clock yet.
GstClockTime RunningTimeNow(GstElement* element);
double DbToLinear(double db);

class GainRamp {
 public:
  // Creates the volume element (not yet in a bin) at `initial` linear gain.
  explicit GainRamp(const char* name, double initial);
  ~GainRamp();
  GainRamp(const GainRamp&) = delete;
  GainRamp& operator=(const GainRamp&) = delete;

  GstElement* element() const { return volume_.get(); }
  // Ramps from the current gain to `target` (linear) starting at the pipeline's running time now.
  void RampTo(double target) { RampTo(target, RunningTimeNow(volume_.get())); }
  // The same from running time `at` (one instant for several ramps that must cross). Any
  // thread: the control source has its own lock; one caller at a time (the session's).
  // The ramp starts on the audio that passes this element at `at`, not on the audio stamped
  // `at`: a console's buffers carry their arrival time and reach the mixer tens of ms later
  // (docs/latency.md), so a cough keyed now silences what is heard now.
  void RampTo(double target, GstClockTime at, GstClockTime duration = kRampDuration);
  // How far the audio passing this element lags its timestamps (running time now minus the
  // last buffer's running time), ns.
  GstClockTime lag() const { return GstClockTime(std::max<int64_t>(0, lag_ns_.load(std::memory_order_relaxed))); }
  double target() const { return target_; }
  // This element's stream time at running time `running` (its sink pad's segment).
  GstClockTime StreamTime(GstClockTime running) const;

 private:
  static GstPadProbeReturn OnData(GstPad* pad, GstPadProbeInfo* info, gpointer self);

  gst::ElementPtr volume_;
  GstSegment segment_;  // the sink pad's, streaming thread only
  std::atomic<int64_t> lag_ns_{0};
  gulong probe_ = 0;
  bool lag_seen_ = false;                 // streaming thread only
  gst::GstPtr<GstControlSource> source_;  // the binding holds a ref too
  double target_;
};

}  // namespace tilmash::graph
