// Fans domain events out to the streams that watch them (WatchSession, WatchBooth, WatchKeys).
// Indexed by session, and within a session by listener for key streams, so an event costs
// only its own watchers; delivery happens outside the hub's lock (and, the domain guarantees,
// outside every session lock), and a subscriber only queues: nobody waits on a slow watcher.
#pragma once
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/ports.h"

namespace tilmash::grpcapi {

class EventHub : public domain::EventSink {
 public:
  class Subscriber {
   public:
    virtual ~Subscriber() = default;
    // Any thread; must not block (queue and return).
    virtual void OnEvent(const domain::SessionEvent& event) = 0;
    // The daemon is stopping: end the stream.
    virtual void OnClose() = 0;
  };

  // Unsubscribes when it goes.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(EventHub* hub, domain::SessionId session, domain::ListenerId listener, Subscriber* who)
        : hub_(hub), session_(std::move(session)), listener_(std::move(listener)), who_(who) {}
    ~Subscription() { Cancel(); }
    Subscription(Subscription&& o) noexcept { *this = std::move(o); }
    Subscription& operator=(Subscription&& o) noexcept;
    void Cancel();

   private:
    EventHub* hub_ = nullptr;
    domain::SessionId session_;
    domain::ListenerId listener_;
    Subscriber* who_ = nullptr;
  };

  // A session watcher: every event of the session but keys.
  Subscription Watch(const domain::SessionId& session, std::shared_ptr<Subscriber> who);
  // A key watcher: only that listener's KeyChanged and ListenerEnded, and SessionEnded.
  Subscription WatchKeys(const domain::SessionId& session, const domain::ListenerId& listener,
                         std::shared_ptr<Subscriber> who);
  void OnEvent(const domain::SessionEvent& event) override;
  // Ends every stream (shutdown); later subscribers are closed at once.
  void CloseAll();
  std::size_t subscribers() const;

 private:
  struct Topic {
    std::vector<std::shared_ptr<Subscriber>> session;
    std::unordered_map<domain::ListenerId, std::vector<std::shared_ptr<Subscriber>>> keys;
  };
  Subscription Add(const domain::SessionId& session, const domain::ListenerId& listener,
                   std::shared_ptr<Subscriber> who);
  void Remove(const domain::SessionId& session, const domain::ListenerId& listener, Subscriber* who);

  mutable std::shared_mutex mu_;
  std::unordered_map<domain::SessionId, Topic> topics_;
  bool closed_ = false;
};

}  // namespace tilmash::grpcapi
