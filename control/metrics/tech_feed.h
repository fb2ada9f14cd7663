// The technician page's push: one thread for every open page. While at least one page
// watches, it samples the registry (CollectSessions) ten times a second and publishes the
// meters ("levels"); a domain event (a mic press, a lost link, the floor's backup) wakes it at
// once for a full "state" (at most one per kMinStateGap), which also goes out once a second for
// the counters. Nothing is
// sampled while nobody watches; a page costs the HTTP side a copy of each frame, not a sample.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "domain/ports.h"
#include "domain/session_registry.h"

namespace tilmash::metrics {

class TechFeed : public domain::EventSink {
 public:
  static constexpr std::chrono::milliseconds kLevelsEvery{100};
  static constexpr std::chrono::milliseconds kStateEvery{1000};
  // States at most this often: a storm of events (a thousand listeners subscribing) costs a
  // page twenty states a second, not one per event.
  static constexpr std::chrono::milliseconds kMinStateGap{50};

  // Called on the feed's thread: event name ("state", "levels") and its JSON.
  using Publish = std::function<void(const std::string& event, std::string data)>;

  TechFeed() = default;
  ~TechFeed() { Stop(); }
  TechFeed(const TechFeed&) = delete;
  TechFeed& operator=(const TechFeed&) = delete;

  // `watched` says whether a page is open now (any thread, must not block).
  void Start(const domain::SessionRegistry& registry, std::function<bool()> watched, Publish publish);
  // Joins the thread; events after it are ignored. Idempotent.
  void Stop();
  // Any thread; never blocks on the sampling.
  void OnEvent(const domain::SessionEvent& event) override;
  uint64_t samples() const;  // registry samples taken (tests: nothing while nobody watches)

 private:
  void Run(const domain::SessionRegistry& registry, const std::function<bool()>& watched, const Publish& publish);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false, changed_ = false;
  uint64_t samples_ = 0;
  std::thread thread_;
};

}  // namespace tilmash::metrics
