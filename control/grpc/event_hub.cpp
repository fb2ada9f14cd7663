#include "grpc/event_hub.h"

namespace tilmash::grpcapi {

namespace {
// Key material goes to its listener's own key stream and nowhere else.
bool Wants(const EventHub::Watcher& w, const domain::SessionEvent& e) {
  if (w.session != e.session) return false;
  const auto* key = std::get_if<domain::KeyChanged>(&e.what);
  if (w.listener.empty()) return key == nullptr;
  if (key) return key->listener == w.listener;
  const auto* ended = std::get_if<domain::ListenerEnded>(&e.what);
  return (ended && ended->listener == w.listener) || std::holds_alternative<domain::SessionEnded>(e.what);
}
}  // namespace

void EventHub::OnEvent(const domain::SessionEvent& event) {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    if (!Wants(*w, event)) continue;
    {
      std::lock_guard wl(w->mu);
      if (w->queue.size() >= kMaxQueued) {
        w->queue.pop_front();
        ++w->dropped;
      }
      w->queue.push_back(event);
    }
    w->cv.notify_one();
  }
}

std::shared_ptr<EventHub::Watcher> EventHub::Watch(const domain::SessionId& session,
                                                   const domain::ListenerId& listener) {
  auto w = std::make_shared<Watcher>();
  w->session = session;
  w->listener = listener;
  std::lock_guard lock(mu_);
  watchers_.push_back(w);
  return w;
}

void EventHub::Unwatch(const std::shared_ptr<Watcher>& w) {
  std::lock_guard lock(mu_);
  watchers_.remove(w);
}

void EventHub::CloseAll() {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    {
      std::lock_guard wl(w->mu);
      w->closed = true;
    }
    w->cv.notify_all();
  }
}

}  // namespace tilmash::grpcapi
