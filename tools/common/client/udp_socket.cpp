#include "client/udp_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tilmash::client {

std::string SocketAddress::ToString() const {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (storage.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

std::optional<SocketAddress> ResolveUdp(const std::string& host, uint16_t port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    if (error) *error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return std::nullopt;
  }
  SocketAddress addr;
  std::memcpy(&addr.storage, result->ai_addr, result->ai_addrlen);
  addr.length = result->ai_addrlen;
  freeaddrinfo(result);
  return addr;
}

std::unique_ptr<UdpSocket> UdpSocket::Bind(const std::string& host, uint16_t port, std::string* error) {
  auto addr = ResolveUdp(host.empty() ? "0.0.0.0" : host, port, error);
  if (!addr) return nullptr;
  const int fd = ::socket(addr->storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  // A larger receive buffer keeps a busy test machine from dropping a burst of 10 ms packets.
  const int rcvbuf = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr->storage), addr->length) != 0) {
    if (error) *error = "bind " + addr->ToString() + ": " + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<UdpSocket>(new UdpSocket(fd));
}

std::unique_ptr<UdpSocket> UdpSocket::JoinGroup(const std::string& group, uint16_t port, const std::string& interface,
                                                std::string* error) {
  auto fail = [&](int fd, const std::string& why) -> std::unique_ptr<UdpSocket> {
    if (error) *error = why + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  };
  ip_mreq mreq{};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, group.c_str(), &a.sin_addr) != 1 || !IN_MULTICAST(ntohl(a.sin_addr.s_addr))) {
    if (error) *error = "'" + group + "' is not an IPv4 multicast group";
    return nullptr;
  }
  mreq.imr_multiaddr = a.sin_addr;
  if (inet_pton(AF_INET, interface.empty() ? "0.0.0.0" : interface.c_str(), &mreq.imr_interface) != 1) {
    if (error) *error = "'" + interface + "' is not an IPv4 address";
    return nullptr;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fd, "socket");
  const int on = 1, rcvbuf = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // Bound to the group address, so only that group's packets arrive on this port.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return fail(fd, "bind " + group);
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) return fail(fd, "join " + group);
  return std::unique_ptr<UdpSocket>(new UdpSocket(fd));
}

std::unique_ptr<UdpSocket> UdpSocket::BindFor(const SocketAddress& peer, std::string* error) {
  return Bind(peer.storage.ss_family == AF_INET6 ? "::" : "0.0.0.0", 0, error);
}

UdpSocket::~UdpSocket() { ::close(fd_); }

uint16_t UdpSocket::local_port() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

std::string UdpSocket::local_host() const {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) return "";
  const std::string text = a.ToString();
  // Strip ":port" and IPv6 brackets.
  const std::string host = text.substr(0, text.rfind(':'));
  return host.size() > 1 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
}

bool UdpSocket::SendTo(const SocketAddress& to, std::span<const uint8_t> data) {
  const ssize_t n =
      ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to.storage), to.length);
  return n == ssize_t(data.size());
}

int UdpSocket::Receive(uint8_t* buffer, std::size_t capacity, int timeout_ms, SocketAddress* from) {
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, timeout_ms);
  if (ready == 0 || (ready < 0 && errno == EINTR)) return 0;
  if (ready < 0) return -1;
  SocketAddress sender;
  sender.length = sizeof sender.storage;
  const ssize_t n =
      ::recvfrom(fd_, buffer, capacity, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sender.storage), &sender.length);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  if (from) *from = sender;
  return int(n);
}

}  // namespace tilmash::client
