// Listeners per channel across an engine's sender threads, so whoever encodes a channel can
// encode only while someone listens (SessionGraph's encoder gate). The sender threads count as
// they apply adds, switches and removals; the count is read with one relaxed load per frame.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace tilmash::fanout {

using ChannelKey = uint64_t;

class AudienceTable {
 public:
  using Count = std::atomic<int64_t>;
  // The channel's counter, created at 0 if new; it stays valid for the holder after Forget.
  std::shared_ptr<const Count> Of(ChannelKey channel) {
    std::lock_guard lock(mu_);
    auto& c = counts_[channel];
    if (!c) c = std::make_shared<Count>(0);
    return c;
  }
  // Sender threads, when a listener joins (+1) or leaves (-1) a channel. Channel 0 is nobody's.
  void Add(ChannelKey channel, int64_t delta) {
    if (channel == 0 || delta == 0) return;
    std::lock_guard lock(mu_);
    auto it = counts_.find(channel);
    if (it == counts_.end()) {
      if (delta < 0) return;  // a forgotten channel's listeners leaving
      it = counts_.emplace(channel, std::make_shared<Count>(0)).first;
    }
    it->second->fetch_add(delta, std::memory_order_relaxed);
  }
  // The channel is gone (its key is never reused).
  void Forget(ChannelKey channel) {
    std::lock_guard lock(mu_);
    counts_.erase(channel);
  }

 private:
  std::mutex mu_;
  std::unordered_map<ChannelKey, std::shared_ptr<Count>> counts_;
};

}  // namespace tilmash::fanout
