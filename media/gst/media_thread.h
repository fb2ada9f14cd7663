// One thread owns the GLib main context of the media side (CONVENTIONS habit 5).
// Other threads post work to it; Invoke() waits for the result.
// Work is handed over through a std::mutex and waited for with a std::condition_variable, not
// through GLib's own locks: GLib synchronises with futexes ThreadSanitizer cannot see, and a
// hand-over it cannot see is reported as a race on everything the work touches.
#pragma once
#include <glib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tilmash::gst {

class MediaThread {
 public:
  MediaThread();
  ~MediaThread();
  MediaThread(const MediaThread&) = delete;
  MediaThread& operator=(const MediaThread&) = delete;

  // Runs fn on the media thread and waits for it (runs inline when already there).
  void Invoke(const std::function<void()>& fn);
  // Runs fn on the media thread later.
  void Post(std::function<void()> fn);
  // Posted work not yet started: callers refuse new graph work past a limit rather than queue
  // minutes of it (and the sockets it holds).
  std::size_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  bool OnMediaThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Posted work that threw (caught, logged, counted; the thread goes on).
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  GMainContext* context() const { return context_; }

 private:
  static gboolean Drain(gpointer self);

  GMainContext* context_;
  GMainLoop* loop_;
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;  // posted, not yet run; FIFO
  std::atomic<uint64_t> failures_{0};
  std::atomic<std::size_t> backlog_{0};
  std::thread thread_;
};

// A one-shot "done" another thread waits for (a pad probe, the media thread).
class Completion {
 public:
  void Set() {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_; });
  }
  template <class Duration>
  bool WaitFor(Duration d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [this] { return done_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Initialises GStreamer once and checks every element factory Tilmash needs, and `extra`
// (those of optional features). Returns the names of the missing ones (empty when all are present).
std::vector<std::string> MissingPlugins(const std::vector<std::string>& extra = {});

}  // namespace tilmash::gst
