// Takes a branch off a running tee without waiting (GStreamer's "dynamically changing the
// pipeline" recipe): an idle probe unlinks the tee's request pad between two buffers, so the
// tee's streaming thread never pushes into a pad that is going away; then, on the media
// thread, the pad is released and what hung on it is destroyed (its elements set to NULL).
// Nobody blocks: not the control plane, not the media thread. A probe that never fires (a
// stalled upstream) is forced after one second, as is every detach of a graph that ends.
#pragma once
#include <gst/gst.h>

#include <atomic>
#include <memory>

#include "gst/gst_ptr.h"
#include "gst/media_thread.h"

namespace tilmash::graph {

class TeeDetach : public std::enable_shared_from_this<TeeDetach> {
 public:
  // `owned` is dropped (on the media thread) once the pad is unlinked and released.
  static std::shared_ptr<TeeDetach> Start(gst::MediaThread* thread, gst::ElementPtr tee, gst::PadPtr pad,
                                          std::shared_ptr<void> owned);
  ~TeeDetach();
  // Media thread: completes now if it has not yet (its graph is going away).
  void Finish();
  bool finished() const { return finished_; }

  TeeDetach(gst::MediaThread* thread, gst::ElementPtr tee, gst::PadPtr pad, std::shared_ptr<void> owned);

 private:
  // Any thread, once: unlinks the pad from its peer. False when already done.
  bool Unlink();

  gst::MediaThread* const thread_;
  gst::ElementPtr tee_;
  gst::PadPtr pad_;
  std::shared_ptr<void> owned_;
  std::atomic<bool> unlinked_{false};
  bool finished_ = false;       // media thread
  GSource* timeout_ = nullptr;  // media thread
};

}  // namespace tilmash::graph
