// One thread owns the GLib main context of the media side (CONVENTIONS habit 5).
// Other threads post work to it; Invoke() waits for the result.
#pragma once
#include <glib.h>

#include <functional>
#include <thread>

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
  bool OnMediaThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  GMainContext* context() const { return context_; }

 private:
  GMainContext* context_;
  GMainLoop* loop_;
  std::thread thread_;
};

// Initialises GStreamer once and checks every element factory Tilmash needs.
// Returns the names of the missing ones (empty when all are present).
std::vector<std::string> MissingPlugins();

}  // namespace tilmash::gst
