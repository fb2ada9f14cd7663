#include "whep_peer.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "rtp/rtp_packet.h"
#include "sdp/whep_sdp.h"

namespace tilmash::whepload {

namespace {

using Clock = std::chrono::steady_clock;
using sdp::EqualsNoCase;
using sdp::Words;
using webrtc::DtlsEndpoint;

constexpr auto kCheckInterval = std::chrono::milliseconds(50);  // until the first success
constexpr auto kConsentInterval = std::chrono::seconds(5);      // RFC 7675 wants one within 30 s
constexpr auto kDtlsTimerInterval = std::chrono::milliseconds(50);
constexpr auto kReportInterval = std::chrono::seconds(1);
constexpr std::size_t kDatagram = 2048;
constexpr unsigned kBatch = 32;

// One batch of receive buffers for every peer of a thread: OnReadable drains a socket at a time,
// and 10 000 peers with buffers of their own would hold ~600 MB for nothing.
struct ReceiveBatch {
  std::array<std::array<uint8_t, kDatagram>, kBatch> data;
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> msgs;
  ReceiveBatch() {
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = {data[i].data(), data[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};

// ICE's ice-char (RFC 8839 5.4): ALPHA / DIGIT / "+" / "/".
std::string RandomIceString(std::size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  s.reserve(n);
  uint32_t bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 5 == 0) bits = rtp::RandomU32();  // 6 bits a character, 5 characters a draw
    s += kChars[bits & 63];
    bits >>= 6;
  }
  return s;
}

template <class T>
std::optional<T> ParseNumber(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string AddressText(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return ip;
}

}  // namespace

std::optional<RemoteAnswer> ParseAnswer(std::string_view sdp, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<RemoteAnswer> {
    if (error) *error = "the answer " + why;
    return std::nullopt;
  };
  RemoteAnswer r;
  // Session-level values are the defaults; the audio section's own lines win over them.
  RemoteAnswer session_level;
  bool candidate = false, passive = true, first = true;
  int section = -1, audio = -1;
  std::vector<std::string_view> audio_formats;
  std::size_t pos = 0;
  while (pos < sdp.size()) {
    std::size_t end = sdp.find('\n', pos);
    if (end == std::string_view::npos) end = sdp.size();
    std::string_view line = sdp.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (first && line != "v=0") return fail("is not SDP (it must start with v=0)");
    first = false;
    if (line.size() < 2 || line[1] != '=') return fail("has a line that is not type=value: " + std::string(line));
    if (line[0] == 'm') {
      ++section;
      const auto w = Words(line.substr(2));
      if (audio < 0 && w.size() >= 4 && w[0] == "audio" && w[1] != "0") {
        audio = section;
        audio_formats.assign(w.begin() + 3, w.end());
      }
      continue;
    }
    if (line[0] != 'a') continue;
    if (section >= 0 && section != audio) continue;
    RemoteAnswer& into = section < 0 ? session_level : r;
    const std::string_view value = line.substr(2);
    const auto colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    const std::string_view arg = colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    if (name == "ice-ufrag") {
      into.ice_ufrag = std::string(arg);
    } else if (name == "ice-pwd") {
      into.ice_pwd = std::string(arg);
    } else if (name == "fingerprint") {
      const auto w = Words(arg);
      if (w.size() != 2) return fail("has a malformed a=fingerprint");
      into.fingerprint_hash = std::string(w[0]);
      into.fingerprint = std::string(w[1]);
    } else if (name == "setup") {
      passive = arg != "active";
    } else if (name == "ssrc" && into.ssrc == 0) {
      into.ssrc = ParseNumber<uint32_t>(arg.substr(0, arg.find(' '))).value_or(0);
    } else if (name == "rtpmap" && section == audio && r.opus_payload_type < 0) {
      const auto w = Words(arg);
      const auto pt = w.size() == 2 ? ParseNumber<int>(w[0]) : std::nullopt;
      if (pt && *pt >= 0 && *pt <= 127 && w[1].size() >= 10 && EqualsNoCase(w[1].substr(0, 10), "opus/48000") &&
          std::find(audio_formats.begin(), audio_formats.end(), w[0]) != audio_formats.end())
        r.opus_payload_type = *pt;
    } else if (name == "candidate" && !candidate) {
      // foundation component transport priority address port "typ" type ...
      const auto w = Words(arg);
      if (w.size() < 8 || w[1] != "1" || !EqualsNoCase(w[2], "udp")) continue;
      const auto port = ParseNumber<uint16_t>(w[5]);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      if (!port || *port == 0 || inet_pton(AF_INET, std::string(w[4]).c_str(), &a.sin_addr) != 1) continue;
      a.sin_port = htons(*port);
      into.address = a;
      candidate = true;
    }
  }
  if (first) return fail("is empty");
  if (audio < 0) return fail("has no accepted audio section (m=audio with a port)");
  if (r.ice_ufrag.empty()) r.ice_ufrag = session_level.ice_ufrag;
  if (r.ice_pwd.empty()) r.ice_pwd = session_level.ice_pwd;
  if (r.fingerprint.empty()) {
    r.fingerprint_hash = session_level.fingerprint_hash;
    r.fingerprint = session_level.fingerprint;
  }
  if (r.ssrc == 0) r.ssrc = session_level.ssrc;
  if (r.address.sin_family != AF_INET) r.address = session_level.address;
  if (r.ice_ufrag.empty() || r.ice_pwd.empty()) return fail("has no ICE credentials (a=ice-ufrag, a=ice-pwd)");
  if (r.fingerprint.empty()) return fail("has no a=fingerprint");
  if (!candidate) return fail("has no IPv4 UDP candidate of component 1 (a=candidate)");
  if (r.opus_payload_type < 0) return fail("sends no Opus (a=rtpmap:<pt> opus/48000 among the m=audio formats)");
  if (!passive) return fail("has a=setup:active: this viewer is only a DTLS client");
  return r;
}

std::unique_ptr<WhepPeer> WhepPeer::Create(std::shared_ptr<webrtc::DtlsIdentity> identity, WhepPeerOptions options,
                                           std::string* error) {
  auto fail = [&](const std::string& why) -> std::unique_ptr<WhepPeer> {
    if (error) *error = why;
    return nullptr;
  };
  if (!identity) return fail("no DTLS identity");
  sockaddr_in local{};
  local.sin_family = AF_INET;
  // The address is the offer's candidate too: a wildcard would tell the server nothing.
  if (inet_pton(AF_INET, options.local_ip.c_str(), &local.sin_addr) != 1 || local.sin_addr.s_addr == INADDR_ANY)
    return fail("local address " + options.local_ip + " is not a concrete IPv4 address");
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  socklen_t len = sizeof local;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    const std::string why = std::string("bind ") + options.local_ip + ": " + std::strerror(errno);
    close(fd);
    return fail(why);
  }
  if (options.sample == 0) options.sample = 1;
  return std::unique_ptr<WhepPeer>(new WhepPeer(fd, local, std::move(identity), std::move(options)));
}

WhepPeer::WhepPeer(int fd, sockaddr_in local, std::shared_ptr<webrtc::DtlsIdentity> identity, WhepPeerOptions options)
    : fd_(fd),
      local_(local),
      identity_(std::move(identity)),
      options_(std::move(options)),
      ufrag_(RandomIceString(8)),
      pwd_(RandomIceString(24)),
      own_ssrc_(rtp::RandomU32() | 1) {}

WhepPeer::~WhepPeer() { close(fd_); }

std::string WhepPeer::Offer() const {
  const std::string ip = AddressText(local_);
  std::string s = "v=0\r\no=- " + std::to_string(own_ssrc_) + " 2 IN IP4 " + ip + "\r\ns=-\r\nt=0 0\r\n";
  s += "a=group:BUNDLE 0\r\n";
  s += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n";
  s += "a=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n";
  s += "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
  s += "a=ice-ufrag:" + ufrag_ + "\r\na=ice-pwd:" + pwd_ + "\r\n";
  s += "a=fingerprint:sha-256 " + identity_->fingerprint() + "\r\na=setup:actpass\r\n";
  s += "a=candidate:1 1 udp 2130706431 " + ip + " " + std::to_string(ntohs(local_.sin_port)) + " typ host\r\n";
  s += "a=end-of-candidates\r\n";
  return s;
}

bool WhepPeer::Answer(const std::string& sdp, std::string* error) {
  if (state_ != State::kOffered) {
    if (error) *error = "already answered";
    return false;
  }
  auto parsed = ParseAnswer(sdp, error);
  if (!parsed) return false;
  remote_ = std::move(*parsed);
  // A connected socket: the kernel drops what does not come from the server's candidate, and
  // sends need no address.
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&remote_.address), sizeof remote_.address) != 0) {
    if (error) *error = "connect to " + AddressText(remote_.address) + ": " + std::strerror(errno);
    return false;
  }
  ice_ = std::make_unique<webrtc::IceChecker>(remote_.ice_ufrag + ":" + ufrag_, remote_.ice_pwd);
  answered_at_ = Clock::now();
  next_check_ = answered_at_;
  state_ = State::kChecking;
  return true;
}

