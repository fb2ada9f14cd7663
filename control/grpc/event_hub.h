// Fans domain events out to WatchSession streams. OnEvent only appends to bounded queues,
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
    std::mutex mu;
    std::condition_variable cv;
    std::deque<domain::SessionEvent> queue;
    uint64_t dropped = 0;
    bool closed = false;
  };
  static constexpr std::size_t kMaxQueued = 1024;

  void OnEvent(const domain::SessionEvent& event) override;
  std::shared_ptr<Watcher> Watch(const domain::SessionId& session);
  void Unwatch(const std::shared_ptr<Watcher>& w);
  // Wakes every watcher for shutdown.
  void CloseAll();

 private:
  std::mutex mu_;
  std::list<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace tilmash::grpcapi
