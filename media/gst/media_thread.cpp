#include "gst/media_thread.h"

#include <gst/gst.h>

#include <future>
#include <string>
#include <vector>

namespace tilmash::gst {

namespace {
gboolean RunOnce(gpointer data) {
  auto* fn = static_cast<std::function<void()>*>(data);
  (*fn)();
  return G_SOURCE_REMOVE;
}
void DeleteFn(gpointer data) { delete static_cast<std::function<void()>*>(data); }
}  // namespace

MediaThread::MediaThread() : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {
  std::promise<void> started;
  auto ready = started.get_future();
  thread_ = std::thread([this, &started] {
    g_main_context_push_thread_default(context_);
    // The loop is running once this idle callback fires.
    GSource* idle = g_idle_source_new();
    g_source_set_callback(
        idle,
        [](gpointer p) -> gboolean {
          static_cast<std::promise<void>*>(p)->set_value();
          return G_SOURCE_REMOVE;
        },
        &started, nullptr);
    g_source_attach(idle, context_);
    g_source_unref(idle);
    g_main_loop_run(loop_);
    g_main_context_pop_thread_default(context_);
  });
  ready.wait();
}

MediaThread::~MediaThread() {
  Post([this] { g_main_loop_quit(loop_); });
  thread_.join();
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
}

void MediaThread::Post(std::function<void()> fn) {
  GSource* src = g_idle_source_new();
  g_source_set_priority(src, G_PRIORITY_DEFAULT);
  g_source_set_callback(src, RunOnce, new std::function<void()>(std::move(fn)), DeleteFn);
  g_source_attach(src, context_);
  g_source_unref(src);
}

void MediaThread::Invoke(const std::function<void()>& fn) {
  if (OnMediaThread()) {
    fn();
    return;
  }
  std::promise<void> done;
  auto f = done.get_future();
  Post([&] {
    fn();
    done.set_value();
  });
  f.wait();
}

std::vector<std::string> MissingPlugins() {
  gst_init(nullptr, nullptr);
  static const char* kNeeded[] = {"audiotestsrc", "audioconvert", "audioresample",   "volume",  "audiomixer",
                                  "tee",          "queue",        "capsfilter",      "opusenc", "opusdec",
                                  "rtpopuspay",   "rtpopusdepay", "rtpjitterbuffer", "udpsrc",  "appsink",
                                  "audiodynamic", "identity"};
  std::vector<std::string> missing;
  for (const char* name : kNeeded) {
    GstElementFactory* f = gst_element_factory_find(name);
    if (!f)
      missing.emplace_back(name);
    else
      gst_object_unref(f);
  }
  return missing;
}

}  // namespace tilmash::gst