void WhepPeer::OnReadable() {
  thread_local ReceiveBatch batch;
  for (;;) {
    const int n = recvmmsg(fd_, batch.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      // ECONNREFUSED: an ICMP port unreachable to a connected socket, the server's port is gone.
      if (e == ECONNREFUSED)
        Fail("the server's port is closed (ICMP port unreachable)");
      else if (e != EAGAIN && e != EWOULDBLOCK)
        Fail(std::string("recvmmsg: ") + std::strerror(e));
      return;
    }
    for (int i = 0; i < n; ++i) OnDatagram(batch.data[i].data(), batch.msgs[i].msg_len);
    if (unsigned(n) < kBatch) return;
  }
}

void WhepPeer::OnDatagram(uint8_t* data, std::size_t size) {
  if (state_ == State::kOffered) return;
  switch (webrtc::Classify(data, size)) {
    case webrtc::Datagram::kStun:
      return OnStun(data, size);
    case webrtc::Datagram::kDtls:
      return OnDtls(data, size);
    case webrtc::Datagram::kRtp:
      if (webrtc::IsRtcp(data, size)) {
        ++stats_.rtcp_in;  // the server's own reports are not read: only its stream is measured
        return;
      }
      return OnRtp(data, size);
    case webrtc::Datagram::kOther:
      return;
  }
}

