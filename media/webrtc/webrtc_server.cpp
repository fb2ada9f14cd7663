#include "webrtc/webrtc_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "rtp/srtp_context.h"

namespace tilmash::webrtc {

namespace {

constexpr int kTickMs = 50;  // DTLS retransmissions, consent and connect deadlines

uint64_t AddressKey(const sockaddr_in& a) { return uint64_t(ntohl(a.sin_addr.s_addr)) << 16 | ntohs(a.sin_port); }

// ICE credentials: ufrag 8 and pwd 24 characters of [A-Za-z0-9] (RFC 8839 5.4: >= 4 and >= 22).
std::string RandomIceText(std::size_t n) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(n, 'A');
  for (auto& c : s) c = kChars[rtp::RandomU32() % (sizeof kChars - 1)];
  return s;
}

}  // namespace

void ReadReceiverReports(const uint8_t* rtcp, std::size_t size, PeerReport* r) {
  // A compound packet: SR (200) and RR (201) carry report blocks after their sender's SSRC (and
  // an SR's 20 bytes of sender info); each block is about one stream (a viewer receives only
  // ours). Everything else (SDES, BYE, NACK, PLI, REMB, transport-cc) needs nothing from an
  // audio sender. A length past the end stops the walk.
  std::size_t pos = 0;
  while (pos + 8 <= size) {
    const uint8_t count = rtcp[pos] & 0x1F;
    const uint8_t type = rtcp[pos + 1];
    const std::size_t length = (std::size_t(rtcp[pos + 2]) << 8 | rtcp[pos + 3]) * 4 + 4;
    if (pos + length > size) break;
    const std::size_t blocks = pos + 8 + (type == 200 ? 20 : 0);
    if (type == 200 || type == 201) {
      for (std::size_t b = 0; b < count && blocks + (b + 1) * 24 <= pos + length; ++b) {
        const uint8_t* blk = rtcp + blocks + b * 24;
        r->fraction_lost = blk[4] / 256.0;
        int32_t lost = int32_t(uint32_t(blk[5]) << 16 | uint32_t(blk[6]) << 8 | blk[7]);
        if (lost & 0x800000) lost -= 0x1000000;  // 24-bit signed
        r->cumulative_lost = lost;
        r->jitter_samples = uint32_t(blk[12]) << 24 | uint32_t(blk[13]) << 16 | uint32_t(blk[14]) << 8 | blk[15];
        ++r->receiver_reports;
      }
    }
    pos += length;
  }
}

std::string WebrtcPeer::why_over() const {
  std::lock_guard lock(mu_);
  return why_;
}

PeerReport WebrtcPeer::report() const {
  std::lock_guard lock(mu_);
  return report_;
}

void WebrtcPeer::End(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (over_.load()) return;
    why_ = why;
  }
  over_.store(true);
}

