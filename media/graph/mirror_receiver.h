// One mirrored channel's packets on an edge node: the origin sends the channel to this
// receiver's UDP socket as to any listener (its own SSRC and key, rotated through WatchKeys);
// the receiver decrypts each packet once and pushes it into the edge's fan-out (MirrorSlot).
//
// A new subscription (the origin restarted without its state, or forgot the edge) starts a new
// SSRC with a new sequence and timestamp base: MirrorTimeline renumbers every packet into one
// continuous channel timeline, so the edge's listeners see a gap in time, never a jump.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fanout/port_range.h"
#include "graph/mirror_session.h"
#include "rtp/srtp_receiver.h"

namespace tilmash::graph {

// Sequence and timestamp of one channel as its edge pushes it: continuous over changes of the
// upstream stream. Not thread-safe (the receive thread's).
class MirrorTimeline {
 public:
  struct Out {
    bool keep = false;  // false: a duplicate or a packet older than one already pushed
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
  };
  // `stream` changes with each subscription; `now` is the arrival time.
  Out Next(uint32_t stream, uint16_t sequence, uint32_t timestamp, std::chrono::steady_clock::time_point now);

 private:
  bool have_ = false;
  uint32_t stream_ = 0;
  uint16_t last_in_seq_ = 0, last_out_seq_ = 0;
  uint32_t last_in_ts_ = 0, last_out_ts_ = 0;
  std::chrono::steady_clock::time_point last_at_{};
};

struct MirrorCounters {
  std::atomic<uint64_t> packets{0};        // pushed into the fan-out
  std::atomic<uint64_t> auth_failures{0};  // no known key authenticates it (or not of our stream)
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> late{0};           // older than a packet already pushed
  std::atomic<int64_t> last_packet_us{0};  // steady clock, µs; 0: none yet
};

class MirrorReceiver {
 public:
  // Binds host:port from `ports` (any when the range is). Null with *error when it cannot.
  static std::unique_ptr<MirrorReceiver> Create(const std::string& label, in_addr host,
                                                const std::shared_ptr<fanout::PortAllocator>& ports,
                                                std::shared_ptr<MirrorSlot> slot, std::string* error);
  ~MirrorReceiver();  // stops the thread (within 100 ms)
  MirrorReceiver(const MirrorReceiver&) = delete;
  MirrorReceiver& operator=(const MirrorReceiver&) = delete;

  uint16_t port() const { return port_; }
  // A new subscription: packets of `ssrc` keyed by `key` (id `key_id`) from now on. False with
  // *error on a bad key.
  bool Attach(uint32_t ssrc, rtp::SrtpSuite suite, const std::vector<uint8_t>& master_key, uint32_t roc,
              uint32_t key_id, std::string* error);
  // A key the origin will move to (WatchKeys). False on a bad key.
  bool Announce(uint32_t key_id, rtp::SrtpSuite suite, const std::vector<uint8_t>& master_key);
  const MirrorCounters& counters() const { return counters_; }
  // Microseconds since the last packet pushed (steady clock); a large value before the first.
  int64_t SilentUs() const;

 private:
  MirrorReceiver(std::string label, int fd, uint16_t port, std::shared_ptr<MirrorSlot> slot);
  void Run();

  const std::string label_;
  const int fd_;
  const uint16_t port_;
  const std::shared_ptr<MirrorSlot> slot_;
  // The receive thread decrypts under it; the subscription's thread attaches and announces.
  // Held per packet but never contended on the packet path (keys change hourly).
  std::mutex mu_;
  std::unique_ptr<rtp::SrtpReceiver> srtp_;
  uint32_t ssrc_ = 0, stream_ = 0;
  MirrorTimeline timeline_;  // the receive thread's
  MirrorCounters counters_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tilmash::graph
