// Encode once, encrypt per listener (CONVENTIONS habit 8). Channels push their encoded RTP
// packets in; sender threads rewrite each packet into every listener's own SSRC, sequence and
// timestamp space, protect it with the listener's own libsrtp context and send the batch with
// sendmmsg on one non-blocking socket.
//
// Hot path: Push copies the packet into a preallocated slot of each sender thread's ring (no
// allocation, no lock, no wait: a full ring refuses the packet and counts it). Each listener
// belongs to one sender thread (FanoutShard), which alone touches its SRTP context and
// timeline, so nothing is locked per listener. Add / switch / remove take effect exactly
// between the packets pushed before and after the call.
#pragma once
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fanout/delay_histogram.h"
#include "fanout/fanout_shard.h"
#include "rtp/srtp_context.h"

namespace tilmash::fanout {

struct ListenerSpec {
  ListenerKey key = 0;
  ChannelKey channel = 0;
  sockaddr_in destination{};
  uint32_t ssrc = 0;
  rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> master_key;
};

struct FanoutOptions {
  std::string bind_host = "127.0.0.1";  // local IPv4 address the listener streams come from
  int sender_threads = 1;               // listeners are spread over them by key
  std::size_t ring_slots = 1024;        // packets queued per sender thread before Push refuses
  int send_buffer_bytes = 4 << 20;      // SO_SNDBUF of the shared socket
  int multicast_ttl = 1;                // for listeners whose destination is a multicast group
  // A key that has protected this many packets is reported (TakeAlerts) for rotation, far
  // below libsrtp's own limit of 2^48 packets per key.
  uint64_t rekey_after_packets = uint64_t(1) << 31;
};

struct FanoutAlert {
  enum class Kind { kUnreachable, kKeyLimit } kind;
  ListenerKey listener = 0;
};

struct FanoutStats {
  uint64_t packets_in = 0;
  uint64_t packets_sent = 0;
  uint64_t send_errors = 0;
  uint64_t listeners = 0;
  uint64_t packets_dropped = 0;  // listener packets dropped: socket buffer full
  uint64_t ring_overflows = 0;   // channel packets refused by Push: a sender thread fell behind
  // Push -> return of the last sendmmsg carrying the packet (its last listener), since the
  // start or the last ResetDelayStats.
  DelaySummary delay;
};

struct ListenerCounts {
  uint64_t sent = 0, dropped = 0, send_errors = 0;
  uint64_t next_index = 0;  // SRTP packet index of the listener's next packet (ROC = index >> 16)
};

class FanoutEngine : private AlertSink {
 public:
  static std::unique_ptr<FanoutEngine> Create(const FanoutOptions& options, std::string* error);
  // bind_host: local IPv4 address the listener streams come from; one sender thread.
  static std::unique_ptr<FanoutEngine> Create(const std::string& bind_host, std::string* error);
  ~FanoutEngine();
  FanoutEngine(const FanoutEngine&) = delete;
  FanoutEngine& operator=(const FanoutEngine&) = delete;

  // Any thread; never blocks. The packet is copied; it is an RTP packet from the channel's payloader.
  void Push(ChannelKey channel, const uint8_t* data, std::size_t size);
  // Any thread. Fails only on a bad key length (the context is created here, not on the sender).
  bool AddListener(ListenerSpec spec, std::string* error);
  void SwitchListener(ListenerKey key, ChannelKey channel);
  void RemoveListener(ListenerKey key);
  // Removes every listener of a channel (channel or session removed).
  void RemoveChannel(ChannelKey channel);
  // Gives the listener a new master key (same suite, SSRC and packet index) that takes over
  // at the first packet pushed `after` from now. False (with the reason) for a bad key.
  bool RekeyListener(ListenerKey key, const std::vector<uint8_t>& master_key, std::chrono::nanoseconds after,
                     std::string* error);
  // What the sender threads reported since the last call: listeners whose destination
  // answered with an ICMP error (one alert per listener), keys at their packet limit.
  std::vector<FanoutAlert> TakeAlerts();

  FanoutStats Stats() const;
  std::optional<ListenerCounts> ListenerStats(ListenerKey key) const;
  void ResetDelayStats();
  uint16_t source_port() const { return source_port_; }
  const std::string& source_host() const { return source_host_; }
  int sender_threads() const { return int(shards_.size()); }

 private:
  FanoutEngine(int fd, const FanoutOptions& options, uint16_t port);
  FanoutShard& ShardOf(ListenerKey key) { return *shards_[key % shards_.size()]; }
  void OnUnreachable(const sockaddr_in& destination) override;
  void OnKeyLimit(ListenerKey key) override;

  const int fd_;
  const std::string source_host_;
  const uint16_t source_port_;
  EngineCounters counters_;
  std::atomic<uint64_t> packets_in_{0}, ring_overflows_{0};
  DelayTracker tracker_;
  std::vector<std::unique_ptr<FanoutShard>> shards_;

  mutable std::mutex mu_;  // control plane only
  struct Known {
    ChannelKey channel;
    std::shared_ptr<ListenerCounters> counters;
    sockaddr_in destination;
    rtp::SrtpSuite suite;
    uint32_t ssrc;
  };
  std::unordered_map<ListenerKey, Known> known_;

  std::mutex alerts_mu_;  // sender threads append on errors only, never per packet
  std::vector<sockaddr_in> unreachable_;
  std::vector<ListenerKey> key_limits_;
};

}  // namespace tilmash::fanout