std::unique_ptr<WebrtcServer> WebrtcServer::Create(const WebrtcServerOptions& options, std::string* error) {
  auto identity = DtlsIdentity::Generate(error);
  if (!identity) return nullptr;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (error) *error = std::string("webrtc socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (inet_pton(AF_INET, options.bind_host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    if (error) *error = "WebRTC address '" + options.bind_host + "' is not an IPv4 address";
    return nullptr;
  }
  if (!options.public_ip.empty()) {
    in_addr check{};
    if (inet_pton(AF_INET, options.public_ip.c_str(), &check) != 1) {
      ::close(fd);
      if (error) *error = "webrtc_public_ip '" + options.public_ip + "' is not an IPv4 address";
      return nullptr;
    }
  }
  // Every viewer's packets leave through this socket: a buffer as large as the fan-out's.
  int buffer = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  // The fan-out sends viewers' packets from here: Don't Fragment, as on its own socket
  // (fanout_engine.cpp says why).
  int pmtu = IP_PMTUDISC_PROBE;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  std::string bind_error;
  bool bound;
  if (options.port == 0 && options.ports)
    bound = options.ports->Bind(fd, addr.sin_addr, 0, &bind_error) != 0;
  else {
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (!bound) bind_error = std::strerror(errno);
  }
  if (!bound) {
    ::close(fd);
    if (error)
      *error = "bind WebRTC port " + options.bind_host + ":" + std::to_string(options.port) + ": " + bind_error;
    return nullptr;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<WebrtcServer>(new WebrtcServer(fd, ntohs(addr.sin_port), options, std::move(identity)));
}

WebrtcServer::WebrtcServer(int fd, uint16_t port, const WebrtcServerOptions& options,
                           std::shared_ptr<DtlsIdentity> identity)
    : fd_(fd),
      port_(port),
      options_(options),
      candidate_ip_(options.public_ip.empty() ? options.bind_host : options.public_ip),
      identity_(std::move(identity)),
      thread_([this] { Run(); }) {}

WebrtcServer::~WebrtcServer() {
  stopping_.store(true);
  thread_.join();
  ::close(fd_);
}

std::shared_ptr<WebrtcPeer> WebrtcServer::Admit(const PeerOffer& offer, WebrtcPeer::Connected connected) {
  std::lock_guard lock(mu_);
  std::string ufrag;
  do ufrag = RandomIceText(8);
  while (by_ufrag_.count(ufrag));
  auto peer = std::make_shared<WebrtcPeer>(offer, ufrag, RandomIceText(24), std::move(connected));
  peer->admitted_ = peer->last_check_ = std::chrono::steady_clock::now();
  by_ufrag_[ufrag] = peer;
  stats_.peers = by_ufrag_.size();
  return peer;
}

void WebrtcServer::Forget(const std::shared_ptr<WebrtcPeer>& peer) {
  if (!peer) return;
  std::lock_guard lock(mu_);
  if (peer->has_address_) {
    auto it = by_address_.find(AddressKey(peer->address_));
    if (it != by_address_.end() && it->second == peer.get()) by_address_.erase(it);
  }
  by_ufrag_.erase(peer->ufrag_);
  peer->connected_ = nullptr;
  stats_.peers = by_ufrag_.size();
}

WebrtcServerStats WebrtcServer::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void WebrtcServer::Run() {
  std::vector<uint8_t> buf(2048);
  auto next_tick = std::chrono::steady_clock::now();
  while (!stopping_.load()) {
    pollfd pfd{fd_, POLLIN, 0};
    ::poll(&pfd, 1, kTickMs);
    for (int i = 0; i < 256; ++i) {  // then look at the clock again
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN, or an ICMP error for an earlier send: nothing to read now
      }
      if (from.sin_family != AF_INET) continue;
      std::lock_guard lock(mu_);
      OnDatagram(buf.data(), std::size_t(n), from);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      next_tick = now + std::chrono::milliseconds(kTickMs);
      std::lock_guard lock(mu_);
      Tick(now);
    }
  }
}

WebrtcPeer* WebrtcServer::PeerAt(const sockaddr_in& from) {
  auto it = by_address_.find(AddressKey(from));
  return it == by_address_.end() ? nullptr : it->second;
}

void WebrtcServer::OnDatagram(const uint8_t* data, std::size_t size, const sockaddr_in& from) {
  switch (Classify(data, size)) {
    case Datagram::kStun:
      return OnStun(data, size, from);
    case Datagram::kDtls:
      if (WebrtcPeer* p = PeerAt(from)) return OnDtls(*p, data, size);
      break;
    case Datagram::kRtp:
      if (WebrtcPeer* p = PeerAt(from); p && IsRtcp(data, size)) return OnRtcp(*p, data, size);
      break;
    case Datagram::kOther:
      break;
  }
  ++stats_.dropped;
}

