#include "fanout/delay_histogram.h"

#include <algorithm>
#include <vector>

namespace tilmash::fanout {

std::size_t DelayHistogram::BucketOf(int64_t us) {
  if (us < kFineRangeUs) return std::size_t(us / kFineUs);
  return kFine + std::size_t((us - kFineRangeUs) / kCoarseUs);
}

double DelayHistogram::UpperEdgeUs(std::size_t b) {
  if (b < kFine) return double((int64_t(b) + 1) * kFineUs);
  return double(kFineRangeUs + (int64_t(b - kFine) + 1) * kCoarseUs);
}

void DelayHistogram::Record(int64_t delay_ns) {
  if (delay_ns < 0) delay_ns = 0;
  const int64_t us = delay_ns / 1000;
  if (us >= kRangeUs)
    over_range_.fetch_add(1, std::memory_order_relaxed);
  else
    buckets_[BucketOf(us)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(uint64_t(delay_ns), std::memory_order_relaxed);
  int64_t seen = max_ns_.load(std::memory_order_relaxed);
  while (delay_ns > seen && !max_ns_.compare_exchange_weak(seen, delay_ns, std::memory_order_relaxed)) {
  }
}

DelaySummary DelayHistogram::Summary() const {
  std::vector<uint64_t> counts(kBuckets);
  DelaySummary s;
  for (std::size_t i = 0; i < kBuckets; ++i) s.samples += counts[i] = buckets_[i].load(std::memory_order_relaxed);
  s.over_range = over_range_.load(std::memory_order_relaxed);
  s.samples += s.over_range;
  s.max_us = double(max_ns_.load(std::memory_order_relaxed)) / 1000.0;
  s.sum_s = double(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  {
    // Every bound is a bucket edge: a sample in bucket i is below UpperEdgeUs(i) <= the bound.
    uint64_t below = 0;
    std::size_t i = 0;
    for (const int64_t bound : kExportBoundsUs) {
      for (; i < kBuckets && UpperEdgeUs(i) <= double(bound); ++i) below += counts[i];
      s.buckets.emplace_back(double(bound) / 1e6, below);
    }
  }
  if (s.samples == 0) return s;
  // A percentile is reported as its bucket's upper edge (conservative), capped by the maximum;
  // one among the samples past the range is the maximum itself.
  auto at = [&](double q) {
    const uint64_t rank = uint64_t(q * double(s.samples - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= rank) return std::min(UpperEdgeUs(i), s.max_us);
    }
    return s.max_us;
  };
  s.p50_us = at(0.50);
  s.p99_us = at(0.99);
  return s;
}

void DelayHistogram::Reset() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  over_range_.store(0, std::memory_order_relaxed);
  max_ns_.store(0, std::memory_order_relaxed);
  sum_ns_.store(0, std::memory_order_relaxed);
}

DelayTracker::DelayTracker(std::size_t entries) {
  std::size_t n = 1;
  while (n < entries) n <<= 1;
  mask_ = n - 1;
  entries_ = std::make_unique<Entry[]>(n);
}

uint32_t DelayTracker::Begin(uint32_t threads) {
  const uint32_t i = next_.fetch_add(1, std::memory_order_relaxed) & uint32_t(mask_);
  entries_[i].sent.store(false, std::memory_order_relaxed);
  entries_[i].remaining.store(threads, std::memory_order_release);
  return i;
}

void DelayTracker::Finish(uint32_t entry, bool sent, int64_t push_ns, int64_t now_ns) {
  Entry& e = entries_[entry & mask_];
  if (sent) e.sent.store(true, std::memory_order_relaxed);
  if (e.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && e.sent.load(std::memory_order_relaxed))
    histogram_.Record(now_ns - push_ns);
}

}  // namespace tilmash::fanout
