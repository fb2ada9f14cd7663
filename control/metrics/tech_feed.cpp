#include "metrics/tech_feed.h"

#include "metrics/tech_snapshot.h"

namespace tilmash::metrics {

void TechFeed::Start(const domain::SessionRegistry& registry, std::function<bool()> watched, Publish publish) {
  Stop();
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, &registry, watched = std::move(watched), publish = std::move(publish)] {
    Run(registry, watched, publish);
  });
}

void TechFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TechFeed::OnEvent(const domain::SessionEvent& event) {
  // Keys never reach a page (nor does anything else of an event: the page gets the state).
  if (std::holds_alternative<domain::KeyChanged>(event.what)) return;
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  cv_.notify_one();
}

uint64_t TechFeed::samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

void TechFeed::Run(const domain::SessionRegistry& registry, const std::function<bool()>& watched,
                   const Publish& publish) {
  using Clock = std::chrono::steady_clock;
  auto next_levels = Clock::now();
  Clock::time_point last_state{};
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_until(lock, next_levels, [&] { return stopping_ || changed_; });
    if (stopping_) return;
    const bool changed = std::exchange(changed_, false);
    const auto now = Clock::now();
    const bool levels_due = now >= next_levels;
    if (levels_due) next_levels = now + kLevelsEvery;
    if (!watched()) continue;  // a page that opens gets the state from its own request
    ++samples_;
    lock.unlock();  // sampling takes session locks: never while an event waits on ours
    const auto sessions = CollectSessions(registry);
    if (changed || now - last_state >= kStateEvery) {
      publish("state", TechState(sessions));
      last_state = now;
    }
    if (levels_due) publish("levels", TechLevels(sessions));
    lock.lock();
  }
}

}  // namespace tilmash::metrics
