#include "graph/tee_detach.h"

namespace tilmash::graph {

namespace {
constexpr guint kForceAfterMs = 1000;
using Self = std::shared_ptr<TeeDetach>;
void DeleteSelf(gpointer data) { delete static_cast<Self*>(data); }
}  // namespace

TeeDetach::TeeDetach(gst::MediaThread* thread, gst::ElementPtr tee, gst::PadPtr pad, std::shared_ptr<void> owned)
    : thread_(thread), tee_(std::move(tee)), pad_(std::move(pad)), owned_(std::move(owned)) {}

TeeDetach::~TeeDetach() {
  if (timeout_) g_source_unref(timeout_);
}

std::shared_ptr<TeeDetach> TeeDetach::Start(gst::MediaThread* thread, gst::ElementPtr tee, gst::PadPtr pad,
                                            std::shared_ptr<void> owned) {
  auto d = std::make_shared<TeeDetach>(thread, std::move(tee), std::move(pad), std::move(owned));
  // Forced after a while: an upstream that never pushes again never makes the pad idle.
  d->timeout_ = g_timeout_source_new(kForceAfterMs);
  g_source_set_callback(
      d->timeout_,
      [](gpointer data) -> gboolean {
        (*static_cast<Self*>(data))->Finish();
        return G_SOURCE_REMOVE;
      },
      new Self(d), DeleteSelf);
  g_source_attach(d->timeout_, thread->context());
  gst_pad_add_probe(
      d->pad_.get(), GST_PAD_PROBE_TYPE_IDLE,
      [](GstPad*, GstPadProbeInfo*, gpointer data) -> GstPadProbeReturn {
        const Self& self = *static_cast<Self*>(data);
        if (self->Unlink()) {
          Self keep = self;
          self->thread_->Post([keep] { keep->Finish(); });
        }
        return GST_PAD_PROBE_REMOVE;
      },
      new Self(d), DeleteSelf);
  return d;
}

bool TeeDetach::Unlink() {
  if (unlinked_.exchange(true)) return false;
  if (auto peer = gst::PadPtr::Adopt(gst_pad_get_peer(pad_.get()))) gst_pad_unlink(pad_.get(), peer.get());
  return true;
}

void TeeDetach::Finish() {
  if (finished_) return;
  finished_ = true;
  Unlink();
  if (timeout_) g_source_destroy(timeout_);
  gst_element_release_request_pad(tee_.get(), pad_.get());
  owned_.reset();  // the branch that hung on the pad goes down now
}

}  // namespace tilmash::graph
