// A bound UDP socket (IPv4 or IPv6) with a poll-based receive, shared by the listener and the
// sender. Plain POSIX: nothing here knows about RTP.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace tilmash::client {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  // "host:port", or "[v6]:port".
  std::string ToString() const;
};

// Resolves a host (literal or name) and port to the first UDP address.
std::optional<SocketAddress> ResolveUdp(const std::string& host, uint16_t port, std::string* error = nullptr);

class UdpSocket {
 public:
  // Binds to host:port (port 0 = any free port). host "" binds the IPv4 wildcard.
  static std::unique_ptr<UdpSocket> Bind(const std::string& host, uint16_t port, std::string* error = nullptr);
  // Binds to an IPv4 multicast group and port (shared: several members on one host each get
  // every packet) and joins the group on the interface with address `interface`.
  static std::unique_ptr<UdpSocket> JoinGroup(const std::string& group, uint16_t port, const std::string& interface,
                                              std::string* error = nullptr);
  // Binds to the wildcard address of the same family as `peer`, on a free port.
  static std::unique_ptr<UdpSocket> BindFor(const SocketAddress& peer, std::string* error = nullptr);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  uint16_t local_port() const;
  // The bound address as text (e.g. "127.0.0.1").
  std::string local_host() const;

  // Safe to call from several threads at once (one sendto per call). Returns false on error.
  bool SendTo(const SocketAddress& to, std::span<const uint8_t> data);
  // Waits up to timeout_ms for one datagram. Returns its size, 0 on timeout, -1 on error.
  // `from` (optional) receives the sender's address.
  int Receive(uint8_t* buffer, std::size_t capacity, int timeout_ms, SocketAddress* from = nullptr);

  int fd() const { return fd_; }

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace tilmash::client
