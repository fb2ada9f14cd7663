#include "loopback_sink.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

namespace tilmash::bench {

namespace {
constexpr unsigned kBatch = 1024;
constexpr int kDrainPeriodMs = 2;  // the sink wakes at most this often, whatever the packet rate

int64_t MonotonicNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}
int64_t RealtimeNs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}
}  // namespace

std::unique_ptr<LoopbackSink> LoopbackSink::Create(int sockets, std::string* error) {
  std::unique_ptr<LoopbackSink> s(new LoopbackSink());
  for (int i = 0; i < sockets; ++i) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    // A few frames of 1,000 listeners: about 1 KiB of kernel memory per datagram. FORCE needs
    // root (the README runs as root); without it the sysctl cap applies and loss may show.
    int rcvbuf = 64 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    // Any local address: listeners are told 127.0.X.Y, an address each (the daemon replaces a
    // listener that subscribes again to the same endpoint), and all of 127/8 is this host.
    // tools/bench runs as root in a network namespace of its own (loopback and a tap device).
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (error) *error = std::string("sink socket: ") + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    s->fds_.push_back(fd);
    s->ports_.push_back(ntohs(a.sin_port));
  }
  s->arrivals_.reserve(8 << 20);
  s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

LoopbackSink::~LoopbackSink() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (int fd : fds_) ::close(fd);
}

void LoopbackSink::Expect(uint32_t ssrc, int channel) {
  std::lock_guard lock(mu_);
  listeners_[ssrc].channel = channel;
}

void LoopbackSink::BeginWindow() {
  std::lock_guard lock(mu_);
  for (auto& [ssrc, l] : listeners_) l = Listener{l.channel};
  arrivals_.clear();
  unknown_ = 0;
  window_start_ns_ = MonotonicNs();
}

LoopbackSink::Window LoopbackSink::EndWindow(int frame_ms) {
  std::vector<Arrival> arrivals;
  Window w;
  {
    std::lock_guard lock(mu_);
    w.seconds = double(MonotonicNs() - window_start_ns_) / 1e9;
    const uint64_t full = uint64_t(w.seconds * 1000.0 / frame_ms);
    const uint32_t frame_samples = uint32_t(48 * frame_ms);
    for (auto& [ssrc, l] : listeners_) {
      if (!l.seen) {
        ++w.silent_listeners;
        w.lost += full;
        continue;
      }
      w.received += l.received;
      const uint64_t expected = (l.last_ts - l.first_ts) / frame_samples + 1;
      if (expected > l.received) w.lost += expected - l.received;
    }
    w.unknown = unknown_;
    arrivals.swap(arrivals_);
    arrivals_.reserve(arrivals.capacity());
  }
  std::sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) {
    return a.channel != b.channel ? a.channel < b.channel : a.ns < b.ns;
  });
  std::vector<double> spreads, counts;
  const int64_t gap = int64_t(frame_ms) * 1'000'000 / 2;
  std::size_t first = 0;
  for (std::size_t i = 1; i <= arrivals.size(); ++i) {
    const bool channel_ends = i == arrivals.size() || arrivals[i].channel != arrivals[i - 1].channel;
    if (channel_ends || arrivals[i].ns - arrivals[i - 1].ns > gap) {
      // A channel's first and last bursts are cut by the window's edges: leave them out.
      const bool channel_starts = first == 0 || arrivals[first].channel != arrivals[first - 1].channel;
      if (!channel_starts && !channel_ends) {
        spreads.push_back(double(arrivals[i - 1].ns - arrivals[first].ns) / 1e6);
        counts.push_back(double(i - first));
      }
      first = i;
    }
  }
  w.burst_ms = Summarise(spreads);
  w.copies_per_burst = Summarise(counts).p50;
  return w;
}

void LoopbackSink::Run() {
  std::vector<std::array<uint8_t, 256>> bufs(kBatch);  // headers are all we read
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  struct alignas(cmsghdr) Control {
    std::array<char, CMSG_SPACE(sizeof(timespec))> bytes;
  };
  std::vector<Control> ctrl(kBatch);
  std::vector<pollfd> pfds;
  for (int fd : fds_) pfds.push_back(pollfd{fd, POLLIN, 0});
  // SO_TIMESTAMPNS is CLOCK_REALTIME: keep the offset to monotonic for the window arithmetic.
  const int64_t realtime_to_mono = MonotonicNs() - RealtimeNs();
  while (!stop_.load()) {
    if (::poll(pfds.data(), pfds.size(), 50) <= 0) continue;
    for (int fd : fds_) {
      for (;;) {
        for (unsigned i = 0; i < kBatch; ++i) {
          iov[i] = iovec{bufs[i].data(), bufs[i].size()};
          msgs[i] = mmsghdr{};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = ctrl[i].bytes.data();
          msgs[i].msg_hdr.msg_controllen = ctrl[i].bytes.size();
        }
        const int n = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        for (int i = 0; i < n; ++i) {
          const uint8_t* p = bufs[std::size_t(i)].data();
          if (msgs[std::size_t(i)].msg_len < 12) continue;
          const uint16_t seq = uint16_t(p[2] << 8 | p[3]);
          const uint32_t ssrc = uint32_t(p[8]) << 24 | uint32_t(p[9]) << 16 | uint32_t(p[10]) << 8 | p[11];
          auto it = listeners_.find(ssrc);
          if (it == listeners_.end()) {
            ++unknown_;
            continue;
          }
          Listener& l = it->second;
          const uint32_t ts = uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
          if (!l.seen) {
            l.seen = true;
            l.last_seq = seq;
            l.first_ts = l.last_ts = ts;
          } else if (const uint16_t ahead = uint16_t(seq - l.last_seq); ahead != 0 && ahead < 0x8000) {
            l.last_seq = seq;
            l.last_ts = ts;
          }
          ++l.received;
          for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[std::size_t(i)].msg_hdr); c;
               c = CMSG_NXTHDR(&msgs[std::size_t(i)].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              timespec t;
              std::memcpy(&t, CMSG_DATA(c), sizeof t);
              arrivals_.push_back(Arrival{l.channel, int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec + realtime_to_mono});
            }
          }
        }
        if (unsigned(n) < kBatch) break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kDrainPeriodMs));
  }
}

}  // namespace tilmash::bench
