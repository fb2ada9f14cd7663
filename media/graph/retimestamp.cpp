#include "graph/retimestamp.h"

#include "graph/gain_ramp.h"

namespace tilmash::graph {

void Retimestamp::Attach(GstPad* pad, GstElement* element, GstClockTime frame) {
  auto* r = new Retimestamp(frame);
  r->element_ = element;
  gst_segment_init(&r->segment_, GST_FORMAT_TIME);
  gst_pad_add_probe(pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    &Retimestamp::OnData, r, [](gpointer p) { delete static_cast<Retimestamp*>(p); });
}

GstClockTime Retimestamp::Next(GstClockTime in, uint64_t samples, bool discont, GstClockTime now) {
  const GstClockTime duration = gst_util_uint64_scale(samples, GST_SECOND, 48000);
  if (now != GST_CLOCK_TIME_NONE && in > now) in = now;
  const GstClockTimeDiff off = GST_CLOCK_DIFF(next_, in);  // in - next_
  if (!have_ || discont || off > kRetimestampResync || off < -kRetimestampResync) {
    next_ = in;
    align_ = frame_ > 0 ? (frame_ - next_ % frame_) % frame_ : 0;
  } else {
    next_ = GstClockTime(GstClockTimeDiff(next_) + off / 32);
  }
  have_ = true;
  const GstClockTime out = next_ + align_;
  next_ += duration;
  return out;
}

GstPadProbeReturn Retimestamp::OnData(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<Retimestamp*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* e = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(e) == GST_EVENT_SEGMENT) {
      const GstSegment* s = nullptr;
      gst_event_parse_segment(e, &s);
      if (s->format == GST_FORMAT_TIME) {
        gst_segment_copy_into(s, &self->segment_);
        self->have_ = false;
      }
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!GST_BUFFER_PTS_IS_VALID(b)) return GST_PAD_PROBE_OK;
  const guint64 running = gst_segment_to_running_time(&self->segment_, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
  if (!GST_CLOCK_TIME_IS_VALID(running)) return GST_PAD_PROBE_OK;
  const GstClockTime now = RunningTimeNow(self->element_);
  const uint64_t samples = gst_buffer_get_size(b) / sizeof(float);
  const GstClockTime out = self->Next(running, samples, GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT),
                                      now > 0 ? now : GST_CLOCK_TIME_NONE);
  if (out == running) return GST_PAD_PROBE_OK;
  const guint64 pts = gst_segment_position_from_running_time(&self->segment_, GST_FORMAT_TIME, out);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return GST_PAD_PROBE_OK;
  b = gst_buffer_make_writable(b);
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale(samples, GST_SECOND, 48000);
  GST_PAD_PROBE_INFO_DATA(info) = b;
  return GST_PAD_PROBE_OK;
}

}  // namespace tilmash::graph
