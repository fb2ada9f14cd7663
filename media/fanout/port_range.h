// The UDP ports the media side may bind (`--media-ports A-B`): every ingest socket, the fan-out's
// source socket and the WebRTC viewers' ICE sockets, so a firewall and a sound desk can be set
// up before the event. An empty range: the kernel picks (ephemeral ports).
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace tilmash::fanout {

struct PortRange {
  uint16_t first = 0, last = 0;  // inclusive; first == 0: any port
  bool any() const { return first == 0; }
  bool contains(uint16_t port) const { return any() || (port >= first && port <= last); }
  std::string text() const { return any() ? "any" : std::to_string(first) + "-" + std::to_string(last); }
  // "A-B" with 1024 < A <= B <= 65535, or "" (any). False with *error naming the problem.
  static bool Parse(const std::string& text, PortRange* out, std::string* error);
};

// Hands out the ports of a range round robin (a port just freed is the last to be used again,
// so a late packet of an old stream does not land in a new one). Thread-safe; shared by every
// session of the node.
class PortAllocator {
 public:
  explicit PortAllocator(PortRange range) : range_(range) {}
  const PortRange& range() const { return range_; }
  // Binds the IPv4 UDP socket `fd` to host:port: `want` when non-zero and inside the range (a
  // restored stream keeps its port), else the next free port of the range, else (no range) one
  // the kernel picks. Returns the port, or 0 with *error ("no free port in media_ports ...").
  uint16_t Bind(int fd, in_addr host, uint16_t want, std::string* error);

 private:
  PortRange range_;
  std::atomic<uint32_t> cursor_{0};
};

}  // namespace tilmash::fanout
