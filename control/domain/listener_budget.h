// Admission control for the fan-out: the node carries at most `limit` unicast listener streams
// (its measured fan-out capacity, the daemon's max_listeners), shared by every session. A
// listener holds a Slot for as long as its stream lives; Subscribe past the limit is refused
// instead of letting every listener's packets arrive late or not at all.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>

namespace tilmash::domain {

class ListenerBudget {
 public:
  // A stream's place in the budget, given back when it is destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& o) noexcept : budget_(o.budget_) { o.budget_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        Release();
        budget_ = o.budget_;
        o.budget_ = nullptr;
      }
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }

   private:
    friend class ListenerBudget;
    explicit Slot(ListenerBudget* b) : budget_(b) {}
    void Release() {
      if (budget_) budget_->used_.fetch_sub(1, std::memory_order_relaxed);
      budget_ = nullptr;
    }
    ListenerBudget* budget_ = nullptr;
  };

  explicit ListenerBudget(uint32_t limit) : limit_(limit) {}
  ListenerBudget(const ListenerBudget&) = delete;
  ListenerBudget& operator=(const ListenerBudget&) = delete;

  // A slot, or nothing when `limit` streams are in use. `replacing`: the caller frees one of
  // its own right after (a listener subscribing again to its own address), so one over is fine.
  std::optional<Slot> Take(bool replacing = false) {
    const uint32_t cap = replacing ? limit_ + 1 : limit_;
    uint32_t n = used_.load(std::memory_order_relaxed);
    do {
      if (n >= cap) return std::nullopt;
    } while (!used_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return Slot(this);
  }
  // A stream that exists already (restored after a restart) takes its place even past the
  // limit: it was admitted once, and dropping it would be the dead air the restore avoids.
  Slot Force() {
    used_.fetch_add(1, std::memory_order_relaxed);
    return Slot(this);
  }
  uint32_t limit() const { return limit_; }
  uint32_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const uint32_t limit_;
  std::atomic<uint32_t> used_{0};
};

}  // namespace tilmash::domain
