#include "fanout/fanout_engine.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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
  if (options.sender_threads < 1 || options.sender_threads > 64 || options.ring_slots < 2) {
    if (error) *error = "fan-out: sender_threads must be 1..64 and ring_slots >= 2";
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
  int ttl = options.multicast_ttl;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (error) *error = "bind " + options.bind_host + ": " + std::strerror(errno);
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
  for (int i = 0; i < options.sender_threads; ++i)
    shards_.push_back(std::make_unique<FanoutShard>(fd_, so, &tracker_, &counters_, static_cast<AlertSink*>(this)));
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

bool FanoutEngine::AddListener(ListenerSpec spec, std::string* error) {
  auto l = std::make_unique<ShardListener>();
  l->key = spec.key;
  l->channel = spec.channel;
  l->destination = spec.destination;
  l->ssrc = spec.ssrc;
  l->ts_offset = rtp::RandomU32();
  l->srtp =
      rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, spec.suite, spec.master_key, spec.ssrc, 0, error);
  if (!l->srtp) return false;
  l->counters = std::make_shared<ListenerCounters>();
  {
    std::lock_guard lock(mu_);
    known_[spec.key] = Known{spec.channel, l->counters, spec.destination, spec.suite, spec.ssrc};
  }
  ShardOf(spec.key).Add(std::move(l));
  return true;
}

void FanoutEngine::SwitchListener(ListenerKey key, ChannelKey channel) {
  {
    std::lock_guard lock(mu_);
    if (auto it = known_.find(key); it != known_.end()) it->second.channel = channel;
  }
  ShardOf(key).Switch(key, channel);
}

void FanoutEngine::RemoveListener(ListenerKey key) {
  {
    std::lock_guard lock(mu_);
    known_.erase(key);
  }
  ShardOf(key).Remove(key);
}

bool FanoutEngine::RekeyListener(ListenerKey key, const std::vector<uint8_t>& master_key,
                                 std::chrono::nanoseconds after, std::string* error) {
  rtp::SrtpSuite suite;
  uint32_t ssrc;
  {
    std::lock_guard lock(mu_);
    auto it = known_.find(key);
    if (it == known_.end()) {
      if (error) *error = "no such listener";
      return false;
    }
    suite = it->second.suite;
    ssrc = it->second.ssrc;
  }
  auto ctx = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, suite, master_key, ssrc, 0, error);
  if (!ctx) return false;
  const auto at = std::chrono::steady_clock::now().time_since_epoch() + after;
  ShardOf(key).Rekey(key, std::move(ctx), std::chrono::duration_cast<std::chrono::nanoseconds>(at).count());
  return true;
}

void FanoutEngine::OnUnreachable(const sockaddr_in& destination) {
  std::lock_guard lock(alerts_mu_);
  if (unreachable_.size() < 4096) unreachable_.push_back(destination);
}

void FanoutEngine::OnKeyLimit(ListenerKey key) {
  std::lock_guard lock(alerts_mu_);
  key_limits_.push_back(key);
}

std::vector<FanoutAlert> FanoutEngine::TakeAlerts() {
  std::vector<sockaddr_in> gone;
  std::vector<ListenerKey> limits;
  {
    std::lock_guard lock(alerts_mu_);
    gone.swap(unreachable_);
    limits.swap(key_limits_);
  }
  std::vector<FanoutAlert> out;
  for (ListenerKey k : limits) out.push_back({FanoutAlert::Kind::kKeyLimit, k});
  if (gone.empty()) return out;
  std::lock_guard lock(mu_);
  for (const auto& entry : known_) {
    const sockaddr_in& to = entry.second.destination;
    const bool hit = std::any_of(gone.begin(), gone.end(), [&](const sockaddr_in& d) {
      return d.sin_addr.s_addr == to.sin_addr.s_addr && d.sin_port == to.sin_port;
    });
    if (hit) out.push_back({FanoutAlert::Kind::kUnreachable, entry.first});
  }
  return out;
}

void FanoutEngine::RemoveChannel(ChannelKey channel) {
  {
    std::lock_guard lock(mu_);
    std::erase_if(known_, [&](const auto& k) { return k.second.channel == channel; });
  }
  for (auto& s : shards_) s->RemoveChannel(channel);
}

FanoutStats FanoutEngine::Stats() const {
  FanoutStats s;
  s.packets_in = packets_in_.load(std::memory_order_relaxed);
  s.packets_sent = counters_.packets_sent.load(std::memory_order_relaxed);
  s.send_errors = counters_.send_errors.load(std::memory_order_relaxed);
  s.listeners = counters_.listeners.load(std::memory_order_relaxed);
  s.packets_dropped = counters_.packets_dropped.load(std::memory_order_relaxed);
  s.ring_overflows = ring_overflows_.load(std::memory_order_relaxed);
  s.delay = tracker_.histogram().Summary();
  return s;
}

std::optional<ListenerCounts> FanoutEngine::ListenerStats(ListenerKey key) const {
  std::lock_guard lock(mu_);
  auto it = known_.find(key);
  if (it == known_.end()) return std::nullopt;
  const ListenerCounters& c = *it->second.counters;
  return ListenerCounts{c.sent.load(std::memory_order_relaxed), c.dropped.load(std::memory_order_relaxed),
                        c.send_errors.load(std::memory_order_relaxed), c.next_index.load(std::memory_order_relaxed)};
}

void FanoutEngine::ResetDelayStats() { tracker_.histogram().Reset(); }

}  // namespace tilmash::fanout
