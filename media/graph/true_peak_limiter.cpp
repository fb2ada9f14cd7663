#include "graph/true_peak_limiter.h"

#include <algorithm>
#include <cmath>

namespace tilmash::graph {

namespace {

// Modified Bessel function of the first kind, order 0 (the Kaiser window), by its series.
double BesselI0(double x) {
  double sum = 1, term = 1;
  for (int k = 1; k < 30; ++k) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
  }
  return sum;
}

}  // namespace

TruePeakLimiter::TruePeakLimiter(double ceiling_dbtp, double release_ms)
    : ceiling_(float(std::pow(10.0, ceiling_dbtp / 20.0))),
      ceiling_now_(ceiling_),
      release_coef_(float(1.0 - std::exp(-1000.0 / (std::max(release_ms, 1.0) * kRate)))) {
  // Phase k interpolates the signal at (kDetectorDelay - k / 4) samples before the newest one:
  // tap j (x[n - j]) weighs sinc(j - kDetectorDelay + k / 4), windowed; phase 0 is x[n - 6].
  constexpr double kBeta = 5.0;
  constexpr double kHalf = kTapsPerPhase / 2.0;
  for (int k = 0; k < kOversample; ++k) {
    double sum = 0;
    for (int j = 0; j < kTapsPerPhase; ++j) {
      const double u = j - double(kDetectorDelay) + double(k) / kOversample;
      const double sinc = u == 0 ? 1.0 : std::sin(M_PI * u) / (M_PI * u);
      const double r = u / kHalf;
      const double window = std::abs(r) >= 1 ? 0.0 : BesselI0(kBeta * std::sqrt(1 - r * r)) / BesselI0(kBeta);
      taps_[std::size_t(j)][std::size_t(k)] = float(sinc * window);
      sum += sinc * window;
    }
    for (auto& tap : taps_) tap[std::size_t(k)] = float(tap[std::size_t(k)] / sum);  // unity gain at DC for every phase
  }
  Reset();
}

void TruePeakLimiter::Reset() {
  history_.fill(0);
  history_pos_ = 0;
  delay_.fill(0);
  delay_pos_ = 0;
  min_head_ = min_size_ = index_ = 0;
  released_ = 1.0f;
  average_ring_.fill(1.0f);
  average_pos_ = 0;
  average_sum_ = kWindow;
  gain_ = 1.0f;
  envelope_db_ = kGuardQuietDbfs;
  ceiling_now_ = ceiling_;
}

void TruePeakLimiter::SetShockGuard(double jump_db) {
  guard_jump_db_ = jump_db > 0 ? jump_db : 0;
  if (guard_jump_db_ == 0) ceiling_now_ = ceiling_;
}

void TruePeakLimiter::Guard(const float* samples, std::size_t n) {
  float peak = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float a = samples[i] < 0 ? -samples[i] : samples[i];
    if (a > peak && std::isfinite(a)) peak = a;  // non-finite input is silence, as in Process
  }
  const double peak_db = peak > 0 ? 20.0 * std::log10(double(peak)) : kGuardQuietDbfs;
  const double seconds = double(n) / kRate;
  const double tau = peak_db > envelope_db_ ? kGuardRiseS : kGuardFallS;
  envelope_db_ += (std::max(peak_db, kGuardQuietDbfs) - envelope_db_) * (1.0 - std::exp(-seconds / tau));
  const double allowed_db = std::max(kGuardFloorDbfs, envelope_db_ + guard_jump_db_);
  ceiling_now_ = std::min(ceiling_, float(std::pow(10.0, allowed_db / 20.0)));
}

float TruePeakLimiter::TruePeak() const {
  // history_[history_pos_ + kTapsPerPhase - 1 - j] is x[n - j].
  const float* newest = history_.data() + history_pos_ + kTapsPerPhase - 1;
  // The four phases accumulate side by side over one pass of the history (each in the same order
  // of taps as a phase-by-phase loop), with plain comparisons instead of std::max of references:
  // this runs on every sample of every mix, and must keep real time in sanitizer builds too
  // (tools/sanitize), where each load is checked and an out-of-line call with an addressable
  // local costs a heap frame.
  float v0 = 0, v1 = 0, v2 = 0, v3 = 0;
  static_assert(kOversample == 4);
  for (int j = 0; j < kTapsPerPhase; ++j) {
    const float x = newest[-j];
    const float* tap = taps_[std::size_t(j)].data();
    v0 += tap[0] * x;
    v1 += tap[1] * x;
    v2 += tap[2] * x;
    v3 += tap[3] * x;
  }
  const float a0 = v0 < 0 ? -v0 : v0, a1 = v1 < 0 ? -v1 : v1;
  const float a2 = v2 < 0 ? -v2 : v2, a3 = v3 < 0 ? -v3 : v3;
  const float a01 = a0 > a1 ? a0 : a1, a23 = a2 > a3 ? a2 : a3;
  const float peak = a01 > a23 ? a01 : a23;
  return peak;
}

float TruePeakLimiter::WindowMin(float required) {
  constexpr std::size_t kSlots = kWindow + 1;
  while (min_size_ > 0 && min_value_[(min_head_ + min_size_ - 1) % kSlots] >= required) --min_size_;
  const std::size_t slot = (min_head_ + min_size_) % kSlots;
  min_value_[slot] = required;
  min_index_[slot] = index_;
  ++min_size_;
  while (min_index_[min_head_] + kWindow <= index_) {
    min_head_ = (min_head_ + 1) % kSlots;
    --min_size_;
  }
  ++index_;
  return min_value_[min_head_];
}

void TruePeakLimiter::Process(float* samples, std::size_t n) {
  if (guard_jump_db_ > 0) Guard(samples, n);
  const float ceiling = ceiling_now_;
  for (std::size_t i = 0; i < n; ++i) {
    const float x = std::isfinite(samples[i]) ? samples[i] : 0.0f;
    history_[history_pos_] = history_[history_pos_ + kTapsPerPhase] = x;
    history_pos_ = (history_pos_ + 1) % kTapsPerPhase;

    const float peak = TruePeak();
    const float required = peak > ceiling ? ceiling / peak : 1.0f;
    const float lowest = WindowMin(required);
    // Down at once, back up slowly (never above the window's minimum); the last 2e-4 (0.002 dB) at once,
    // or float rounding would leave the gain a hair under 1 for good after the first peak.
    released_ =
        lowest < released_ || lowest - released_ < 2e-4f ? lowest : released_ + release_coef_ * (lowest - released_);
    average_sum_ += double(released_) - double(average_ring_[average_pos_]);
    average_ring_[average_pos_] = released_;
    average_pos_ = (average_pos_ + 1) % kWindow;
    if (average_pos_ == 0) {  // no rounding drift over days of running: the sum again, exactly
      average_sum_ = 0;
      for (float g : average_ring_) average_sum_ += g;
    }
    const float average = float(average_sum_ / kWindow);
    gain_ = average < 1.0f ? average : 1.0f;

    samples[i] = delay_[delay_pos_] * gain_;
    delay_[delay_pos_] = x;
    delay_pos_ = (delay_pos_ + 1) % kDelay;
  }
}

}  // namespace tilmash::graph
