// What a speaker's input sounds like as it arrives (ISO 24019's concern with the quality of what
// the booths receive): for the floor and every console, after the Opus decoder, per 100 ms of
// audio: level (RMS, peak), clipping (samples at the decoder's full scale), the noise floor (the
// quietest 100 ms of the last 5 s) and bandwidth (the share of energy above 7 kHz: a speaker on a
// telephone line or a narrowband codec has almost none). A buffer probe on the streaming thread,
// no allocation, no lock; read from any thread.
#pragma once
#include <gst/gst.h>

#include <array>
#include <atomic>
#include <cstddef>

#include "gst/gst_ptr.h"

namespace tilmash::graph {

struct InputReading {
  double rms_dbfs = -200, peak_dbfs = -200, noise_floor_dbfs = -200;
  double above_7khz_db = -200;  // energy above 7 kHz relative to all of it (dB)
  bool clipping = false;        // a sample at full scale in the last 100 ms
  bool narrowband = false;      // speech with nothing above 7 kHz: a telephone-band speaker
};

class InputMonitor {
 public:
  static constexpr std::size_t kWindow = 4800;      // 100 ms at 48 kHz
  static constexpr std::size_t kNoiseWindows = 50;  // 5 s
  // Speech is present above this RMS; then less than kNarrowbandDb above 7 kHz is narrowband.
  static constexpr double kSpeechDbfs = -50, kNarrowbandDb = -45;

  // Measures the buffers that pass `pad` (48 kHz mono F32LE). Must outlive the pad's streaming.
  void Attach(GstPad* pad);
  InputReading reading() const;
  // The probe's work, public for tests.
  void Add(const float* samples, std::size_t n);

 private:
  static GstPadProbeReturn OnBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  void Publish();

  struct Biquad {  // RBJ high-pass at 7 kHz, Q 0.707, 48 kHz
    double b0 = 0.515301, b1 = -1.030603, b2 = 0.515301, a1 = -0.779968, a2 = 0.281237, z1 = 0, z2 = 0;
    double Run(double x) {
      const double y = b0 * x + z1;
      z1 = b1 * x - a1 * y + z2;
      z2 = b2 * x - a2 * y;
      return y;
    }
  };
  // Streaming thread only.
  std::array<Biquad, 4> highpass_;  // 8th order: a telephone band's 3.4 kHz is ~50 dB down
  double sum_ = 0, high_sum_ = 0;
  float peak_ = 0;
  bool clipped_ = false;
  std::size_t count_ = 0;
  std::array<double, kNoiseWindows> quiet_{};
  std::size_t quiet_pos_ = 0, quiet_filled_ = 0;
  // Published.
  std::atomic<double> rms_{-200}, peak_db_{-200}, noise_{-200}, above_{-200};
  std::atomic<bool> clipping_{false}, narrowband_{false};
  gst::PadProbe probe_;
};

}  // namespace tilmash::graph