void WebrtcServer::OnStun(const uint8_t* data, std::size_t size, const sockaddr_in& from) {
  uint8_t reply[512];
  IceCheck check;
  std::string error;
  const std::size_t n = ice_.Answer(
      data, size, from,
      [this](const std::string& ufrag) -> const std::string* {
        auto it = by_ufrag_.find(ufrag);
        return it == by_ufrag_.end() ? nullptr : &it->second->pwd_;
      },
      reply, sizeof reply, &check, &error);
  if (n == 0) {
    ++stats_.checks_refused;
    return;
  }
  auto it = by_ufrag_.find(check.local_ufrag);
  if (it == by_ufrag_.end() || check.remote_ufrag != it->second->offer_.ice_ufrag) {
    ++stats_.checks_refused;  // someone else's session, or the wrong peer's ufrag
    return;
  }
  WebrtcPeer& peer = *it->second;
  ++stats_.checks_answered;
  Send(reply, n, from);
  if (peer.over()) return;
  peer.last_check_ = std::chrono::steady_clock::now();
  // The first address a valid check came from, or the nominated one: the viewer's (a lite agent
  // takes the controlling agent's nomination; once DTLS runs the address stays).
  const bool moved = !peer.has_address_ || (check.use_candidate && !peer.nominated_ && !peer.dtls_);
  if (moved) {
    if (peer.has_address_) by_address_.erase(AddressKey(peer.address_));
    peer.address_ = from;
    peer.has_address_ = true;
    by_address_[AddressKey(from)] = &peer;
  }
  if (check.use_candidate) peer.nominated_ = true;
}

void WebrtcServer::OnDtls(WebrtcPeer& peer, const uint8_t* data, std::size_t size) {
  if (peer.over()) return;
  if (!peer.dtls_)
    peer.dtls_ = std::make_unique<DtlsEndpoint>(identity_, DtlsEndpoint::Role::kServer, peer.offer_.fingerprint_hash,
                                                peer.offer_.fingerprint);
  const auto before = peer.dtls_->state();
  std::vector<std::vector<uint8_t>> out;
  const auto state = peer.dtls_->Receive(data, size, &out);
  for (const auto& d : out) Send(d.data(), d.size(), peer.address_);
  if (state == before) return;
  if (state == DtlsEndpoint::State::kConnected) {
    ++stats_.handshakes;
    const SrtpKeys& keys = peer.dtls_->keys();
    std::string error;
    peer.rtcp_in_ =
        rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, keys.suite, keys.remote, 0, 0, &error);
    if (peer.connected_) peer.connected_(peer.address_, keys);
    peer.connected_ = nullptr;
    return;
  }
  if (state == DtlsEndpoint::State::kFailed) ++stats_.handshakes_failed;
  if (state == DtlsEndpoint::State::kFailed || state == DtlsEndpoint::State::kClosed) peer.End(peer.dtls_->error());
}

void WebrtcServer::OnRtcp(WebrtcPeer& peer, const uint8_t* data, std::size_t size) {
  uint8_t buf[1500];
  if (!peer.rtcp_in_ || size > sizeof buf) {
    ++stats_.rtcp_refused;
    return;
  }
  std::memcpy(buf, data, size);
  const int n = peer.rtcp_in_->UnprotectRtcp(buf, size);
  if (n < 0) {
    ++stats_.rtcp_refused;
    return;
  }
  ++stats_.rtcp_packets;
  PeerReport r = peer.report();
  ++r.rtcp_packets;
  ReadReceiverReports(buf, std::size_t(n), &r);
  std::lock_guard lock(peer.mu_);
  peer.report_ = r;
}

void WebrtcServer::Tick(std::chrono::steady_clock::time_point now) {
  for (auto& [ufrag, p] : by_ufrag_) {
    WebrtcPeer& peer = *p;
    if (peer.over()) continue;
    if (peer.dtls_ && peer.dtls_->state() == DtlsEndpoint::State::kHandshaking) {
      std::vector<std::vector<uint8_t>> out;
      if (peer.dtls_->OnTimer(&out) == DtlsEndpoint::State::kFailed) {
        ++stats_.handshakes_failed;
        peer.End(peer.dtls_->error());
      }
      for (const auto& d : out) Send(d.data(), d.size(), peer.address_);
    }
    const bool connected = peer.dtls_ && peer.dtls_->state() == DtlsEndpoint::State::kConnected;
    if (!connected && now - peer.admitted_ > options_.connect_timeout)
      peer.End("no ICE and DTLS within " + std::to_string(options_.connect_timeout.count()) + " ms");
    else if (connected && now - peer.last_check_ > options_.consent_timeout)
      peer.End("consent expired: no ICE check for " + std::to_string(options_.consent_timeout.count()) + " ms");
  }
}

void WebrtcServer::Send(const uint8_t* data, std::size_t size, const sockaddr_in& to) {
  ::sendto(fd_, data, size, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

}  // namespace tilmash::webrtc
