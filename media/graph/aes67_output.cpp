#include "graph/aes67_output.h"

#include "graph/ptp_clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "log/log.h"

namespace tilmash::graph {

namespace {
std::string Ip(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}
}  // namespace

domain::Result<std::shared_ptr<Aes67Outputs>> Aes67Outputs::Create(const Aes67OutConfig& config) {
  if (config.first_group.empty()) return std::shared_ptr<Aes67Outputs>();
  in_addr first{};
  if (inet_pton(AF_INET, config.first_group.c_str(), &first) != 1 || (ntohl(first.s_addr) >> 28) != 0xE)
    return domain::InvalidArgument("aes67_out_group must be an IPv4 multicast address, not '" + config.first_group +
                                   "'");
  std::shared_ptr<Aes67Outputs> out(new Aes67Outputs(config));
  out->first_ = ntohl(first.s_addr);
  out->fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (out->fd_ < 0) return domain::Internal("SAP socket: " + std::string(std::strerror(errno)));
  const unsigned char ttl = (unsigned char)config.ttl, loop = 1;
  ::setsockopt(out->fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  ::setsockopt(out->fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);  // receivers on this host too
  in_addr iface{};
  if (!config.interface.empty()) {
    inet_pton(AF_INET, config.interface.c_str(), &iface);  // checked by the daemon's configuration
    ::setsockopt(out->fd_, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface);
    out->origin_ = iface.s_addr;
  } else {
    // The address the route to the first group leaves from: what receivers see as the origin.
    const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(config.port);
    to.sin_addr = first;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
        ::getsockname(probe, reinterpret_cast<sockaddr*>(&from), &len) == 0)
      out->origin_ = from.sin_addr.s_addr;
    if (probe >= 0) ::close(probe);
  }
  out->thread_ = std::thread([o = out.get()] { o->Run(); });
  return out;
}

Aes67Outputs::Aes67Outputs(Aes67OutConfig config) : config_(std::move(config)) {}

Aes67Outputs::~Aes67Outputs() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

domain::Result<std::unique_ptr<Aes67Outputs::Stream>> Aes67Outputs::Open(const std::string& session,
                                                                         const std::string& channel) {
  auto s = std::unique_ptr<Stream>(new Stream());
  std::string sdp;
  uint16_t hash = 0;
  {
    std::lock_guard lock(mu_);
    uint32_t offset = 0;
    while (offset < kMaxGroups && live_.count(offset)) ++offset;
    if (offset == kMaxGroups)
      return domain::ResourceExhausted("AES67 out: all " + std::to_string(kMaxGroups) + " groups from " +
                                       config_.first_group + " are taken");
    s->group_ = Ip(first_ + offset);
    s->port_ = config_.port;
    hash = s->hash_ = next_hash_++;
    if (next_hash_ == 0) next_hash_ = 1;
    in_addr origin{};
    origin.s_addr = origin_;
    char origin_text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &origin, origin_text, sizeof origin_text);
    // RFC 7273: the media clock is the RTP clock itself (direct=0: the clock's time in
    // samples), referenced to the PTP grandmaster the sessions follow, else to this host's own
    // clock ("local").
    std::string refclk = "local";
    if (config_.ptp_domain >= 0 && config_.ptp_clock) {
      const std::string gm = PtpGrandmaster(config_.ptp_clock.get());
      refclk = gm.empty() ? "ptp=IEEE1588-2008:traceable"
                          : "ptp=IEEE1588-2008:" + gm + ":" + std::to_string(config_.ptp_domain);
    }
    sdp = "v=0\r\no=- " + std::to_string(hash) + " 0 IN IP4 " + origin_text + "\r\ns=Tilmash " + session + " " +
          channel + "\r\nc=IN IP4 " + s->group_ + "/" + std::to_string(config_.ttl) + "\r\nt=0 0\r\n" +
          "a=keywds:Tilmash\r\nm=audio " + std::to_string(s->port_) + " RTP/AVP 96\r\ni=" + channel +
          "\r\na=recvonly\r\na=rtpmap:96 L24/48000/1\r\na=ptime:1\r\na=maxptime:1\r\na=ts-refclk:" + refclk +
          "\r\na=mediaclk:direct=0\r\n";
    s->sdp_ = sdp;
    live_[offset] = {sdp, hash};
  }
  s->owner_ = shared_from_this();  // from here a failure gives the group back (Stream's destructor)
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return domain::Internal("AES67 out socket: " + std::string(std::strerror(errno)));
  const unsigned char ttl = (unsigned char)config_.ttl, loop = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  if (!config_.interface.empty()) {
    in_addr iface{};
    inet_pton(AF_INET, config_.interface.c_str(), &iface);
    ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface);
  }
  gst::ErrorPtr err;
  s->socket_ = gst::GObjectPtr<GSocket>::Adopt(g_socket_new_from_fd(fd, err.out()));
  if (!s->socket_) {
    ::close(fd);
    return domain::Internal("AES67 out socket: " + err.message());
  }
  Announce(sdp, hash, false);  // at once: a receiver waiting for it need not wait 30 s
  log::Get("aes67")->info("session {}: channel {} out as AES67 on {}:{} (SAP announced)", session, channel, s->group_,
                          s->port_);
  return s;
}

Aes67Outputs::Stream::~Stream() {
  if (owner_) owner_->Close(*this);
}

void Aes67Outputs::Close(Stream& s) {
  in_addr a{};
  inet_pton(AF_INET, s.group_.c_str(), &a);
  {
    std::lock_guard lock(mu_);
    live_.erase(ntohl(a.s_addr) - first_);
  }
  Announce(s.sdp_, s.hash_, true);
}

// RFC 2974 section 3: V=1, IPv4 origin, no authentication, no encryption, no compression;
// the payload type "application/sdp", then the SDP.
void Aes67Outputs::Announce(const std::string& sdp, uint16_t hash, bool deletion) {
  std::vector<uint8_t> p;
  p.reserve(8 + 16 + sdp.size());
  p.push_back(uint8_t(0x20 | (deletion ? 0x04 : 0x00)));
  p.push_back(0);  // authentication length
  p.push_back(uint8_t(hash >> 8));
  p.push_back(uint8_t(hash));
  const auto* origin = reinterpret_cast<const uint8_t*>(&origin_);
  p.insert(p.end(), origin, origin + 4);
  static constexpr char kType[] = "application/sdp";
  p.insert(p.end(), kType, kType + sizeof kType);  // with its terminating 0
  p.insert(p.end(), sdp.begin(), sdp.end());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(config_.sap_port);
  inet_pton(AF_INET, config_.sap_group.c_str(), &to.sin_addr);
  if (::sendto(fd_, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
    log::Get("aes67")->warn("SAP announcement to {}:{} not sent: {}", config_.sap_group, config_.sap_port,
                            std::strerror(errno));
}

void Aes67Outputs::Run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(kSapIntervalS), [&] { return stop_; })) {
    const auto live = live_;
    lock.unlock();
    for (const auto& [offset, announcement] : live) Announce(announcement.first, announcement.second, false);
    lock.lock();
  }
}

}  // namespace tilmash::graph
