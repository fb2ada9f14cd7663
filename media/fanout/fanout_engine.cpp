#include "fanout/fanout_engine.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "rtp/rtp_packet.h"

namespace tilmash::fanout {

std::unique_ptr<FanoutEngine> FanoutEngine::Create(const std::string& bind_host, std::string* error) {
  FanoutOptions o;
  o.bind_host = bind_host;
  return Create(o, error);
}

std::unique_ptr<FanoutEngine> FanoutEngine::Create(const FanoutOptions& options, std::string* error) {
  if (options.sender_threads < 1 || options.sender_threads > 64 || options.ring_slots < 2 ||
      options.max_backlog_ms < 0 || options.max_backlog_ms > 10'000) {
    if (error) *error = "fan-out: sender_threads must be 1..64, ring_slots >= 2 and max_backlog_ms 0..10000";
    return nullptr;
  }
  // Non-blocking: a full socket buffer must cost packets, never stall the sender thread.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (error) *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, options.bind_host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    if (error) *error = "media address '" + options.bind_host + "' is not an IPv4 address";
    return nullptr;
  }
  int sndbuf = options.send_buffer_bytes;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  // ICMP errors (port unreachable: the listener is gone) arrive on the error queue, naming
  // the destination, so a dead listener can be ended before its lease runs out.
  int on = 1;
  setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
  // Venue multicast groups are listeners too: sent from the media address, looped back so
  // receivers on this host hear them.
  // Don't Fragment on every packet (IP_PMTUDISC_PROBE: set, without a path-MTU cache to obey):
  // a packet without it costs the kernel an IP ID from its shared hashed generator, 3-4 % of the
  // fan-out's profile at 2,000 listeners. Listener packets are a few hundred bytes.
  int pmtu = IP_PMTUDISC_PROBE;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  int ttl = options.multicast_ttl;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &on, sizeof on);
  std::string bind_error;
  const bool bound = options.ports ? options.ports->Bind(fd, addr.sin_addr, 0, &bind_error) != 0
                                   : ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!bound) {
    if (error) *error = "bind " + options.bind_host + ": " + (options.ports ? bind_error : std::strerror(errno));
    ::close(fd);
    return nullptr;
  }
  if (addr.sin_addr.s_addr != htonl(INADDR_ANY))
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &addr.sin_addr, sizeof addr.sin_addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<FanoutEngine>(new FanoutEngine(fd, options, ntohs(addr.sin_port)));
}

FanoutEngine::FanoutEngine(int fd, const FanoutOptions& options, uint16_t port)
    : fd_(fd),
      source_host_(options.bind_host),
      source_port_(port),
      tracker_(4 * options.ring_slots * std::size_t(options.sender_threads)) {
  ShardOptions so;
  so.ring_slots = options.ring_slots;
  so.rekey_after_packets = options.rekey_after_packets;
  so.max_backlog_ns = int64_t(options.max_backlog_ms) * 1'000'000;
  so.on_overload = options.on_overload;
  so.prefetch = options.prefetch;
  so.audience = &audience_;
  for (int i = 0; i < options.sender_threads; ++i) {
    so.index = i;
    shards_.push_back(std::make_unique<FanoutShard>(fd_, so, &tracker_, &counters_, static_cast<AlertSink*>(this)));
    if (options.realtime_priority > 0 && realtime_problem_.empty()) {
      if (const int err = shards_.back()->SetRealtime(options.realtime_priority); err != 0)
        realtime_problem_ = "SCHED_FIFO priority " + std::to_string(options.realtime_priority) + ": " +
                            std::strerror(err) +
                            (err == EPERM ? " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority)" : "");
    }
  }
}

FanoutEngine::~FanoutEngine() {
  shards_.clear();  // joins the sender threads before the socket goes
  ::close(fd_);
}

void FanoutEngine::Push(ChannelKey channel, const uint8_t* data, std::size_t size) {
  if (size < rtp::kMinHeader || size > rtp::kMaxPacket) return;
  packets_in_.fetch_add(1, std::memory_order_relaxed);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const uint32_t track = tracker_.Begin(uint32_t(shards_.size()));
  for (auto& s : shards_) {
    if (!s->Push(channel, data, size, now, track)) {
      ring_overflows_.fetch_add(1, std::memory_order_relaxed);
      tracker_.Finish(track, false, now, now);
    }
  }
}

