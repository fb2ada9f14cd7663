// A channel's level as its encoder gets it (the technician's meter, /metrics): RMS and peak
// over every 100 ms of audio, computed by a buffer probe on the streaming thread - no
// allocation, no lock, a few operations per sample - and read from any thread.
#pragma once
#include <gst/gst.h>

#include <atomic>
#include <cstddef>
#include <limits>

#include "gst/gst_ptr.h"

namespace tilmash::graph {

class LevelMeter {
 public:
  static constexpr std::size_t kWindow = 4800;  // 100 ms at 48 kHz

  // Measures the buffers that pass `pad` (48 kHz mono F32LE, the graph's raw caps). The meter
  // must outlive the pad's streaming (the channel that owns both tears the branch down first).
  void Attach(GstPad* pad);
  // dBFS of the last full window: -inf before one and for digital silence. A full-scale sine
  // has a peak of 0 and an RMS of -3 dBFS.
  double rms_dbfs() const { return rms_dbfs_.load(std::memory_order_relaxed); }
  double peak_dbfs() const { return peak_dbfs_.load(std::memory_order_relaxed); }
  // The probe's work, public for tests: adds samples and publishes every kWindow.
  void Add(const float* samples, std::size_t n);

 private:
  static GstPadProbeReturn OnBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer self);

  double sum_squares_ = 0;  // streaming thread only
  float peak_ = 0;
  std::size_t count_ = 0;
  std::atomic<double> rms_dbfs_{-std::numeric_limits<double>::infinity()};
  std::atomic<double> peak_dbfs_{-std::numeric_limits<double>::infinity()};
  gst::PadProbe probe_;
};

}  // namespace tilmash::graph
