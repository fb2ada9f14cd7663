#include "grpc/event_hub.h"

namespace tilmash::grpcapi {

void EventHub::OnEvent(const domain::SessionEvent& event) {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    if (w->session != event.session) continue;
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

std::shared_ptr<EventHub::Watcher> EventHub::Watch(const domain::SessionId& session) {
  auto w = std::make_shared<Watcher>();
  w->session = session;
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