void WhepPeer::OnStun(const uint8_t* data, std::size_t size) {
  if (!ice_ || !ice_->IsSuccess(data, size)) return;
  if (stats_.ice_answered) return;  // a consent response
  stats_.ice_answered = true;
  next_check_ = Clock::now() + kConsentInterval;
  if (state_ != State::kChecking) return;
  // The pair works and is nominated: as the answer's setup:passive says, we are the DTLS client.
  dtls_ = std::make_unique<DtlsEndpoint>(identity_, DtlsEndpoint::Role::kClient, remote_.fingerprint_hash,
                                         remote_.fingerprint);
  state_ = State::kHandshaking;
  next_dtls_timer_ = Clock::now() + kDtlsTimerInterval;
  std::vector<std::vector<uint8_t>> out;
  const auto before = dtls_->state();
  dtls_->Start(&out);
  for (const auto& d : out) Send(d.data(), d.size());
  AfterDtls(before);
}

void WhepPeer::OnDtls(const uint8_t* data, std::size_t size) {
  if (!dtls_) return;
  const auto before = dtls_->state();
  std::vector<std::vector<uint8_t>> out;
  dtls_->Receive(data, size, &out);
  for (const auto& d : out) Send(d.data(), d.size());
  AfterDtls(before);
}

void WhepPeer::AfterDtls(DtlsEndpoint::State before) {
  const auto state = dtls_->state();
  if (state == before) return;
  if (state == DtlsEndpoint::State::kFailed || state == DtlsEndpoint::State::kClosed) {
    Fail(dtls_->error().empty() ? "DTLS closed by the server" : dtls_->error());
    return;
  }
  if (state != DtlsEndpoint::State::kConnected) return;
  const webrtc::SrtpKeys& keys = dtls_->keys();
  std::string error;
  rtp_in_ = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, keys.suite, keys.remote, 0, 0, &error);
  if (rtp_in_)
    rtcp_out_ =
        rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, keys.suite, keys.local, own_ssrc_, 0, &error);
  if (!rtp_in_ || !rtcp_out_) {
    Fail("SRTP: " + error);
    return;
  }
  const auto now = Clock::now();
  stats_.connected = true;
  stats_.connect_ms = std::chrono::duration<double, std::milli>(now - answered_at_).count();
  state_ = State::kConnected;
  next_report_ = now + kReportInterval;
}

void WhepPeer::OnRtp(uint8_t* data, std::size_t size) {
  if (size < rtp::kMinHeader) return;
  ++stats_.packets;
  stats_.bytes += size;
  // The header is in the clear in SRTP: loss is counted on every packet, sampled or not.
  const uint16_t seq = rtp::ReadU16(data + 2);
  server_ssrc_ = rtp::ReadU32(data + 8);
  if (!seq_started_) {
    seq_started_ = true;
    base_seq_ = seq;
    max_seq_ = seq;
  } else if (const uint16_t ahead = uint16_t(seq - max_seq_); ahead != 0 && ahead < 0x8000) {
    if (seq < max_seq_) cycles_ += 65536;
    max_seq_ = seq;
  }
  const uint64_t expected = uint64_t(cycles_) + max_seq_ - base_seq_ + 1;
  stats_.lost = expected > stats_.packets ? expected - stats_.packets : 0;
  if (!rtp_in_ || sample_counter_++ % options_.sample != 0) return;
  const int plain = rtp_in_->Unprotect(data, size);
  if (plain < 0) {
    ++stats_.auth_failures;
    return;
  }
  ++stats_.unprotected;
  if (options_.on_rtp) options_.on_rtp(data, std::size_t(plain));
}

