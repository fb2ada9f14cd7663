#include "metrics/tech_feed.h"

#include <algorithm>

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
  bool pending = false;  // an event waits for the next state (kMinStateGap after the last)
  std::unique_lock lock(mu_);
  for (;;) {
    const auto wake = pending ? std::min(next_levels, last_state + kMinStateGap) : next_levels;
    cv_.wait_until(lock, wake, [&] { return stopping_ || (changed_ && !pending); });
    if (stopping_) return;
    pending = std::exchange(changed_, false) || pending;
    const auto now = Clock::now();
    const bool state_due = (pending && now - last_state >= kMinStateGap) || now - last_state >= kStateEvery;
    const bool levels_due = now >= next_levels;
    if (levels_due) next_levels = now + kLevelsEvery;
    if (!state_due && !levels_due) continue;
    if (!watched()) {  // a page that opens gets the state from its own request
      pending = false;
      continue;
    }
    if (state_due) {
      pending = false;
      last_state = now;
    }
    ++samples_;
    lock.unlock();  // sampling takes session locks: never while an event waits on ours
    const auto sessions = CollectSessions(registry);
    if (state_due) publish("state", TechState(sessions));
    if (levels_due) publish("levels", TechLevels(sessions));
    lock.lock();
  }
}

}  // namespace tilmash::metrics
