// Encode once, encrypt per listener (CONVENTIONS habit 8). Channels push their encoded RTP
// packets in; sender threads rewrite each packet into every listener's own SSRC, sequence and
// timestamp space, protect it with the listener's own libsrtp context and send the batch with
// sendmmsg on one non-blocking socket.
//
// Hot path: Push copies the packet into a preallocated slot of each sender thread's ring (no
// allocation, no lock, no wait: a full ring refuses the packet and counts it). Each listener
// belongs to one sender thread (FanoutShard), which alone touches its SRTP context and
// timeline, so nothing is locked per listener. Add / switch / remove take effect exactly
// between the packets pushed before and after the call. A listener is a ListenerHandle owned
// by its adder; the engine itself keeps no per-listener table.
#pragma once
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fanout/delay_histogram.h"
#include "fanout/fanout_shard.h"
#include "fanout/port_range.h"
#include "rtp/srtp_context.h"

namespace tilmash::fanout {

struct ListenerSpec {
  ChannelKey channel = 0;  // 0: none yet (Switch it to one)
  sockaddr_in destination{};
  uint32_t ssrc = 0;
  rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> master_key;
  // The listener's first packet: its SRTP index (ROC << 16 | sequence) and RTP timestamp. A
  // stream resumed after a restart continues from where its receiver is.
  uint64_t first_index = 0;
  uint32_t first_timestamp = 0;
  // Sent from this socket instead of the engine's (a WebRTC viewer: the shared port its ICE
  // checks went to); -1: the engine's. The socket must outlive the listener.
  int socket = -1;
  int payload_type = -1;  // Opus's RTP payload type for this receiver (its offer's); -1: 111
};

struct FanoutOptions {
  std::string bind_host = "127.0.0.1";  // local IPv4 address the listener streams come from
  int sender_threads = 1;               // listeners are spread over them by key
  std::size_t ring_slots = 1024;        // packets queued per sender thread before Push refuses
  int send_buffer_bytes = 4 << 20;      // SO_SNDBUF of the shared socket
  int multicast_ttl = 1;                // for listeners whose destination is a multicast group
  // A key that has protected this many packets is reported (ListenerHandle::TakeKeyLimit) for
  // rotation, far below libsrtp's own limit of 2^48 packets per key.
  uint64_t rekey_after_packets = uint64_t(1) << 31;
  // A sender thread that has fallen behind skips (drops) channel packets that waited longer than
  // this, oldest first, so listeners get a gap they conceal instead of audio seconds late. 0: no bound.
  int max_backlog_ms = 50;
  // Called on a sender thread at most once a second while it drops (must not block).
  OverloadCallback on_overload;
  // Sender threads prefetch the next listeners' SRTP state (SrtpContext::Prefetch); false only
  // to measure the difference (tools/bench).
  bool prefetch = true;
  // 1-99: the sender threads run SCHED_FIFO at this priority, so a frame's sends are not queued
  // behind ordinary threads (CFS's wake-up delay was most of the fan-out delay); 0: ordinary
  // scheduling. Needs CAP_SYS_NICE or RLIMIT_RTPRIO; without them the threads stay ordinary and
  // realtime_problem() says why.
  int realtime_priority = 0;
  // The port of the shared source socket comes from here (--media-ports); null: any port.
  std::shared_ptr<PortAllocator> ports;
};

struct FanoutStats {
  uint64_t packets_in = 0;
  uint64_t packets_sent = 0;
  uint64_t send_errors = 0;
  uint64_t listeners = 0;
  uint64_t packets_dropped = 0;  // listener packets dropped: socket buffer full
  uint64_t ring_overflows = 0;   // channel packets refused by Push: a sender thread fell behind
  uint64_t backlog_drops = 0;    // channel packets a sender thread skipped: older than max_backlog_ms
  uint64_t late_dropped = 0;     // listener packets those skips and ring overflows cost
  // Push -> return of the last sendmmsg carrying the packet (its last listener), since the
  // start or the last ResetDelayStats.
  DelaySummary delay;
};

struct ListenerCounts {
  uint64_t sent = 0, dropped = 0, send_errors = 0;
  uint64_t late_dropped = 0;  // meant for it, never sent: its sender was behind (a gap in its sequence)
  uint64_t next_index = 0;    // SRTP packet index of the listener's next packet (ROC = index >> 16)
};

class FanoutEngine;

// One listener of the fan-out, owned by whoever added it: destroying the handle removes the
// listener. Everything the control plane knows of the listener is here (its sender thread
// keeps the rest); the engine keeps no table of listeners.
class ListenerHandle {
 public:
  ~ListenerHandle();
  ListenerHandle(const ListenerHandle&) = delete;
  ListenerHandle& operator=(const ListenerHandle&) = delete;

