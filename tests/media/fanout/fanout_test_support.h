// Loopback receivers for fan-out tests: a UDP socket on 127.0.0.1:0 that waits (poll with a
// deadline, never a sleep) for the packets the engine sends, and a yield loop for counters.
#pragma once
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "rtp/rtp_packet.h"

namespace tilmash::fanout::testing {

class UdpSink {
 public:
  UdpSink() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rcvbuf = 8 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = a;
  }
  ~UdpSink() { ::close(fd_); }
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;

  const sockaddr_in& address() const { return address_; }

  // Waits until `n` datagrams arrived or the deadline passed; returns what arrived.
  std::vector<std::vector<uint8_t>> Receive(std::size_t n,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::vector<std::vector<uint8_t>> out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    uint8_t buf[2048];
    while (out.size() < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) break;
      const ssize_t got = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (got > 0) out.emplace_back(buf, buf + got);
    }
    return out;
  }
  // True when nothing is waiting (after everything expected was received).
  bool Empty() {
    uint8_t b;
    return ::recv(fd_, &b, 1, MSG_DONTWAIT | MSG_PEEK) < 0;
  }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

// A channel packet as a payloader would push it: 12-byte header, `payload` bytes tagged with `tag`.
inline std::vector<uint8_t> ChannelPacket(uint16_t seq, uint32_t ts, uint8_t tag, std::size_t payload = 80) {
  std::vector<uint8_t> p(rtp::kMinHeader + payload);
  rtp::WriteHeader(p.data(), 96, false, seq, ts, 0xC0FFEE);
  for (std::size_t i = rtp::kMinHeader; i < p.size(); ++i) p[i] = uint8_t(tag + i);
  return p;
}

}  // namespace tilmash::fanout::testing
