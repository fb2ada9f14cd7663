// WebRTC viewers on one shared UDP port (as mediasoup's WebRtcServer or LiveKit's single port):
// this is the lite ICE agent (RFC 8445 2.5) and the DTLS server of every viewer. One thread
// reads the port and sorts each datagram by its first byte and its source address:
//   STUN  -> the connectivity check is answered (libnice's STUN code); a valid check also
//            refreshes the viewer's consent (RFC 7675) and tells where the viewer is
//   DTLS  -> the viewer's handshake (OpenSSL); once it is done and the certificate matches the
//            offer's fingerprint, `connected` hands the address and the SRTP keys to the owner,
//            who makes the viewer a listener of the fan-out sending from this same socket
//   SRTCP -> receiver reports read (loss, jitter); NACK and PLI ignored (audio)
// A viewer whose checks stop for consent_timeout, or that is not connected within
// connect_timeout, or whose DTLS fails or closes, is over; its owner ends it.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "fanout/port_range.h"
#include "webrtc/dtls_srtp.h"
#include "webrtc/ice_lite.h"

namespace tilmash::webrtc {

struct WebrtcServerOptions {
  std::string bind_host = "127.0.0.1";  // the IPv4 address the port is bound on
  uint16_t port = 0;                    // 0: from `ports`, else any
  std::shared_ptr<fanout::PortAllocator> ports;
  // The address viewers are told to send to (a=candidate); "" = bind_host. For a server behind
  // 1:1 NAT: its public address (--webrtc-public-ip).
  std::string public_ip;
  std::chrono::milliseconds consent_timeout{30000};
  std::chrono::milliseconds connect_timeout{30000};
};

// What a viewer's offer said about itself.
struct PeerOffer {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_hash = "sha-256", fingerprint;
};

// The receiver reports of one viewer (RFC 3550 6.4.2), the latest.
struct PeerReport {
  uint64_t rtcp_packets = 0;      // SRTCP packets accepted from it
  uint64_t receiver_reports = 0;  // report blocks about our stream
  double fraction_lost = 0;       // 0..1, of the last report
  int64_t cumulative_lost = 0;
  uint32_t jitter_samples = 0;  // interarrival jitter, in 48 kHz samples
};

// Reads the report blocks of a (decrypted) compound RTCP packet into `report`.
void ReadReceiverReports(const uint8_t* rtcp, std::size_t size, PeerReport* report);

class WebrtcPeer {
 public:
  // Once, on the server's thread: the viewer's address and keys. Must not block.
  using Connected = std::function<void(const sockaddr_in& to, const SrtpKeys& keys)>;
  WebrtcPeer(PeerOffer offer, std::string ufrag, std::string pwd, Connected connected)
      : offer_(std::move(offer)), ufrag_(std::move(ufrag)), pwd_(std::move(pwd)), connected_(std::move(connected)) {}
  const std::string& ufrag() const { return ufrag_; }  // ours, for the answer
  const std::string& pwd() const { return pwd_; }
  bool over() const { return over_.load(); }
  std::string why_over() const;
  PeerReport report() const;

 private:
  friend class WebrtcServer;
  void End(const std::string& why);
  const PeerOffer offer_;
  const std::string ufrag_, pwd_;
  Connected connected_;  // the server's thread, under its lock
  std::atomic<bool> over_{false};
  mutable std::mutex mu_;  // why_ and report_
  std::string why_;
  PeerReport report_;
  // The server's thread, under its lock.
  std::chrono::steady_clock::time_point admitted_, last_check_;
  bool has_address_ = false, nominated_ = false;
  sockaddr_in address_{};
  std::unique_ptr<DtlsEndpoint> dtls_;
  rtp::SrtpContextPtr rtcp_in_;
};

struct WebrtcServerStats {
  uint64_t checks_answered = 0, checks_refused = 0;  // STUN
  uint64_t handshakes = 0, handshakes_failed = 0;    // DTLS
  uint64_t rtcp_packets = 0, rtcp_refused = 0;       // SRTCP from viewers
  uint64_t dropped = 0;                              // from nobody we know, or not STUN/DTLS/RTCP
  uint64_t peers = 0;
};

class WebrtcServer {
 public:
  static std::unique_ptr<WebrtcServer> Create(const WebrtcServerOptions& options, std::string* error);
  ~WebrtcServer();
  WebrtcServer(const WebrtcServer&) = delete;
  WebrtcServer& operator=(const WebrtcServer&) = delete;

  // A viewer to expect: its ICE credentials are made here (for the answer).
  std::shared_ptr<WebrtcPeer> Admit(const PeerOffer& offer, WebrtcPeer::Connected connected);
  // The viewer is gone: nothing of it runs after this returns.
  void Forget(const std::shared_ptr<WebrtcPeer>& peer);

  int socket() const { return fd_; }  // the fan-out sends viewers' packets from it
  uint16_t port() const { return port_; }
  const std::string& candidate_ip() const { return candidate_ip_; }
  const std::string& fingerprint() const { return identity_->fingerprint(); }
  WebrtcServerStats Stats() const;

 private:
  WebrtcServer(int fd, uint16_t port, const WebrtcServerOptions& options, std::shared_ptr<DtlsIdentity> identity);
  void Run();
  void OnDatagram(const uint8_t* data, std::size_t size, const sockaddr_in& from);
  void OnStun(const uint8_t* data, std::size_t size, const sockaddr_in& from);
  void OnDtls(WebrtcPeer& peer, const uint8_t* data, std::size_t size);
  void OnRtcp(WebrtcPeer& peer, const uint8_t* data, std::size_t size);
  void Tick(std::chrono::steady_clock::time_point now);
  void Send(const uint8_t* data, std::size_t size, const sockaddr_in& to);
  WebrtcPeer* PeerAt(const sockaddr_in& from);

  const int fd_;
  const uint16_t port_;
  const WebrtcServerOptions options_;
  const std::string candidate_ip_;
  const std::shared_ptr<DtlsIdentity> identity_;
  IceResponder ice_;  // the server's thread only

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<WebrtcPeer>> by_ufrag_;
  std::unordered_map<uint64_t, WebrtcPeer*> by_address_;  // ip << 16 | port
  WebrtcServerStats stats_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last
};

}  // namespace tilmash::webrtc
