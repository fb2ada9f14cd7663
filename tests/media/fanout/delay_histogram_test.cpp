#include "fanout/delay_histogram.h"

#include <gtest/gtest.h>

namespace tilmash::fanout {
namespace {

constexpr int64_t kMs = 1000000;  // ns

TEST(DelayHistogramTest, PercentilesAreBucketEdgesCappedByTheMaximum) {
  DelayHistogram h;
  for (int i = 0; i < 99; ++i) h.Record(1 * kMs + 3000);  // 1.003 ms
  h.Record(40 * kMs);
  const auto s = h.Summary();
  EXPECT_EQ(s.samples, 100u);
  EXPECT_DOUBLE_EQ(s.p50_us, 1010);  // the 10 us bucket's upper edge
  EXPECT_DOUBLE_EQ(s.p99_us, 1010);
  EXPECT_DOUBLE_EQ(s.max_us, 40000);
  EXPECT_EQ(s.over_range, 0u);
}

// Past 100 ms the percentiles are still measured (1 ms buckets), not pinned at 100 ms.
TEST(DelayHistogramTest, SlowPacketsAreReportedAsTheyWere) {
  DelayHistogram h;
  for (int i = 0; i < 100; ++i) h.Record((250 + i) * kMs);  // 250-349 ms
  const auto s = h.Summary();
  EXPECT_NEAR(s.p50_us, 300000, 1000);
  EXPECT_NEAR(s.p99_us, 349000, 1000);
  EXPECT_DOUBLE_EQ(s.max_us, 349000);
}

TEST(DelayHistogramTest, DelaysPastTheRangeAreCountedAndTheirPercentileIsTheMaximum) {
  DelayHistogram h;
  h.Record(2 * kMs);
  for (int i = 0; i < 9; ++i) h.Record(12000 * kMs);  // 12 s
  const auto s = h.Summary();
  EXPECT_EQ(s.samples, 10u);
  EXPECT_EQ(s.over_range, 9u);
  EXPECT_DOUBLE_EQ(s.p50_us, 12000000) << "not 100 ms, not 10 s: the maximum seen";
  EXPECT_DOUBLE_EQ(s.p99_us, 12000000);
  h.Reset();
  EXPECT_EQ(h.Summary().samples, 0u);
}

}  // namespace
}  // namespace tilmash::fanout
