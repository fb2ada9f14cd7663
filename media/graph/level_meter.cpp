#include "graph/level_meter.h"

#include <cmath>

namespace tilmash::graph {

void LevelMeter::Attach(GstPad* pad) {
  const gulong id = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &LevelMeter::OnBuffer, this, nullptr);
  probe_ = gst::PadProbe(pad, id);
}

GstPadProbeReturn LevelMeter::OnBuffer(GstPad*, GstPadProbeInfo* info, gpointer self) {
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    static_cast<LevelMeter*>(self)->Add(reinterpret_cast<const float*>(map.data), map.size / sizeof(float));
    gst_buffer_unmap(buffer, &map);
  }
  return GST_PAD_PROBE_OK;
}

void LevelMeter::Add(const float* samples, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float s = samples[i];
    sum_squares_ += double(s) * double(s);
    peak_ = std::fmax(peak_, std::fabs(s));
    if (++count_ < kWindow) continue;
    const double mean = sum_squares_ / double(count_);
    rms_dbfs_.store(mean > 0 ? 10.0 * std::log10(mean) : -std::numeric_limits<double>::infinity(),
                    std::memory_order_relaxed);
    peak_dbfs_.store(peak_ > 0 ? 20.0 * std::log10(double(peak_)) : -std::numeric_limits<double>::infinity(),
                     std::memory_order_relaxed);
    sum_squares_ = 0;
    peak_ = 0;
    count_ = 0;
  }
}

}  // namespace tilmash::graph