std::unique_ptr<ListenerHandle> FanoutEngine::AddListener(const ListenerSpec& spec, std::string* error) {
  auto l = std::make_unique<ShardListener>();
  l->key = next_key_.fetch_add(1, std::memory_order_relaxed);
  l->channel = spec.channel;
  l->destination = spec.destination;
  l->ssrc = spec.ssrc;
  l->fd = spec.socket >= 0 ? spec.socket : fd_;
  if (spec.payload_type >= 0) l->payload_type = uint8_t(spec.payload_type & 0x7F);
  l->ts_offset = spec.first_timestamp;  // the first packet's timestamp (the rebase anchors it)
  l->next_seq = uint16_t(spec.first_index & 0xFFFF);
  l->roc = uint32_t(spec.first_index >> 16);
  l->srtp = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, spec.suite, spec.master_key, spec.ssrc,
                                     l->roc, error);
  if (!l->srtp) return nullptr;
  l->counters = std::make_shared<ListenerCounters>();
  l->counters->next_index.store(spec.first_index, std::memory_order_relaxed);
  const ListenerKey key = l->key;
  std::unique_ptr<ListenerHandle> handle(new ListenerHandle(this, key, spec.suite, spec.ssrc, l->counters));
  ShardOf(key).Add(std::move(l));
  return handle;
}

void FanoutEngine::OnUnreachable(const sockaddr_in& destination) {
  for (auto& s : shards_) s->Unreachable(destination);
}

void FanoutEngine::RemoveChannel(ChannelKey channel) {
  for (auto& s : shards_) s->RemoveChannel(channel);
  audience_.Forget(channel);
}

ListenerHandle::ListenerHandle(FanoutEngine* engine, ListenerKey key, rtp::SrtpSuite suite, uint32_t ssrc,
                               std::shared_ptr<ListenerCounters> counters)
    : engine_(engine), key_(key), suite_(suite), ssrc_(ssrc), counters_(std::move(counters)) {}

ListenerHandle::~ListenerHandle() { engine_->ShardOf(key_).Remove(key_); }

void ListenerHandle::Switch(ChannelKey channel) { engine_->ShardOf(key_).Switch(key_, channel); }

bool ListenerHandle::Rekey(const std::vector<uint8_t>& master_key, std::chrono::nanoseconds after, std::string* error) {
  auto ctx = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, suite_, master_key, ssrc_, 0, error);
  if (!ctx) return false;
  const auto at = std::chrono::steady_clock::now().time_since_epoch() + after;
  engine_->ShardOf(key_).Rekey(key_, std::move(ctx), std::chrono::duration_cast<std::chrono::nanoseconds>(at).count());
  return true;
}

ListenerCounts ListenerHandle::Counts() const {
  const ListenerCounters& c = *counters_;
  ListenerCounts n;
  n.sent = c.sent.load(std::memory_order_relaxed);
  n.dropped = c.dropped.load(std::memory_order_relaxed);
  n.send_errors = c.send_errors.load(std::memory_order_relaxed);
  n.late_dropped = c.late_dropped.load(std::memory_order_relaxed);
  n.next_index = c.next_index.load(std::memory_order_relaxed);
  return n;
}

bool ListenerHandle::TakeUnreachable() {
  const uint64_t now = counters_->unreachable.load(std::memory_order_relaxed);
  const bool fresh = now != unreachable_seen_;
  unreachable_seen_ = now;
  return fresh;
}

uint64_t ListenerHandle::TakeDropped() {
  const uint64_t now =
      counters_->late_dropped.load(std::memory_order_relaxed) + counters_->dropped.load(std::memory_order_relaxed);
  const uint64_t fresh = now - dropped_seen_;
  dropped_seen_ = now;
  return fresh;
}

bool ListenerHandle::TakeKeyLimit() { return counters_->key_limit.exchange(false, std::memory_order_relaxed); }

FanoutStats FanoutEngine::Stats() const {
  FanoutStats s;
  s.packets_in = packets_in_.load(std::memory_order_relaxed);
  s.packets_sent = counters_.packets_sent.load(std::memory_order_relaxed);
  s.send_errors = counters_.send_errors.load(std::memory_order_relaxed);
  s.listeners = counters_.listeners.load(std::memory_order_relaxed);
  s.packets_dropped = counters_.packets_dropped.load(std::memory_order_relaxed);
  s.ring_overflows = ring_overflows_.load(std::memory_order_relaxed);
  s.backlog_drops = counters_.backlog_drops.load(std::memory_order_relaxed);
  s.late_dropped = counters_.late_dropped.load(std::memory_order_relaxed);
  s.delay = tracker_.histogram().Summary();
  return s;
}

void FanoutEngine::ResetDelayStats() { tracker_.histogram().Reset(); }

}  // namespace tilmash::fanout
