// Fan-out delay: from Push of a channel packet to the return of the last sendmmsg that
// carried it (i.e. to its last listener). A fixed array of atomic buckets, 10 us wide up to
// 100 ms and 1 ms wide up to 10 s: recording is one relaxed increment on a sender thread,
// reading is for stats (any thread). Nothing is clamped: a delay past 10 s is counted as
// such, and a percentile that falls among those is reported as the exact maximum.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace tilmash::fanout {

struct DelaySummary {
  uint64_t samples = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
  uint64_t over_range = 0;  // samples past the histogram's range (10 s)
  // Cumulative counts at kExportBoundsUs (Prometheus `le` buckets; +Inf is `samples`) and the
  // sum of every sample.
  std::vector<std::pair<double, uint64_t>> buckets;  // (upper bound in seconds, samples <= it)
  double sum_s = 0;
};
// The bounds the delay is exported with (/metrics): 50 us to 10 s.
inline constexpr int64_t kExportBoundsUs[] = {50,    100,   250,   500,    1000,   2000,    5000,
                                              10000, 25000, 50000, 100000, 250000, 1000000, 10000000};

class DelayHistogram {
 public:
  static constexpr int64_t kFineUs = 10;           // bucket width below kFineRangeUs
  static constexpr int64_t kFineRangeUs = 100000;  // 100 ms
  static constexpr int64_t kCoarseUs = 1000;       // bucket width from 100 ms to kRangeUs
  static constexpr int64_t kRangeUs = 10000000;    // 10 s
  static constexpr std::size_t kFine = std::size_t(kFineRangeUs / kFineUs);
  static constexpr std::size_t kBuckets = kFine + std::size_t((kRangeUs - kFineRangeUs) / kCoarseUs);

  void Record(int64_t delay_ns);
  DelaySummary Summary() const;
  // Starts a new measurement window (bench warm-up); concurrent Records may land in either.
  void Reset();

 private:
  static std::size_t BucketOf(int64_t us);
  static double UpperEdgeUs(std::size_t bucket);
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> over_range_{0};
  std::atomic<int64_t> max_ns_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// Packets still being fanned out, and by how many sender threads: the last thread to finish
// a packet records its delay, so the histogram is the delay to the last listener of all
// threads. Entries are reused round-robin; `entries` must exceed the packets that can be in
// flight (every ring's capacity), otherwise a sample may be lost (stats only).
class DelayTracker {
 public:
  explicit DelayTracker(std::size_t entries);
  // Producer: a packet about to be queued to `threads` sender threads. Returns its entry.
  uint32_t Begin(uint32_t threads);
  // Sender thread done with the packet (sent: at least one listener got it).
  void Finish(uint32_t entry, bool sent, int64_t push_ns, int64_t now_ns);
  DelayHistogram& histogram() { return histogram_; }
  const DelayHistogram& histogram() const { return histogram_; }

 private:
  struct Entry {
    std::atomic<uint32_t> remaining{0};
    std::atomic<bool> sent{false};
  };
  std::size_t mask_ = 0;
  std::unique_ptr<Entry[]> entries_;
  std::atomic<uint32_t> next_{0};
  DelayHistogram histogram_;
};

}  // namespace tilmash::fanout
