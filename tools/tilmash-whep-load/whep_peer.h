// One light WebRTC viewer for load tests of the daemon's WHEP side: a recvonly Opus offer, a
// full (controlling) ICE agent of one host candidate, a DTLS client and an SRTP receiver on
// one non-blocking UDP socket, with no media engine behind it. Thousands of them share one
// thread: the owner polls fd(), calls OnReadable() when it is readable and Tick() every ~10 ms.
// Not thread-safe; never throws.
#pragma once
#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "rtp/srtp_context.h"
#include "webrtc/dtls_srtp.h"
#include "webrtc/ice_lite.h"

namespace tilmash::whepload {

// What a WHEP answer tells the viewer (its audio section, else the session level).
struct RemoteAnswer {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_hash, fingerprint;  // "sha-256", "AB:CD:..."
  sockaddr_in address{};                      // the first IPv4 UDP candidate of component 1
  uint32_t ssrc = 0;                          // a=ssrc (0: none given)
  int opus_payload_type = -1;
};

// Parses a WHEP answer; nullopt with the reason in `error` when something needed is missing.
std::optional<RemoteAnswer> ParseAnswer(std::string_view sdp, std::string* error);

struct WhepPeerOptions {
  std::string local_ip = "127.0.0.1";  // the socket's address, also the offer's candidate
  // Unprotect only 1 in `sample` RTP packets (the others are counted from their clear header):
  // keeps thousands of viewers on one client core. 1 = every packet.
  unsigned sample = 1;
  // Each unprotected RTP packet (the plain packet), e.g. for a test that decodes it.
  std::function<void(const uint8_t* rtp, std::size_t size)> on_rtp;
};

struct WhepPeerStats {
  bool ice_answered = false, connected = false;
  double connect_ms = -1;           // from Answer() to DTLS connected
  uint64_t packets = 0, bytes = 0;  // RTP from the server (sampled or not)
  uint64_t lost = 0;                // expected - received, by sequence numbers (RFC 3550 A.3)
  uint64_t unprotected = 0, auth_failures = 0;
  uint64_t rtcp_in = 0, reports_sent = 0;
  std::string error;  // the first thing that went wrong, "" when nothing did
};

class WhepPeer {
 public:
  enum class State { kOffered, kChecking, kHandshaking, kConnected, kFailed };

  // `identity`: the DTLS certificate, shared by every peer of the process (one key pair per
  // peer would cost more than the rest of a join).
  static std::unique_ptr<WhepPeer> Create(std::shared_ptr<webrtc::DtlsIdentity> identity, WhepPeerOptions options,
                                          std::string* error);
  ~WhepPeer();
  WhepPeer(const WhepPeer&) = delete;
  WhepPeer& operator=(const WhepPeer&) = delete;

  std::string Offer() const;
  // Takes the server's answer; from here Tick() runs ICE, then DTLS, then receiver reports.
  bool Answer(const std::string& sdp, std::string* error);
  int fd() const { return fd_; }
  void OnReadable();
  void Tick(std::chrono::steady_clock::time_point now);

  State state() const { return state_; }
  const WhepPeerStats& stats() const { return stats_; }

 private:
  WhepPeer(int fd, sockaddr_in local, std::shared_ptr<webrtc::DtlsIdentity> identity, WhepPeerOptions options);
  void OnDatagram(uint8_t* data, std::size_t size);
  void OnStun(const uint8_t* data, std::size_t size);
  void OnDtls(const uint8_t* data, std::size_t size);
  void OnRtp(uint8_t* data, std::size_t size);
  void AfterDtls(webrtc::DtlsEndpoint::State before);
  void SendCheck(std::chrono::steady_clock::time_point now);
  void SendReport();
  void Send(const uint8_t* data, std::size_t size);
  void Fail(const std::string& why);

  const int fd_;
  const sockaddr_in local_;
  const std::shared_ptr<webrtc::DtlsIdentity> identity_;
  const WhepPeerOptions options_;
  const std::string ufrag_, pwd_;
  const uint32_t own_ssrc_;  // ours, as the sender of receiver reports

  State state_ = State::kOffered;
  RemoteAnswer remote_;
  std::unique_ptr<webrtc::IceChecker> ice_;
  std::unique_ptr<webrtc::DtlsEndpoint> dtls_;
  rtp::SrtpContextPtr rtp_in_, rtcp_out_;
  std::chrono::steady_clock::time_point answered_at_, next_check_, next_dtls_timer_, next_report_;

  // Sequence numbers of the server's stream (RFC 3550 A.1, without the probation).
  bool seq_started_ = false;
  uint16_t max_seq_ = 0;
  uint32_t cycles_ = 0, base_seq_ = 0, server_ssrc_ = 0;
  uint64_t expected_prior_ = 0, received_prior_ = 0;
  uint64_t sample_counter_ = 0;

  WhepPeerStats stats_;
};

std::ostream& operator<<(std::ostream& os, WhepPeer::State s);

}  // namespace tilmash::whepload
