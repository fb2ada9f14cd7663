// Fans domain events out to WatchSession, WatchBooth and WatchKeys streams. OnEvent only appends to bounded queues,
// so the domain never waits on a slow watcher.
#pragma once
#include <condition_variable>
#include <deque>
#include <list>
#include <memory>
#include <mutex>

#include "domain/ports.h"

namespace tilmash::grpcapi {

class EventHub : public domain::EventSink {
 public:
  struct Watcher {
    domain::SessionId session;
    // Empty: a session watcher (every event but keys). Set: a key watcher, which gets only
    // that listener's KeyChanged and ListenerEnded.
    domain::ListenerId listener;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<domain::SessionEvent> queue;
    uint64_t dropped = 0;
    bool closed = false;
  };
  static constexpr std::size_t kMaxQueued = 1024;

  void OnEvent(const domain::SessionEvent& event) override;
  std::shared_ptr<Watcher> Watch(const domain::SessionId& session, const domain::ListenerId& listener = "");
  void Unwatch(const std::shared_ptr<Watcher>& w);
  // Wakes every watcher for shutdown.
  void CloseAll();

 private:
  std::mutex mu_;
  std::list<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace tilmash::grpcapi
