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
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (error) *error = "bind " + options.bind_host + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<FanoutEngine>(new FanoutEngine(fd, options, ntohs(addr.sin_port)));
}

FanoutEngine::FanoutEngine(int fd, const FanoutOptions& options, uint16_t port)
    : fd_(fd),
      source_host_(options.bind_host),
      source_port_(port),
      tracker_(4 * options.ring_slots * std::size_t(options.sender_threads)) {
  for (int i = 0; i < options.sender_threads; ++i)
    shards_.push_back(std::make_unique<FanoutShard>(fd_, options.ring_slots, &tracker_, &counters_));
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
    known_[spec.key] = Known{spec.channel, l->counters};
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
                        c.send_errors.load(std::memory_order_relaxed)};
}

void FanoutEngine::ResetDelayStats() { tracker_.histogram().Reset(); }

}  // namespace tilmash::fanout
