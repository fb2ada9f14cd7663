#include "grpc/event_hub.h"

#include <algorithm>
#include <mutex>

namespace tilmash::grpcapi {

EventHub::Subscription& EventHub::Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    Cancel();
    hub_ = std::exchange(o.hub_, nullptr);
    session_ = std::move(o.session_);
    listener_ = std::move(o.listener_);
    who_ = std::exchange(o.who_, nullptr);
  }
  return *this;
}

void EventHub::Subscription::Cancel() {
  if (hub_) hub_->Remove(session_, listener_, who_);
  hub_ = nullptr;
}

EventHub::Subscription EventHub::Watch(const domain::SessionId& session, std::shared_ptr<Subscriber> who) {
  return Add(session, "", std::move(who));
}

EventHub::Subscription EventHub::WatchKeys(const domain::SessionId& session, const domain::ListenerId& listener,
                                           std::shared_ptr<Subscriber> who) {
  return Add(session, listener, std::move(who));
}

EventHub::Subscription EventHub::Add(const domain::SessionId& session, const domain::ListenerId& listener,
                                     std::shared_ptr<Subscriber> who) {
  Subscriber* raw = who.get();
  {
    std::unique_lock lock(mu_);
    if (!closed_) {
      Topic& t = topics_[session];
      (listener.empty() ? t.session : t.keys[listener]).push_back(std::move(who));
      return Subscription(this, session, listener, raw);
    }
  }
  raw->OnClose();
  return {};
}

void EventHub::Remove(const domain::SessionId& session, const domain::ListenerId& listener, Subscriber* who) {
  std::shared_ptr<Subscriber> last;  // released after the lock: it may be the subscriber's last reference
  std::unique_lock lock(mu_);
  auto t = topics_.find(session);
  if (t == topics_.end()) return;
  auto drop = [&](std::vector<std::shared_ptr<Subscriber>>& v) {
    auto it = std::find_if(v.begin(), v.end(), [&](const auto& s) { return s.get() == who; });
    if (it == v.end()) return;
    last = std::move(*it);
    v.erase(it);
  };
  if (listener.empty()) {
    drop(t->second.session);
  } else if (auto k = t->second.keys.find(listener); k != t->second.keys.end()) {
    drop(k->second);
    if (k->second.empty()) t->second.keys.erase(k);
  }
  if (t->second.session.empty() && t->second.keys.empty()) topics_.erase(t);
  lock.unlock();
}

void EventHub::OnEvent(const domain::SessionEvent& e) {
  std::vector<std::shared_ptr<Subscriber>> targets;
  {
    std::shared_lock lock(mu_);
    auto t = topics_.find(e.session);
    if (t == topics_.end()) return;
    const Topic& topic = t->second;
    auto keys_of = [&](const domain::ListenerId& id) {
      if (auto k = topic.keys.find(id); k != topic.keys.end())
        targets.insert(targets.end(), k->second.begin(), k->second.end());
    };
    if (const auto* key = std::get_if<domain::KeyChanged>(&e.what)) {
      keys_of(key->listener);  // key material goes to its listener's own streams and nowhere else
    } else if (const auto* ended = std::get_if<domain::ListenerEnded>(&e.what)) {
      keys_of(ended->listener);
      targets.insert(targets.end(), topic.session.begin(), topic.session.end());
    } else if (std::holds_alternative<domain::SessionEnded>(e.what)) {
      for (const auto& [id, v] : topic.keys) targets.insert(targets.end(), v.begin(), v.end());
      targets.insert(targets.end(), topic.session.begin(), topic.session.end());
    } else {
      targets = topic.session;
    }
  }
  for (const auto& s : targets) s->OnEvent(e);
}

void EventHub::CloseAll() {
  std::vector<std::shared_ptr<Subscriber>> all;
  {
    std::unique_lock lock(mu_);
    closed_ = true;
    for (const auto& [id, t] : topics_) {
      all.insert(all.end(), t.session.begin(), t.session.end());
      for (const auto& [l, v] : t.keys) all.insert(all.end(), v.begin(), v.end());
    }
  }
  for (const auto& s : all) s->OnClose();
}

std::size_t EventHub::subscribers() const {
  std::shared_lock lock(mu_);
  std::size_t n = 0;
  for (const auto& [id, t] : topics_) {
    n += t.session.size();
    for (const auto& [l, v] : t.keys) n += v.size();
  }
  return n;
}

}  // namespace tilmash::grpcapi
