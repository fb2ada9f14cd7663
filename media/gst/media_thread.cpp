#include "gst/media_thread.h"

#include <gst/gst.h>

#include <algorithm>
#include <exception>

#include <string>
#include <vector>

#include "gst/gst_ptr.h"
#include "log/log.h"

namespace tilmash::gst {

namespace {
constexpr std::size_t kDrainBatch = 16;  // posted tasks run per main-loop turn
}  // namespace

MediaThread::MediaThread() : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {
  Completion started;
  thread_ = std::thread([this, &started] {
    g_main_context_push_thread_default(context_);
    // The loop is running once this idle callback fires.
    GSource* idle = g_idle_source_new();
    g_source_set_callback(
        idle,
        [](gpointer p) -> gboolean {
          static_cast<Completion*>(p)->Set();
          return G_SOURCE_REMOVE;
        },
        &started, nullptr);
    g_source_attach(idle, context_);
    g_source_unref(idle);
    g_main_loop_run(loop_);
    g_main_context_pop_thread_default(context_);
  });
  started.Wait();
}

MediaThread::~MediaThread() {
  Post([this] { g_main_loop_quit(loop_); });
  thread_.join();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

gboolean MediaThread::Drain(gpointer self) {
  auto* t = static_cast<MediaThread*>(self);
  // A bounded batch per turn: the loop's timers (links, bus watches) run between batches even
  // when a client queues graph changes faster than they are made.
  std::vector<std::function<void()>> batch;
  bool more = false;
  {
    std::lock_guard lock(t->mu_);
    const std::size_t n = std::min(t->queue_.size(), kDrainBatch);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(t->queue_.front()));
      t->queue_.pop_front();
    }
    more = !t->queue_.empty();  // this source stays attached; Post attaches none meanwhile
  }
  for (auto& fn : batch) {
    // Counted off as it starts: an Invoke that has returned is no longer part of the backlog
    // (counting it off after fn() raced with the caller reading the backlog).
    t->backlog_.fetch_sub(1, std::memory_order_relaxed);
    // Nothing crosses the media thread as an exception: one bad piece of work (a bug, an
    // allocation failure) is counted and logged, and every session goes on.
    try {
      fn();
    } catch (const std::exception& e) {
      t->failures_.fetch_add(1, std::memory_order_relaxed);
      log::Get("gst")->error("media thread: work failed with an exception: {}", e.what());
    } catch (...) {
      t->failures_.fetch_add(1, std::memory_order_relaxed);
      log::Get("gst")->error("media thread: work failed with an unknown exception");
    }
  }
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

void MediaThread::Post(std::function<void()> fn) {
  bool first;
  {
    std::lock_guard lock(mu_);
    first = queue_.empty();
    queue_.push_back(std::move(fn));
    backlog_.fetch_add(1, std::memory_order_relaxed);  // before any Drain can take it
  }
  // One idle source drains everything posted until it runs; a later Post attaches the next.
  if (!first) return;
  GSource* src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  g_source_set_callback(src, Drain, this, nullptr);
  g_source_attach(src, context_);
  g_source_unref(src);
}

void MediaThread::Invoke(const std::function<void()>& fn) {
  if (OnMediaThread()) {
    fn();
    return;
  }
  Completion done;
  std::exception_ptr failed;
  Post([&] {
    try {
      fn();
    } catch (...) {
      failed = std::current_exception();  // the caller's to handle, on its own thread
    }
    done.Set();
  });
  done.Wait();
  if (failed) std::rethrow_exception(failed);
}

std::vector<std::string> MissingPlugins(const std::vector<std::string>& extra) {
  gst_init(nullptr, nullptr);
  static const char* kNeeded[] = {"audiotestsrc",    "audioconvert", "audioresample", "volume",
                                  "audiomixer",      "tee",          "queue",         "capsfilter",
                                  "opusenc",         "opusdec",      "rtpopuspay",    "rtpopusdepay",
                                  "rtpjitterbuffer", "udpsrc",       "appsink",       "identity"};
  std::vector<std::string> names(std::begin(kNeeded), std::end(kNeeded));
  names.insert(names.end(), extra.begin(), extra.end());
  std::vector<std::string> missing;
  for (const auto& name : names) {
    if (!GstPtr<GstElementFactory>::Adopt(gst_element_factory_find(name.c_str()))) missing.emplace_back(name);
  }
  return missing;
}

}  // namespace tilmash::gst
