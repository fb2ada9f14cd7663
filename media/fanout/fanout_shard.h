// One fan-out sender thread and the listeners it owns. The engine gives every shard each
// channel packet (through the shard's own ring) and routes each listener to one shard, so
// the listener table, the SRTP contexts and the per-listener timelines are touched by one
// thread only and need no lock.
//
// Control changes (add / switch / remove) go through a small mutex-guarded list that the
// sender looks at only when a flag says it is not empty. Each carries the ring ticket at
// which it was posted and is applied exactly between the packets pushed before and after it.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fanout/audience.h"
#include "fanout/delay_histogram.h"
#include "fanout/packet_ring.h"
#include "rtp/srtp_context.h"

namespace tilmash::fanout {

using ListenerKey = uint64_t;

// Written by the listener's sender thread only (plain load + store, no locked instruction),
// read by any: the listener's handle reads them without asking the sender.
struct ListenerCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> dropped{0};  // socket buffer full (EAGAIN/ENOBUFS) past the wait budget
  // Packets meant for it that its sender thread never sent because it had fallen behind: older
  // than the backlog bound when reached, or refused by its full ring. Its sequence and timestamp
  // skip them too, so its receiver sees a gap and conceals it.
  std::atomic<uint64_t> late_dropped{0};
  std::atomic<uint64_t> send_errors{0};  // the kernel refused this destination, or protect failed
  std::atomic<uint64_t> next_index{0};   // SRTP packet index (ROC << 16 | sequence) of the next packet
  std::atomic<uint64_t> unreachable{0};  // ICMP port/host unreachable answers for its destination
  std::atomic<bool> key_limit{false};    // its key has protected rekey_after_packets packets
  void Add(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// Engine-wide counters the shards add to (a few relaxed adds per packet, not per listener).
struct EngineCounters {
  std::atomic<uint64_t> packets_sent{0}, send_errors{0}, packets_dropped{0}, listeners{0};
  std::atomic<uint64_t> backlog_drops{0};  // channel packets a sender skipped: older than the backlog bound
  std::atomic<uint64_t> late_dropped{0};   // listener packets those skips and full rings cost (sum of late_dropped)
};

// What one sender thread dropped because it fell behind, since its last report. Reported at
// most once per second per sender thread, on that thread, only when something was dropped.
struct OverloadReport {
  int sender = 0;                 // the sender thread's index
  uint64_t stale_packets = 0;     // channel packets skipped: older than the backlog bound
  uint64_t ring_packets = 0;      // channel packets its full ring refused (seen as sequence gaps)
  uint64_t listener_packets = 0;  // listener packets those cost
  int64_t oldest_ms = 0;          // the age of the oldest packet skipped
  int64_t backlog_bound_ms = 0;
};
using OverloadCallback = std::function<void(const OverloadReport&)>;

// Where a sender thread reports an ICMP error (port or host unreachable) read from the shared
// socket: the destination may belong to a listener of any sender thread.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void OnUnreachable(const sockaddr_in& destination) = 0;
};

struct ShardListener {
  ListenerKey key = 0;
  ChannelKey channel = 0;
  sockaddr_in destination{};
  int fd = -1;                 // the socket it is sent from
  uint8_t payload_type = 111;  // Opus
  uint32_t ssrc = 0;
  uint16_t next_seq = 0;  // a new listener's sequence starts at 0 (ROC 0); a resumed one where it was
  uint32_t ts_offset = 0;
  uint32_t last_ts = 0;
  uint32_t step = 0;   // timestamp step of the channel at its last packet
  bool rebase = true;  // next packet re-anchors the timestamp (first packet, or a switch)
  bool sent_any = false;
  rtp::SrtpContextPtr srtp;
  std::shared_ptr<ListenerCounters> counters;  // shared with the listener's handle
  uint32_t roc = 0;                            // rollover counter of next_seq
  uint64_t protected_with_key = 0;             // packets under the current key
  bool limit_reported = false;
  rtp::SrtpContextPtr next_srtp;  // a new key, taking over at the first packet pushed at or after rekey_at_ns
  int64_t rekey_at_ns = 0;
};

struct ShardOptions {
  int index = 0;  // for reports
  std::size_t ring_slots = 1024;
  uint64_t rekey_after_packets = uint64_t(1) << 31;  // OnKeyLimit when a key has protected this many
  // A channel packet older than this when its turn comes is skipped, not sent (0: no bound).
  int64_t max_backlog_ns = 50'000'000;
  OverloadCallback on_overload;       // may be empty; must not block
  bool prefetch = true;               // listeners' SRTP state fetched ahead (SendToChannel)
  AudienceTable* audience = nullptr;  // listeners per channel, counted here (may be null)
};

class FanoutShard {
 public:
  FanoutShard(int fd, const ShardOptions& options, DelayTracker* tracker, EngineCounters* counters, AlertSink* alerts);
  ~FanoutShard();  // stops and joins the thread
  // Its sender thread SCHED_FIFO at `priority` (1-99); 0 or the errno.
  int SetRealtime(int priority);
  FanoutShard(const FanoutShard&) = delete;
  FanoutShard& operator=(const FanoutShard&) = delete;