  ListenerKey key() const { return key_; }
  // From the next packet pushed on, the listener gets `channel` (0: nothing).
  void Switch(ChannelKey channel);
  // A new master key (same suite, SSRC and packet index) that takes over at the first packet
  // pushed `after` from now. False (with the reason) for a bad key.
  bool Rekey(const std::vector<uint8_t>& master_key, std::chrono::nanoseconds after, std::string* error);
  ListenerCounts Counts() const;
  // True when ICMP unreachable answers came back for its destination since the last call.
  bool TakeUnreachable();
  // True once its key has protected rekey_after_packets packets (reported once per key).
  bool TakeKeyLimit();
  // Packets meant for it that were dropped (late_dropped + dropped) since the last call.
  uint64_t TakeDropped();

 private:
  friend class FanoutEngine;
  ListenerHandle(FanoutEngine* engine, ListenerKey key, rtp::SrtpSuite suite, uint32_t ssrc,
                 std::shared_ptr<ListenerCounters> counters);
  FanoutEngine* const engine_;
  const ListenerKey key_;
  const rtp::SrtpSuite suite_;
  const uint32_t ssrc_;
  const std::shared_ptr<ListenerCounters> counters_;
  uint64_t unreachable_seen_ = 0;
  uint64_t dropped_seen_ = 0;
};

class FanoutEngine : private AlertSink {
 public:
  static std::unique_ptr<FanoutEngine> Create(const FanoutOptions& options, std::string* error);
  // bind_host: local IPv4 address the listener streams come from; one sender thread.
  static std::unique_ptr<FanoutEngine> Create(const std::string& bind_host, std::string* error);
  ~FanoutEngine();  // every ListenerHandle must be gone first
  FanoutEngine(const FanoutEngine&) = delete;
  FanoutEngine& operator=(const FanoutEngine&) = delete;

  // Any thread; never blocks. The packet is copied; it is an RTP packet from the channel's payloader.
  void Push(ChannelKey channel, const uint8_t* data, std::size_t size);
  // A fresh channel key (never 0, never reused).
  ChannelKey NewChannelKey() { return next_key_.fetch_add(1, std::memory_order_relaxed); }
  // Any thread. Null (with the reason) only on a bad key length: the SRTP context is created
  // here, not on the sender thread.
  std::unique_ptr<ListenerHandle> AddListener(const ListenerSpec& spec, std::string* error);
  // The channel is gone: its listeners hear nothing until switched (their handles own them).
  void RemoveChannel(ChannelKey channel);
  // As ListenerHandle::Switch, for a thread that knows the key but not the handle (the media
  // thread routing a listener); a key whose listener is gone is ignored.
  void SwitchListener(ListenerKey key, ChannelKey channel) { ShardOf(key).Switch(key, channel); }

  // How many listeners the channel has now (all sender threads), for an encoder that runs only
  // while someone listens. Follows adds, switches and removals as the sender threads apply them
  // (within a wake-up of the call). The counter outlives RemoveChannel for whoever holds it.
  std::shared_ptr<const std::atomic<int64_t>> Audience(ChannelKey channel) { return audience_.Of(channel); }

  FanoutStats Stats() const;
  void ResetDelayStats();
  uint16_t source_port() const { return source_port_; }
  const std::string& source_host() const { return source_host_; }
  int sender_threads() const { return int(shards_.size()); }
  // "" when the sender threads run as FanoutOptions::realtime_priority asked; else the reason.
  const std::string& realtime_problem() const { return realtime_problem_; }

 private:
  friend class ListenerHandle;
  FanoutEngine(int fd, const FanoutOptions& options, uint16_t port);
  FanoutShard& ShardOf(ListenerKey key) { return *shards_[key % shards_.size()]; }
  void OnUnreachable(const sockaddr_in& destination) override;

  const int fd_;
  const std::string source_host_;
  const uint16_t source_port_;
  EngineCounters counters_;
  std::atomic<uint64_t> packets_in_{0}, ring_overflows_{0};
  std::atomic<uint64_t> next_key_{1};  // listener and channel keys share one space
  DelayTracker tracker_;
  AudienceTable audience_;  // before the shards, which count into it
  std::vector<std::unique_ptr<FanoutShard>> shards_;
  std::string realtime_problem_;
};

}  // namespace tilmash::fanout
