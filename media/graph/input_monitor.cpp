#include "graph/input_monitor.h"

#include <algorithm>
#include <cmath>

namespace tilmash::graph {

namespace {
double Db(double power) { return power > 0 ? std::max(-200.0, 10.0 * std::log10(power)) : -200.0; }
}  // namespace

void InputMonitor::Attach(GstPad* pad) {
  const gulong id = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &InputMonitor::OnBuffer, this, nullptr);
  probe_ = gst::PadProbe(pad, id);
}

GstPadProbeReturn InputMonitor::OnBuffer(GstPad*, GstPadProbeInfo* info, gpointer self) {
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    static_cast<InputMonitor*>(self)->Add(reinterpret_cast<const float*>(map.data), map.size / sizeof(float));
    gst_buffer_unmap(buffer, &map);
  }
  return GST_PAD_PROBE_OK;
}

void InputMonitor::Add(const float* samples, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float s = std::isfinite(samples[i]) ? samples[i] : 0.0f;
    sum_ += double(s) * s;
    double h = s;
    for (auto& stage : highpass_) h = stage.Run(h);
    high_sum_ += h * h;
    const float a = s < 0 ? -s : s;  // no std::max of references per sample (see true_peak_limiter.cpp)
    peak_ = a > peak_ ? a : peak_;
    clipped_ = clipped_ || a >= 32767.0f / 32768.0f;  // the decoder's S16 full scale
    if (++count_ == kWindow) Publish();
  }
}

void InputMonitor::Publish() {
  const double rms = Db(sum_ / double(kWindow));
  const double above = sum_ > 0 ? Db(high_sum_ / sum_) : -200.0;
  quiet_[quiet_pos_] = rms;
  quiet_pos_ = (quiet_pos_ + 1) % kNoiseWindows;
  quiet_filled_ = std::min(quiet_filled_ + 1, kNoiseWindows);
  rms_.store(rms, std::memory_order_relaxed);
  peak_db_.store(Db(double(peak_) * peak_), std::memory_order_relaxed);
  noise_.store(*std::min_element(quiet_.begin(), quiet_.begin() + long(quiet_filled_)), std::memory_order_relaxed);
  above_.store(above, std::memory_order_relaxed);
  clipping_.store(clipped_, std::memory_order_relaxed);
  // Judged only while someone speaks; a pause keeps the last verdict.
  if (rms > kSpeechDbfs) narrowband_.store(above < kNarrowbandDb, std::memory_order_relaxed);
  sum_ = high_sum_ = 0;
  peak_ = 0;
  clipped_ = false;
  count_ = 0;
}

InputReading InputMonitor::reading() const {
  InputReading r;
  r.rms_dbfs = rms_.load(std::memory_order_relaxed);
  r.peak_dbfs = peak_db_.load(std::memory_order_relaxed);
  r.noise_floor_dbfs = noise_.load(std::memory_order_relaxed);
  r.above_7khz_db = above_.load(std::memory_order_relaxed);
  r.clipping = clipping_.load(std::memory_order_relaxed);
  r.narrowband = narrowband_.load(std::memory_order_relaxed);
  return r;
}

}  // namespace tilmash::graph