void WhepPeer::Tick(Clock::time_point now) {
  if (state_ == State::kOffered || state_ == State::kFailed) return;
  if (now >= next_check_) SendCheck(now);
  if (state_ == State::kHandshaking && now >= next_dtls_timer_) {
    next_dtls_timer_ = now + kDtlsTimerInterval;
    const auto before = dtls_->state();
    std::vector<std::vector<uint8_t>> out;
    dtls_->OnTimer(&out);
    for (const auto& d : out) Send(d.data(), d.size());
    AfterDtls(before);
  }
  if (state_ == State::kConnected && now >= next_report_) {
    next_report_ = now + kReportInterval;
    SendReport();
  }
}

void WhepPeer::SendCheck(Clock::time_point now) {
  uint8_t buf[512];
  // Nominate until the server answered (a lite server takes the controlling side's choice).
  const bool nominate = !stats_.ice_answered;
  std::size_t n = ice_->Build(nominate, buf, sizeof buf);
  if (n == 0) {
    // libnice's agent remembers 200 unanswered transactions, then refuses to make more: an
    // unanswering server would stop us for good, so a fresh agent takes over.
    ice_ = std::make_unique<webrtc::IceChecker>(remote_.ice_ufrag + ":" + ufrag_, remote_.ice_pwd);
    n = ice_->Build(nominate, buf, sizeof buf);
  }
  if (n == 0) return Fail("cannot build an ICE check");
  Send(buf, n);
  next_check_ = now + (nominate ? std::chrono::duration_cast<Clock::duration>(kCheckInterval)
                                : std::chrono::duration_cast<Clock::duration>(kConsentInterval));
}

void WhepPeer::SendReport() {
  // RR (RFC 3550 6.4.2): header, our SSRC, one report block about the server's stream.
  uint8_t buf[128] = {};
  buf[0] = 0x80 | 1;  // V=2, RC=1
  buf[1] = 201;
  rtp::WriteU16(buf + 2, 7);  // 32 bytes, in 32-bit words minus one
  rtp::WriteU32(buf + 4, own_ssrc_);
  uint8_t* block = buf + 8;
  rtp::WriteU32(block, server_ssrc_ ? server_ssrc_ : remote_.ssrc);
  const uint64_t expected = seq_started_ ? uint64_t(cycles_) + max_seq_ - base_seq_ + 1 : 0;
  const uint64_t expected_interval = expected - expected_prior_;
  const uint64_t received_interval = stats_.packets - received_prior_;
  expected_prior_ = expected;
  received_prior_ = stats_.packets;
  const int64_t lost_interval = int64_t(expected_interval) - int64_t(received_interval);
  block[4] = expected_interval == 0 || lost_interval <= 0 ? 0 : uint8_t((lost_interval << 8) / expected_interval);
  // Cumulative lost is 24-bit signed: duplicates can make it negative.
  const int64_t cumulative = std::clamp<int64_t>(int64_t(expected) - int64_t(stats_.packets), -0x800000, 0x7FFFFF);
  const uint32_t c24 = uint32_t(cumulative) & 0xFFFFFF;
  block[5] = uint8_t(c24 >> 16);
  block[6] = uint8_t(c24 >> 8);
  block[7] = uint8_t(c24);
  rtp::WriteU32(block + 8, cycles_ | max_seq_);  // jitter, LSR and DLSR stay 0
  const int n = rtcp_out_->ProtectRtcp(buf, 32, sizeof buf);
  if (n < 0) return Fail("cannot protect a receiver report");
  Send(buf, std::size_t(n));
  ++stats_.reports_sent;
}

void WhepPeer::Send(const uint8_t* data, std::size_t size) {
  // A full socket buffer drops this datagram as the network would: ICE, DTLS and RTCP all resend.
  if (send(fd_, data, size, MSG_DONTWAIT) >= 0) return;
  const int e = errno;
  if (e != EAGAIN && e != EWOULDBLOCK && e != ECONNREFUSED) Fail(std::string("send: ") + std::strerror(e));
}

void WhepPeer::Fail(const std::string& why) {
  if (stats_.error.empty()) stats_.error = why;
  state_ = State::kFailed;
}

std::ostream& operator<<(std::ostream& os, WhepPeer::State s) {
  switch (s) {
    case WhepPeer::State::kOffered:
      return os << "offered";
    case WhepPeer::State::kChecking:
      return os << "checking";
    case WhepPeer::State::kHandshaking:
      return os << "handshaking";
    case WhepPeer::State::kConnected:
      return os << "connected";
    case WhepPeer::State::kFailed:
      return os << "failed";
  }
  return os << "?";
}

}  // namespace tilmash::whepload
