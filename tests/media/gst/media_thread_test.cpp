// The media thread: posted work runs in order on the one thread that owns the GLib context, and
// a caller that Invoke()s sees everything the work wrote. Under ThreadSanitizer (tools/sanitize
// tsan) the plain, unsynchronised counters below are the check that the hand-over is visible.
#include "gst/media_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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

TEST(MediaThreadTest, ABacklogIsCountedAndTimersRunBetweenItsBatches) {
  MediaThread media;
  Completion release;
  media.Post([&] { release.Wait(); });  // holds the thread while the backlog builds
  std::atomic<int> done{0};
  constexpr int kTasks = 64;
  for (int i = 0; i < kTasks; ++i)
    media.Post([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      done.fetch_add(1);
    });
  EXPECT_GE(media.backlog(), std::size_t(kTasks)) << "posted and not yet run";
  // A timer on the media thread's context: it must not wait for the whole backlog.
  std::atomic<int> done_when_timer_ran{-1};
  GSource* timer = g_timeout_source_new(1);
  struct Seen {
    std::atomic<int>* done;
    std::atomic<int>* at;
  } seen{&done, &done_when_timer_ran};
  g_source_set_callback(
      timer,
      [](gpointer p) -> gboolean {
        auto* s = static_cast<Seen*>(p);
        s->at->store(s->done->load());
        return G_SOURCE_REMOVE;
      },
      &seen, nullptr);
  g_source_attach(timer, media.context());
  g_source_unref(timer);
  release.Set();
  media.Invoke([] {});  // after every task posted before it
  EXPECT_EQ(done.load(), kTasks);
  EXPECT_EQ(media.backlog(), 0u);
  ASSERT_GE(done_when_timer_ran.load(), 0) << "the timer ran";
  EXPECT_LT(done_when_timer_ran.load(), kTasks) << "between two batches, not after the whole backlog";
}

}  // namespace
}  // namespace tilmash::gst
