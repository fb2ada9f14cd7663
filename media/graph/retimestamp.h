// Regular timestamps for a decoded RTP stream. Its jitter buffer stamps each packet from when
// it arrived, so the decoded buffers' timestamps wander around the stream's own clock (a
// browser console through WebRTC: by tens of ms), and what follows by timestamp - a gain ramp,
// the mixer's placement of the stream - lands that far off. Here each buffer continues the
// previous one exactly (its samples' duration) and follows the arrival stamps only slowly
// (1/32 of the difference per buffer), so the stream still tracks the sender's clock; a stamp
// more than kRetimestampResync off (a gap, a restart) re-anchors at once. A stamp ahead of the
// pipeline's clock is taken as "now": the mixer places a stream by its first buffer and would
// hold a stream stamped in the future that much longer, for as long as it lasts.
#pragma once
#include <gst/gst.h>

#include <cstdint>

namespace tilmash::graph {

inline constexpr GstClockTimeDiff kRetimestampResync = 60 * GST_MSECOND;

class Retimestamp {
 public:
  // Installs itself on `pad` (F32 mono 48 kHz buffers) of `element` (whose clock it reads);
  // the probe owns it.
  static void Attach(GstPad* pad, GstElement* element);
  // The running time for a buffer stamped `in` (running time) of `samples` samples, at running
  // time `now` (GST_CLOCK_TIME_NONE: unknown).
  GstClockTime Next(GstClockTime in, uint64_t samples, bool discont, GstClockTime now);

 private:
  static GstPadProbeReturn OnData(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  GstElement* element_ = nullptr;  // not owned: the probe goes with its pad
  GstSegment segment_;
  bool have_ = false;
  GstClockTime next_ = 0;
};

}  // namespace tilmash::graph
