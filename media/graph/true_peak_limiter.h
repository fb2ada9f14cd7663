// A true-peak look-ahead limiter for 48 kHz mono float audio (acoustic-shock protection and
// headroom for the codec, ISO 20109 §4.5). No GStreamer here: the element that runs it in the
// graph is limiter_element.h. Per sample, on the streaming thread, with no allocation:
//
//   - true peak: the input upsampled 4x by a polyphase FIR (12 taps per phase, Kaiser-windowed
//     sinc, as ITU-R BS.1770's meter), the largest |value| of the 4 phases;
//   - the gain each sample needs to stay under the ceiling, min(1, ceiling / peak);
//   - the minimum of that over the look-ahead window (a monotonic deque), released towards 1
//     exponentially, then averaged over the same window: the gain ramps down across the
//     look-ahead and is at (or under) what the peak needs when the peak leaves the delay line;
//   - the input delayed by kDelay samples (1.5 ms), times that gain.
//
// A steady tone over the ceiling gets a constant gain (every window holds a peak of it), so it
// is turned down, not distorted; a sudden burst is at the ceiling from its first sample.
//
// The acoustic-shock guard (SetShockGuard, off by default): the ceiling is also at most
// `jump_db` over the recent level, so a sudden jump (a feedback squeal, a dropped microphone,
// a desk's fader slammed open) cannot reach a listener's ear at once. The recent level is an
// envelope of the input's block peaks in dB that rises with a time constant of kGuardRiseS and
// falls with kGuardFallS, so the guard lets a louder passage through as it goes on (how fast
// what is heard may grow) and stays open through speech's pauses. Nothing under
// kGuardFloorDbfs is ever held by it (no sound that quiet can shock).
#pragma once
#include <array>
#include <cstddef>

namespace tilmash::graph {

class TruePeakLimiter {
 public:
  static constexpr int kRate = 48000;
  static constexpr int kOversample = 4;
  static constexpr int kTapsPerPhase = 24;
  // The detector's own delay (half its taps), and the window the gain looks ahead over.
  static constexpr std::size_t kDetectorDelay = kTapsPerPhase / 2;
  static constexpr std::size_t kDelay = 72;  // 1.5 ms: what the limiter adds to the latency
  static constexpr std::size_t kWindow = kDelay - kDetectorDelay + 1;

  // ceiling_dbtp: the largest true peak let through; release_ms: the time constant the gain
  // returns to 1 with after a peak has passed.
  explicit TruePeakLimiter(double ceiling_dbtp = -1.0, double release_ms = 80.0);

  // In place: out[i] is the input of kDelay samples earlier, limited. Non-finite input is
  // taken as silence.
  void Process(float* samples, std::size_t n);
  // Back to silence in the delay line and a gain of 1 (a new stream).
  void Reset();

  // jump_db > 0: the shock guard on (the header says how); 0: off. Takes effect at once.
  void SetShockGuard(double jump_db);
  static constexpr double kGuardFloorDbfs = -12.0;
  static constexpr double kGuardRiseS = 0.5;
  static constexpr double kGuardFallS = 5.0;
  static constexpr double kGuardQuietDbfs = -60.0;  // the envelope's start and lowest value

  float ceiling() const { return ceiling_; }
  // The ceiling in force for the last block (linear): the fixed one, or the guard's if lower.
  float ceiling_now() const { return ceiling_now_; }
  // The gain applied to the last output sample (1 = untouched); for tests and meters.
  float gain() const { return gain_; }

 private:
  float TruePeak() const;  // of the history ending at the newest sample, at its detector delay
  float WindowMin(float required);
  void Guard(const float* samples, std::size_t n);  // the shock guard's envelope and ceiling_now_

  float ceiling_;
  float ceiling_now_;
  float release_coef_;
  double guard_jump_db_ = 0;
  double envelope_db_ = kGuardQuietDbfs;
  // taps_[j][k]: phase k's weight of x[n - j]; the four phases side by side, so one pass over
  // the history computes all of them (and vectorises).
  std::array<std::array<float, kOversample>, kTapsPerPhase> taps_{};
  // The last kTapsPerPhase inputs, twice over so a window is contiguous (no modulo per tap).
  std::array<float, 2 * kTapsPerPhase> history_{};
  std::size_t history_pos_ = 0;
  std::array<float, kDelay> delay_{};
  std::size_t delay_pos_ = 0;
  // Sliding minimum: indices and values of a monotonic deque in a ring of kWindow + 1 slots.
  std::array<float, kWindow + 1> min_value_{};
  std::array<std::size_t, kWindow + 1> min_index_{};
  std::size_t min_head_ = 0, min_size_ = 0, index_ = 0;
  float released_ = 1.0f;
  // Moving average of the released minimum over kWindow samples.
  std::array<float, kWindow> average_ring_{};
  std::size_t average_pos_ = 0;
  double average_sum_ = kWindow;
  float gain_ = 1.0f;
};

}  // namespace tilmash::graph
