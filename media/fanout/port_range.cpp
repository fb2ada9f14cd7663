#include "fanout/port_range.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tilmash::fanout {

bool PortRange::Parse(const std::string& text, PortRange* out, std::string* error) {
  *out = PortRange{};
  if (text.empty()) return true;
  unsigned a = 0, b = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%u-%u%c", &a, &b, &tail) != 2) {
    *error = "media_ports must be FIRST-LAST (e.g. 40000-40999), not '" + text + "'";
    return false;
  }
  if (a <= 1024 || b > 65535 || a > b) {
    *error = "media_ports must be FIRST-LAST with 1024 < FIRST <= LAST <= 65535, not '" + text + "'";
    return false;
  }
  *out = PortRange{uint16_t(a), uint16_t(b)};
  return true;
}

namespace {
bool BindPort(int fd, in_addr host, uint16_t port, int* err) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr = host;
  addr.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  *err = errno;
  return false;
}
}  // namespace

uint16_t PortAllocator::Bind(int fd, in_addr host, uint16_t want, std::string* error) {
  int err = 0;
  auto bound = [&]() -> uint16_t {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return ntohs(addr.sin_port);
  };
  if (want != 0 && range_.contains(want)) {
    if (BindPort(fd, host, want, &err)) return want;
    *error = "port " + std::to_string(want) + ": " + std::strerror(err);
    return 0;
  }
  if (range_.any()) {
    if (BindPort(fd, host, 0, &err)) return bound();
    *error = std::strerror(err);
    return 0;
  }
  const uint32_t size = uint32_t(range_.last) - range_.first + 1;
  const uint32_t start = cursor_.fetch_add(1, std::memory_order_relaxed);
  for (uint32_t i = 0; i < size; ++i) {
    const uint16_t port = uint16_t(range_.first + (start + i) % size);
    if (BindPort(fd, host, port, &err)) {
      // The next search starts after this port (others may have moved the cursor meanwhile).
      cursor_.store(port - range_.first + 1, std::memory_order_relaxed);
      return port;
    }
    if (err != EADDRINUSE) {
      *error = "port " + std::to_string(port) + ": " + std::strerror(err);
      return 0;
    }
  }
  *error = "no free port in media_ports " + range_.text() + " (all " + std::to_string(size) +
           " in use): widen the range or end streams";
  return 0;
}

}  // namespace tilmash::fanout
