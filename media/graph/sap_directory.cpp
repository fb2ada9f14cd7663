#include "graph/sap_directory.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log/log.h"

namespace tilmash::graph {

std::unique_ptr<SapDirectory> SapDirectory::Create(const std::string& interface, std::string* error,
                                                   const std::string& group, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const std::string& what) -> std::unique_ptr<SapDirectory> {
    if (error)
      *error = "SAP discovery on " + group + ":" + std::to_string(port) + ": " + what + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return nullptr;
  };
  if (fd < 0) return fail("socket");
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // other SAP listeners on this host
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, group.c_str(), &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  ip_mreq m{};
  m.imr_multiaddr = a.sin_addr;
  m.imr_interface.s_addr = htonl(INADDR_ANY);
  if (!interface.empty()) inet_pton(AF_INET, interface.c_str(), &m.imr_interface);
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return fail("join");
  std::unique_ptr<SapDirectory> d(new SapDirectory(fd));
  d->thread_ = std::thread([p = d.get()] { p->Run(); });
  return d;
}

SapDirectory::~SapDirectory() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void SapDirectory::Run() {
  uint8_t buf[4096];
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) Take(buf, std::size_t(n));
  }
}

// RFC 2974 section 3. Encrypted or compressed announcements are skipped (AES67 devices send
// neither); so is anything that is not SDP.
void SapDirectory::Take(const uint8_t* p, std::size_t n) {
  if (n < 4 || (p[0] >> 5) != 1 || (p[0] & 0x03) != 0) return;  // version 1, not encrypted/compressed
  const bool ipv6 = p[0] & 0x10, deletion = p[0] & 0x04;
  std::size_t at = 4 + (ipv6 ? 16 : 4) + std::size_t(p[1]) * 4;
  if (at >= n) return;
  std::string rest(reinterpret_cast<const char*>(p) + at, n - at);
  if (rest.rfind("v=0", 0) != 0) {  // a payload type precedes the SDP
    const auto end = rest.find('\0');
    if (end == std::string::npos || rest.substr(0, end) != "application/sdp") return;
    rest.erase(0, end + 1);
  }
  const auto s = rest.find("\ns=");
  if (s == std::string::npos) return;
  const auto eol = rest.find_first_of("\r\n", s + 3);
  const std::string name = rest.substr(s + 3, eol == std::string::npos ? std::string::npos : eol - s - 3);
  if (name.empty() || name.size() > 200) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (auto it = streams_.begin(); it != streams_.end();)
    it = now - it->second.seen > kExpiry ? streams_.erase(it) : std::next(it);
  if (deletion) {
    streams_.erase(name);
    return;
  }
  auto [it, added] = streams_.insert_or_assign(name, Entry{rest, now});
  if (added) log::Get("aes67")->info("SAP: stream '{}' announced", name);
}

std::optional<std::string> SapDirectory::Find(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end() || std::chrono::steady_clock::now() - it->second.seen > kExpiry) return std::nullopt;
  return it->second.sdp;
}

std::vector<std::string> SapDirectory::Names() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : streams_) out.push_back(name);
  return out;
}

}  // namespace tilmash::graph
