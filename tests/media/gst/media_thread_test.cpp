// The media thread: posted work runs in order on the one thread that owns the GLib context, and
// a caller that Invoke()s sees everything the work wrote. Under ThreadSanitizer (tools/sanitize
// tsan) the plain, unsynchronised counters below are the check that the hand-over is visible.
#include "gst/media_thread.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tilmash::gst {
namespace {

TEST(MediaThreadTest, PostedWorkRunsInOrderOnTheMediaThread) {
  MediaThread media;
  std::vector<int> order;  // touched only on the media thread until the Invoke below returns
  bool all_on_media = true;
  for (int i = 0; i < 1000; ++i)
    media.Post([&, i] {
      order.push_back(i);
      all_on_media = all_on_media && media.OnMediaThread();
    });
  media.Invoke([] {});  // runs after everything posted before it
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], i);
  EXPECT_TRUE(all_on_media);
  EXPECT_FALSE(media.OnMediaThread());
}

TEST(MediaThreadTest, InvokeFromManyThreadsSeesTheWorkItWaitedFor) {
  MediaThread media;
  long counter = 0;  // plain: only the media thread writes it
  constexpr int kThreads = 4, kCalls = 500;
  std::vector<std::thread> callers;
  std::vector<long> seen(kThreads, 0);
  for (int t = 0; t < kThreads; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        long after = 0;
        media.Invoke([&] { after = ++counter; });
        ASSERT_GT(after, seen[t]);  // the caller reads what the media thread wrote
        seen[t] = after;
      }
    });
  for (auto& c : callers) c.join();
  long total = 0;
  media.Invoke([&] { total = counter; });
  EXPECT_EQ(total, kThreads * kCalls);
}

TEST(MediaThreadTest, InvokeOnTheMediaThreadRunsInline) {
  MediaThread media;
  int depth = 0;
  media.Invoke([&] {
    ++depth;
    media.Invoke([&] { ++depth; });  // would deadlock if it waited for the queue
  });
  EXPECT_EQ(depth, 2);
}

TEST(MediaThreadTest, CompletionWaitForGivesUpAndSetWakes) {
  Completion never;
  EXPECT_FALSE(never.WaitFor(std::chrono::milliseconds(20)));
  Completion later;
  std::thread setter([&] { later.Set(); });
  later.Wait();
  setter.join();
  EXPECT_TRUE(later.WaitFor(std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace tilmash::gst
