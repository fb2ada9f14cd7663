// Bounded multi-producer / single-consumer ring of preallocated packet slots (D. Vyukov's
// bounded queue with a sequence number per cell). Streaming threads copy a packet into a free
// slot and never allocate, lock or wait: when the ring is full the packet is refused and the
// caller counts it. The one consumer (a fan-out sender thread) reads slots in order.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "rtp/rtp_packet.h"

namespace tilmash::fanout {

struct PacketSlot {
  std::atomic<uint64_t> seq{0};  // == ticket + 1 once written; ticket + capacity once free again
  uint64_t channel = 0;
  int64_t push_ns = 0;  // steady clock at Push, for the fan-out delay histogram
  uint32_t track = 0;   // index in the engine's delay tracker
  uint16_t size = 0;
  uint8_t data[rtp::kMaxPacket];
};

class PacketRing {
 public:
  // capacity: rounded up to a power of two.
  explicit PacketRing(std::size_t capacity) {
    std::size_t n = 1;
    while (n < capacity) n <<= 1;
    mask_ = n - 1;
    slots_ = std::make_unique<PacketSlot[]>(n);
    for (std::size_t i = 0; i < n; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }

  // Any thread. False when the ring is full.
  bool TryPush(uint64_t channel, const uint8_t* data, std::size_t size, int64_t push_ns, uint32_t track) {
    uint64_t pos = tail_.load(std::memory_order_relaxed);
    PacketSlot* s;
    for (;;) {
      s = &slots_[pos & mask_];
      const uint64_t seq = s->seq.load(std::memory_order_acquire);
      const int64_t dif = int64_t(seq) - int64_t(pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;  // the consumer has not freed this slot yet: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
    s->channel = channel;
    s->push_ns = push_ns;
    s->track = track;
    s->size = uint16_t(size);
    std::memcpy(s->data, data, size);
    s->seq.store(pos + 1, std::memory_order_release);
    return true;
  }

  // Consumer only: the next written slot, or nullptr (empty, or its producer is mid-copy).
  PacketSlot* Front() {
    PacketSlot* s = &slots_[head_ & mask_];
    return s->seq.load(std::memory_order_acquire) == head_ + 1 ? s : nullptr;
  }
  // Consumer only: frees the slot Front() returned.
  void Pop() {
    slots_[head_ & mask_].seq.store(head_ + mask_ + 1, std::memory_order_release);
    ++head_;
  }

  // Tickets handed out so far (any thread): a command enqueued now takes effect after them.
  uint64_t tail() const { return tail_.load(std::memory_order_acquire); }
  // Tickets consumed so far (consumer only).
  uint64_t head() const { return head_; }
  std::size_t capacity() const { return mask_ + 1; }

 private:
  std::size_t mask_ = 0;
  std::unique_ptr<PacketSlot[]> slots_;
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t head_ = 0;
};

}  // namespace tilmash::fanout
