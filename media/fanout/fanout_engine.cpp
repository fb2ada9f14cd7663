#include "fanout/fanout_engine.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "rtp/rtp_packet.h"

namespace tilmash::fanout {

namespace {
constexpr std::size_t kSlot = rtp::kMaxPacket + 32;  // packet + SRTP tag
constexpr std::size_t kBatch = 256;                  // packets per sendmmsg
constexpr uint8_t kPayloadType = 111;
}  // namespace

std::unique_ptr<FanoutEngine> FanoutEngine::Create(const std::string& bind_host, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, bind_host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    if (error) *error = "media address '" + bind_host + "' is not an IPv4 address";
    return nullptr;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (error) *error = "bind " + bind_host + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<FanoutEngine>(new FanoutEngine(fd, bind_host, ntohs(addr.sin_port)));
}

FanoutEngine::FanoutEngine(int fd, std::string host, uint16_t port)
    : fd_(fd), source_host_(std::move(host)), source_port_(port) {
  thread_ = std::thread([this] { Run(); });
}

FanoutEngine::~FanoutEngine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  ::close(fd_);
}

void FanoutEngine::Enqueue(Command c) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(c));
  }
  cv_.notify_one();
}

void FanoutEngine::Push(ChannelKey channel, const uint8_t* data, std::size_t size) {
  if (size < rtp::kMinHeader || size > rtp::kMaxPacket) return;
  packets_in_.fetch_add(1, std::memory_order_relaxed);
  Command c{Command::Kind::kPacket, channel, 0, std::vector<uint8_t>(data, data + size), nullptr};
  Enqueue(std::move(c));
}

bool FanoutEngine::AddListener(ListenerSpec spec, std::string* error) {
  auto l = std::make_unique<Listener>();
  l->key = spec.key;
  l->channel = spec.channel;
  l->destination = spec.destination;
  l->ssrc = spec.ssrc;
  l->ts_offset = rtp::RandomU32();
  l->srtp =
      rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, spec.suite, spec.master_key, spec.ssrc, 0, error);
  if (!l->srtp) return false;
  Enqueue(Command{Command::Kind::kAdd, spec.channel, spec.key, {}, std::move(l)});
  return true;
}

void FanoutEngine::SwitchListener(ListenerKey key, ChannelKey channel) {
  Enqueue(Command{Command::Kind::kSwitch, channel, key, {}, nullptr});
}

void FanoutEngine::RemoveListener(ListenerKey key) { Enqueue(Command{Command::Kind::kRemove, 0, key, {}, nullptr}); }

void FanoutEngine::RemoveChannel(ChannelKey channel) {
  Enqueue(Command{Command::Kind::kRemoveChannel, channel, 0, {}, nullptr});
}

FanoutStats FanoutEngine::Stats() const {
  return FanoutStats{packets_in_.load(), packets_sent_.load(), send_errors_.load(), listener_count_.load()};
}

void FanoutEngine::Detach(Listener* l) {
  auto& v = by_channel_[l->channel];
  v.erase(std::remove(v.begin(), v.end(), l), v.end());
}

void FanoutEngine::Run() {
  std::deque<Command> work;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      work.swap(queue_);
    }
    for (auto& c : work) {
      switch (c.kind) {
        case Command::Kind::kPacket:
          SendToChannel(c.channel, c.packet);
          break;
        case Command::Kind::kAdd: {
          Listener* l = c.added.get();
          by_channel_[l->channel].push_back(l);
          listeners_[l->key] = std::move(c.added);
          listener_count_.store(listeners_.size());
          break;
        }
        case Command::Kind::kSwitch: {
          auto it = listeners_.find(c.listener);
          if (it == listeners_.end()) break;
          Listener* l = it->second.get();
          Detach(l);
          l->channel = c.channel;
          l->rebase = true;  // timestamps continue from where this listener was
          by_channel_[c.channel].push_back(l);
          break;
        }
        case Command::Kind::kRemove: {
          auto it = listeners_.find(c.listener);
          if (it == listeners_.end()) break;
          Detach(it->second.get());
          listeners_.erase(it);
          listener_count_.store(listeners_.size());
          break;
        }
        case Command::Kind::kRemoveChannel: {
          for (Listener* l : by_channel_[c.channel]) listeners_.erase(l->key);
          by_channel_.erase(c.channel);
          listener_count_.store(listeners_.size());
          break;
        }
      }
    }
    work.clear();
  }
}

void FanoutEngine::SendToChannel(ChannelKey channel, const std::vector<uint8_t>& packet) {
  auto found = by_channel_.find(channel);
  const uint32_t in_ts = rtp::ReadU32(packet.data() + 4);
  uint32_t& last_in = last_in_ts_[channel];
  uint32_t& step = frame_samples_[channel];
  if (last_in != 0 && in_ts - last_in > 0 && in_ts - last_in <= 5760) step = in_ts - last_in;
  if (step == 0) step = 480;
  last_in = in_ts;
  if (found == by_channel_.end() || found->second.empty()) return;
  const auto& targets = found->second;
  if (scratch_.size() < kBatch * kSlot) scratch_.resize(kBatch * kSlot);
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  std::size_t n = 0;
  auto flush = [&] {
    std::size_t done = 0;
    while (done < n) {
      int sent = sendmmsg(fd_, msgs + done, unsigned(n - done), 0);
      if (sent <= 0) {
        // One unreachable listener must not stop the others: skip the failed packet.
        send_errors_.fetch_add(1, std::memory_order_relaxed);
        ++done;
        continue;
      }
      packets_sent_.fetch_add(uint64_t(sent), std::memory_order_relaxed);
      done += std::size_t(sent);
    }
    n = 0;
  };
  for (Listener* l : targets) {
    uint8_t* slot = scratch_.data() + n * kSlot;
    std::memcpy(slot, packet.data(), packet.size());
    if (l->rebase) {
      // Continue this listener's own timeline one frame after its last packet.
      const uint32_t next = l->sent_any ? l->last_ts + step : l->ts_offset;
      l->ts_offset = next - in_ts;
      l->rebase = false;
    }
    const uint32_t out_ts = in_ts + l->ts_offset;
    rtp::SetPayloadType(slot, kPayloadType);
    rtp::SetSequence(slot, l->next_seq++);
    rtp::SetTimestamp(slot, out_ts);
    rtp::SetSsrc(slot, l->ssrc);
    int len = l->srtp->Protect(slot, packet.size(), kSlot);
    if (len < 0) {
      send_errors_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    l->last_ts = out_ts;
    l->sent_any = true;
    iov[n] = iovec{slot, std::size_t(len)};
    msgs[n] = mmsghdr{};
    msgs[n].msg_hdr.msg_name = &l->destination;
    msgs[n].msg_hdr.msg_namelen = sizeof l->destination;
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    if (++n == kBatch) flush();
  }
  flush();
}

}  // namespace tilmash::fanout
