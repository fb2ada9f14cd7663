// A slow loudness leveler for one channel (EBU R128): brings what the channel carries towards a
// target loudness with a bounded gain, so delegates switching channels hear interpreters who
// speak 10 dB apart at about the same loudness, and a whisper is not pumped up to a shout. No
// GStreamer here; it runs inside the limiter element (limiter_element.h), before the limiter.
//
// Open loop, measured on its input: K-weighting (ITU-R BS.1770's two biquads at 48 kHz), mean
// square per 100 ms block, short-term loudness over the last 3 s. The gain aims at target minus
// that loudness, bounded to +-range dB, and moves at most 2 dB/s up and 4 dB/s down; it holds
// while the input is quieter than kGateLufs (pauses, silence: nothing to level). Per sample it
// is ramped linearly across each block. No allocation.
#pragma once
#include <array>
#include <cstddef>

namespace tilmash::graph {

class LoudnessLeveler {
 public:
  static constexpr int kRate = 48000;
  static constexpr std::size_t kBlock = 4800;  // 100 ms
  static constexpr std::size_t kBlocks = 30;   // 3 s: EBU R128's short-term loudness
  static constexpr double kGateLufs = -45.0;   // quieter than this: hold the gain
  static constexpr double kUpDbPerBlock = 0.2, kDownDbPerBlock = 0.4;

  // target_lufs 0: off (gain 1); range_db: the largest boost or cut.
  void Configure(double target_lufs, double range_db);
  // In place.
  void Process(float* samples, std::size_t n);
  // The gain now (dB) and the input's short-term loudness (LUFS, -inf before 3 s of sound).
  double gain_db() const { return gain_db_; }
  double short_term_lufs() const { return short_term_lufs_; }

 private:
  struct Biquad {
    double b0, b1, b2, a1, a2, z1 = 0, z2 = 0;
    double Run(double x) {
      const double y = b0 * x + z1;
      z1 = b1 * x - a1 * y + z2;
      z2 = b2 * x - a2 * y;
      return y;
    }
  };
  void EndBlock();

  double target_lufs_ = 0, range_db_ = 10;
  Biquad shelf_{1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585};
  Biquad highpass_{1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621};
  double block_sum_ = 0;
  std::size_t in_block_ = 0;
  std::array<double, kBlocks> blocks_{};
  std::size_t block_pos_ = 0, blocks_filled_ = 0;
  double short_term_lufs_ = -1e9;
  double gain_db_ = 0;      // where the ramp of this block ends
  float gain_ = 1.0f;       // the gain of the last sample
  float gain_step_ = 0.0f;  // per sample, across the current block
};

}  // namespace tilmash::graph
