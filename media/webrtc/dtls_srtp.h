// DTLS-SRTP (RFC 5764) for one WebRTC peer over datagrams its owner moves: OpenSSL on memory
// BIOs, so one UDP socket can carry the handshakes of every peer (the owner demultiplexes by
// the peer's address and hands each datagram to its endpoint). After the handshake the peer's
// certificate is checked against the fingerprint its SDP announced, and the SRTP master keys
// come from OpenSSL's key exporter ("EXTRACTOR-dtls_srtp").
// Not thread-safe: an endpoint belongs to one thread at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtp/srtp_context.h"

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace tilmash::webrtc {

// A self-signed ECDSA P-256 certificate made at start-up, and the SSL context of both roles.
class DtlsIdentity {
 public:
  static std::shared_ptr<DtlsIdentity> Generate(std::string* error);
  ~DtlsIdentity();
  DtlsIdentity(const DtlsIdentity&) = delete;
  DtlsIdentity& operator=(const DtlsIdentity&) = delete;
  // SHA-256 fingerprint as SDP's a=fingerprint writes it: "AB:CD:...".
  const std::string& fingerprint() const { return fingerprint_; }
  SSL_CTX* context() const { return ctx_; }

 private:
  DtlsIdentity(SSL_CTX* ctx, std::string fingerprint) : ctx_(ctx), fingerprint_(std::move(fingerprint)) {}
  SSL_CTX* const ctx_;
  const std::string fingerprint_;
};

// Key || salt of each direction, as libsrtp wants them (rtp::MasterKeyLength of the suite).
struct SrtpKeys {
  rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> local;   // protects what this end sends
  std::vector<uint8_t> remote;  // unprotects what the peer sends
};

class DtlsEndpoint {
 public:
  enum class Role { kServer, kClient };
  enum class State { kHandshaking, kConnected, kFailed, kClosed };
  // `peer_fingerprint`: the hash name and value of the peer's a=fingerprint ("sha-256",
  // "AB:CD:..."); the handshake fails when its certificate does not match.
  DtlsEndpoint(std::shared_ptr<DtlsIdentity> identity, Role role, std::string peer_hash, std::string peer_fingerprint);
  ~DtlsEndpoint();
  DtlsEndpoint(const DtlsEndpoint&) = delete;
  DtlsEndpoint& operator=(const DtlsEndpoint&) = delete;

  // A client's first flight (ClientHello); a server's is its answer to one.
  State Start(std::vector<std::vector<uint8_t>>* out);
  // One datagram from the peer; what to send back is appended to `out` (datagrams <= 1200 bytes).
  State Receive(const uint8_t* data, std::size_t size, std::vector<std::vector<uint8_t>>* out);
  // Retransmits a flight whose answer is overdue (call every ~100 ms while handshaking).
  State OnTimer(std::vector<std::vector<uint8_t>>* out);
  State state() const { return state_; }
  const SrtpKeys& keys() const { return keys_; }  // once connected
  const std::string& error() const { return error_; }

 private:
  State Step(std::vector<std::vector<uint8_t>>* out);
  State Fail(const std::string& why);
  void Drain(std::vector<std::vector<uint8_t>>* out);
  bool Connected();

  const std::shared_ptr<DtlsIdentity> identity_;
  const Role role_;
  const std::string peer_hash_, peer_fingerprint_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  State state_ = State::kHandshaking;
  SrtpKeys keys_;
  std::string error_;
};

// "AB:CD:..." of the certificate's digest with `hash` ("sha-256", "sha-1", ...); "" when unknown.
std::string CertificateFingerprint(const void* x509, const std::string& hash);

}  // namespace tilmash::webrtc
