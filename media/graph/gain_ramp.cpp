#include "graph/gain_ramp.h"

#include <gst/controller/gstdirectcontrolbinding.h>

#include <cmath>

namespace tilmash::graph {

double DbToLinear(double db) { return std::isinf(db) && db < 0 ? 0.0 : std::pow(10.0, db / 20.0); }

GstClockTime RunningTimeNow(GstElement* element) {
  auto clock = gst::GstPtr<GstClock>::Adopt(gst_element_get_clock(element));
  if (!clock) return 0;
  GstClockTime now = gst_clock_get_time(clock.get());
  GstClockTime base = gst_element_get_base_time(element);
  return now > base ? now - base : 0;
}

GainRamp::GainRamp(const char* name, double initial) : volume_(gst::MakeElement("volume", name)), target_(initial) {
  source_ = gst::GstPtr<GstControlSource>::Adopt(gst_interpolation_control_source_new());
  g_object_set(source_.get(), "mode", GST_INTERPOLATION_MODE_LINEAR, nullptr);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(source_.get()), 0, initial);
  gst_object_add_control_binding(GST_OBJECT(volume_.get()), gst_direct_control_binding_new_absolute(
                                                                GST_OBJECT(volume_.get()), "volume", source_.get()));
  gst_segment_init(&segment_, GST_FORMAT_TIME);
  auto pad = gst::PadPtr::Adopt(gst_element_get_static_pad(volume_.get(), "sink"));
  probe_ =
      gst_pad_add_probe(pad.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                        &GainRamp::OnData, this, nullptr);
}

GstPadProbeReturn GainRamp::OnData(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<GainRamp*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* e = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(e) == GST_EVENT_SEGMENT) {
      const GstSegment* s = nullptr;
      gst_event_parse_segment(e, &s);
      if (s->format == GST_FORMAT_TIME) gst_segment_copy_into(s, &self->segment_);
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!GST_BUFFER_PTS_IS_VALID(b)) return GST_PAD_PROBE_OK;
  const guint64 running = gst_segment_to_running_time(&self->segment_, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
  const GstClockTime now = RunningTimeNow(self->volume_.get());
  if (!GST_CLOCK_TIME_IS_VALID(running)) return GST_PAD_PROBE_OK;
  // Smoothed over about eight buffers: each buffer passes at its own phase of the mixer's pull.
  const int64_t sample = int64_t(now) - int64_t(running);
  const int64_t old = self->lag_ns_.load(std::memory_order_relaxed);
  self->lag_ns_.store(self->lag_seen_ ? old + (sample - old) / 8 : sample, std::memory_order_relaxed);
  self->lag_seen_ = true;
  return GST_PAD_PROBE_OK;
}

GainRamp::~GainRamp() {
  if (auto pad = gst::PadPtr::Adopt(gst_element_get_static_pad(volume_.get(), "sink")))
    gst_pad_remove_probe(pad.get(), probe_);
}

GstClockTime GainRamp::StreamTime(GstClockTime running) const {
  auto pad = gst::PadPtr::Adopt(gst_element_get_static_pad(volume_.get(), "sink"));
  GstEvent* event = pad ? gst_pad_get_sticky_event(pad.get(), GST_EVENT_SEGMENT, 0) : nullptr;
  if (!event) return running;  // nothing flowed yet: its first segment starts at running time 0
  const GstSegment* segment = nullptr;
  gst_event_parse_segment(event, &segment);
  GstClockTime stream = running;
  if (segment->format == GST_FORMAT_TIME) {
    const guint64 position = gst_segment_position_from_running_time(segment, GST_FORMAT_TIME, running);
    if (GST_CLOCK_TIME_IS_VALID(position)) stream = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, position);
  }
  gst_event_unref(event);
  return GST_CLOCK_TIME_IS_VALID(stream) ? stream : running;
}

void GainRamp::RampTo(double target, GstClockTime running, GstClockTime duration) {
  // The controller is synced with each buffer's stream time (GstBaseTransform): the instant is
  // given in running time, the one clock every branch shares, and converted through this
  // element's segment, so ramps on branches with different segments still cross together.
  const GstClockTime lag = this->lag();
  const GstClockTime t0 = StreamTime(running > lag ? running - lag : 0);
  auto* tv = GST_TIMED_VALUE_CONTROL_SOURCE(source_.get());
  gdouble current = target_;
  gst_control_source_get_value(source_.get(), t0, &current);
  gst_timed_value_control_source_unset_all(tv);
  gst_timed_value_control_source_set(tv, t0, current);
  gst_timed_value_control_source_set(tv, t0 + duration, target);
  target_ = target;
}

}  // namespace tilmash::graph
