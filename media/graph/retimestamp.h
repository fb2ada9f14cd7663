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

// Aligned to the session's frame grid: a stream's first buffer (and each re-anchor) is moved
// later, to the next multiple of `frame` in running time, and the stream keeps that phase. Every
// mixer input stamped this way meets the mixer's output frames whole, instead of each output
// frame taking the end of one input buffer and the start of the next (and waiting a frame for
// it): the mixer's wait for a stream is then what its packets' arrival phase is behind the other
// inputs', not up to a whole frame more. Nothing is delayed by it: the mixer and what follows do
// not sync to the clock, so a later stamp only names where the audio sits in the mix.
class Retimestamp {
 public:
  // Installs itself on `pad` (F32 mono 48 kHz buffers) of `element` (whose clock it reads);
  // the probe owns it. frame: the grid (0: none).
  static void Attach(GstPad* pad, GstElement* element, GstClockTime frame = 0);
  explicit Retimestamp(GstClockTime frame = 0) : frame_(frame) {}
  // The running time for a buffer stamped `in` (running time) of `samples` samples, at running
  // time `now` (GST_CLOCK_TIME_NONE: unknown).
  GstClockTime Next(GstClockTime in, uint64_t samples, bool discont, GstClockTime now);

 private:
  static GstPadProbeReturn OnData(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  GstElement* element_ = nullptr;  // not owned: the probe goes with its pad
  GstSegment segment_;
  bool have_ = false;
  GstClockTime next_ = 0;
  GstClockTime frame_ = 0;
  GstClockTime align_ = 0;  // added to next_ so the stream sits on the frame grid (set at each anchor)
};

}  // namespace tilmash::graph
