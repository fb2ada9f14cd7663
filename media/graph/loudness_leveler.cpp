#include "graph/loudness_leveler.h"

#include <algorithm>
#include <cmath>

namespace tilmash::graph {

void LoudnessLeveler::Configure(double target_lufs, double range_db) {
  target_lufs_ = target_lufs;
  range_db_ = std::max(0.0, range_db);
  if (target_lufs_ == 0) {  // off: back to unity at once
    gain_db_ = 0;
    gain_ = 1.0f;
    gain_step_ = 0.0f;
  }
}

void LoudnessLeveler::EndBlock() {
  blocks_[block_pos_] = block_sum_ / double(kBlock);
  block_pos_ = (block_pos_ + 1) % kBlocks;
  blocks_filled_ = std::min(blocks_filled_ + 1, kBlocks);
  block_sum_ = 0;
  in_block_ = 0;
  double mean = 0;
  for (std::size_t i = 0; i < blocks_filled_; ++i) mean += blocks_[i];
  mean /= double(blocks_filled_);
  short_term_lufs_ = mean > 0 ? -0.691 + 10 * std::log10(mean) : -1e9;
  double next = gain_db_;
  if (target_lufs_ != 0 && blocks_filled_ == kBlocks && short_term_lufs_ > kGateLufs) {
    const double wanted = std::clamp(target_lufs_ - short_term_lufs_, -range_db_, range_db_);
    next = gain_db_ + std::clamp(wanted - gain_db_, -kDownDbPerBlock, kUpDbPerBlock);
  }
  gain_db_ = next;
  gain_step_ = (float(std::pow(10.0, gain_db_ / 20.0)) - gain_) / float(kBlock);
}

void LoudnessLeveler::Process(float* samples, std::size_t n) {
  if (target_lufs_ == 0) return;
  for (std::size_t i = 0; i < n; ++i) {
    const double k = highpass_.Run(shelf_.Run(samples[i]));
    block_sum_ += k * k;
    gain_ += gain_step_;
    samples[i] *= gain_;
    if (++in_block_ == kBlock) EndBlock();
  }
}

}  // namespace tilmash::graph