  // Streaming threads. False when this shard's ring is full (the packet is not queued).
  bool Push(ChannelKey channel, const uint8_t* data, std::size_t size, int64_t push_ns, uint32_t track);
  // Control threads.
  void Add(std::unique_ptr<ShardListener> l);
  void Switch(ListenerKey key, ChannelKey channel);
  void Remove(ListenerKey key);
  // The channel is gone: its listeners stay (their handles own them) and hear nothing until
  // switched elsewhere.
  void RemoveChannel(ChannelKey channel);
  // An ICMP error came back for `destination`: counted on this thread's listeners sent there.
  void Unreachable(const sockaddr_in& destination);
  // The listener's next key; it takes over (continuing the ROC) at the first packet pushed at
  // or after at_ns (steady clock), so its owner can learn the key before it is used.
  void Rekey(ListenerKey key, rtp::SrtpContextPtr srtp, int64_t at_ns);

 private:
  struct Command {
    enum class Kind { kAdd, kSwitch, kRemove, kRemoveChannel, kRekey, kUnreachable } kind;
    uint64_t ticket = 0;  // ring tickets handed out before this command
    ChannelKey channel = 0;
    ListenerKey listener = 0;
    std::unique_ptr<ShardListener> added;
    rtp::SrtpContextPtr srtp = nullptr;  // kRekey
    int64_t at_ns = 0;                   // kRekey
    sockaddr_in destination{};           // kUnreachable
  };
  struct ChannelState {
    std::vector<ShardListener*> listeners;
    uint32_t step = 0;     // last observed timestamp step (samples per frame)
    uint32_t last_in = 0;  // last input timestamp
    uint16_t last_in_seq = 0;
    uint16_t skipped = 0;  // packets skipped as stale since the last one sent (the rest of a gap: a full ring)
    bool seen = false;
  };

  void Post(Command c);
  void Wake();
  void Run();
  void Apply(Command& c);
  void Attach(ShardListener* l);
  void Detach(ShardListener* l);
  // Returns true when at least one listener got the packet.
  bool SendToChannel(const PacketSlot& p, int64_t now_ns);
  // The packet waited past the backlog bound: skipped, counted for each listener it was meant for.
  void SkipStale(const PacketSlot& p, int64_t now_ns);
  // At most once per second, when something was dropped: hands the counts to on_overload.
  void MaybeReport(int64_t now_ns);
  // Sends the first n batched packets (all from batch_fd_); returns how many the kernel took.
  std::size_t Flush(std::size_t n, bool& waited);
  // Reads the socket's error queue (IP_RECVERR) and reports each ICMP error's destination.
  void DrainErrors();
  // Swaps in the listener's next key when its time has come; reports a key at its limit.
  void KeyStep(ShardListener& l, int64_t push_ns);

  const int fd_;
  DelayTracker* const tracker_;
  EngineCounters* const counters_;
  AlertSink* const alerts_;
  const uint64_t rekey_after_packets_;
  const int64_t max_backlog_ns_;
  const bool prefetch_;
  AudienceTable* const audience_;
  const int index_;
  const OverloadCallback on_overload_;
  PacketRing ring_;

  std::mutex mu_;
  std::vector<Command> posted_;  // guarded by mu_
  std::atomic<bool> has_posted_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> wake_seq_{0};
  std::atomic<bool> sleeping_{false};
  std::mutex wake_mu_;  // only taken to sleep, and to wake a sleeping sender
  std::condition_variable wake_cv_;

  // Sender thread only.
  std::deque<Command> pending_;  // posted, waiting for their ticket
  std::unordered_map<ListenerKey, std::unique_ptr<ShardListener>> listeners_;
  std::unordered_map<ChannelKey, ChannelState> channels_;
  std::unique_ptr<uint8_t[]> scratch_;  // kBatch protected packets
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<ShardListener*> batch_owner_;
  int batch_fd_ = -1;  // the socket the batch is sent from (listeners of one socket are kept together)
  int64_t last_drain_ns_ = 0;
  OverloadReport unreported_;  // drops since the last report
  int64_t last_report_ns_ = 0;

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace tilmash::fanout
