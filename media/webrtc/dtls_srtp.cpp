#include "webrtc/dtls_srtp.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

namespace tilmash::webrtc {

namespace {

constexpr std::size_t kMtu = 1200;  // what WebRTC peers assume for DTLS datagrams
constexpr std::size_t kRecordHeader = 13;

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "no OpenSSL error queued";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return s;
}

// SDP's hash names ("sha-256") are OpenSSL's without the dash ("SHA256").
const EVP_MD* Digest(const std::string& hash) {
  std::string name;
  for (char c : hash)
    if (c != '-') name += char(std::toupper(static_cast<unsigned char>(c)));
  return EVP_get_digestbyname(name.c_str());
}

}  // namespace

std::string CertificateFingerprint(const void* x509, const std::string& hash) {
  const EVP_MD* md = Digest(hash);
  if (!md || !x509) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(static_cast<const X509*>(x509), md, digest, &n) != 1) return "";
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    if (i) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::shared_ptr<DtlsIdentity> DtlsIdentity::Generate(std::string* error) {
  auto fail = [&](const std::string& what) -> std::shared_ptr<DtlsIdentity> {
    if (error) *error = what + ": " + OpenSslError();
    return nullptr;
  };
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return fail("cannot make the DTLS key");
  X509* cert = X509_new();
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tilmash"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  SSL_CTX* ctx = nullptr;
  std::string fingerprint;
  bool ok = X509_sign(cert, key, EVP_sha256()) > 0;
  if (ok) {
    ctx = SSL_CTX_new(DTLS_method());
    ok = ctx && SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
         SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
         // 0 is success here. GCM first: cheaper per packet than HMAC-SHA1 (docs/architecture.md).
         SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") == 0;
    fingerprint = CertificateFingerprint(cert, "sha-256");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok || fingerprint.empty()) {
    SSL_CTX_free(ctx);
    return fail("cannot make the DTLS certificate");
  }
  // Self-signed peers: the certificate is checked against the SDP's fingerprint instead.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, [](int, X509_STORE_CTX*) { return 1; });
  SSL_CTX_set_read_ahead(ctx, 1);
  return std::shared_ptr<DtlsIdentity>(new DtlsIdentity(ctx, std::move(fingerprint)));
}

DtlsIdentity::~DtlsIdentity() { SSL_CTX_free(ctx_); }

DtlsEndpoint::DtlsEndpoint(std::shared_ptr<DtlsIdentity> identity, Role role, std::string peer_hash,
                           std::string peer_fingerprint)
    : identity_(std::move(identity)),
      role_(role),
      peer_hash_(std::move(peer_hash)),
      peer_fingerprint_(Upper(std::move(peer_fingerprint))) {
  ssl_ = SSL_new(identity_->context());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !in_ || !out_) {
    BIO_free(in_);
    BIO_free(out_);
    in_ = out_ = nullptr;
    Fail("cannot start DTLS");
    return;
  }
  BIO_set_mem_eof_return(in_, -1);  // empty: "try again", not end of stream
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(ssl_, kMtu - 28);  // IPv4 + UDP headers
  DTLS_set_link_mtu(ssl_, kMtu);
  if (role_ == Role::kServer)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

DtlsEndpoint::~DtlsEndpoint() { SSL_free(ssl_); }

DtlsEndpoint::State DtlsEndpoint::Fail(const std::string& why) {
  if (state_ == State::kHandshaking || state_ == State::kConnected) {
    state_ = State::kFailed;
    error_ = why;
  }
  return state_;
}

DtlsEndpoint::State DtlsEndpoint::Start(std::vector<std::vector<uint8_t>>* out) {
  if (!ssl_) return state_;
  return Step(out);
}

DtlsEndpoint::State DtlsEndpoint::Receive(const uint8_t* data, std::size_t size,
                                          std::vector<std::vector<uint8_t>>* out) {
  if (!ssl_ || state_ == State::kFailed || state_ == State::kClosed) return state_;
  if (BIO_write(in_, data, int(size)) != int(size)) return Fail("cannot queue a DTLS datagram");
  return Step(out);
}

DtlsEndpoint::State DtlsEndpoint::OnTimer(std::vector<std::vector<uint8_t>>* out) {
  if (!ssl_ || state_ != State::kHandshaking) return state_;
  if (DTLSv1_handle_timeout(ssl_) < 0) return Fail("DTLS handshake timed out: " + OpenSslError());
  Drain(out);
  return state_;
}

DtlsEndpoint::State DtlsEndpoint::Step(std::vector<std::vector<uint8_t>>* out) {
  if (state_ == State::kHandshaking) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      if (!Connected()) {
        Drain(out);
        return state_;
      }
    } else {
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        Drain(out);  // the alert, if any
        return Fail("DTLS handshake failed: " + OpenSslError());
      }
    }
  }
  if (state_ == State::kConnected) {
    // After the handshake only alerts (a close) or a retransmitted last flight come: read them.
    unsigned char sink[2048];
    for (;;) {
      const int r = SSL_read(ssl_, sink, sizeof sink);
      if (r > 0) continue;  // application data: not used by WebRTC audio
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_ZERO_RETURN) {
        state_ = State::kClosed;
        error_ = "the peer closed DTLS";
      } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        Fail("DTLS failed: " + OpenSslError());
      }
      break;
    }
  }
  Drain(out);
  return state_;
}

bool DtlsEndpoint::Connected() {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  const std::string seen = CertificateFingerprint(peer, peer_hash_);
  X509_free(peer);
  if (seen.empty() || seen != peer_fingerprint_) {
    Fail("the peer's DTLS certificate does not match the fingerprint in its SDP");
    return false;
  }
  const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl_);
  std::size_t key = 16, salt = 0;
  if (profile && profile->id == SRTP_AES128_CM_SHA1_80) {
    keys_.suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
    salt = 14;
  } else if (profile && profile->id == SRTP_AEAD_AES_128_GCM) {
    keys_.suite = rtp::SrtpSuite::kAeadAes128Gcm;
    salt = 12;
  } else {
    Fail("the peer agreed no SRTP profile we support (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)");
    return false;
  }
  std::vector<uint8_t> m(2 * (key + salt));
  static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
    Fail("cannot export the SRTP keys: " + OpenSslError());
    return false;
  }
  // RFC 5764 4.2: client key, server key, client salt, server salt.
  auto take = [&](std::size_t k, std::size_t s) {
    std::vector<uint8_t> v(m.begin() + long(k), m.begin() + long(k + key));
    v.insert(v.end(), m.begin() + long(s), m.begin() + long(s + salt));
    return v;
  };
  std::vector<uint8_t> client = take(0, 2 * key), server = take(key, 2 * key + salt);
  if (role_ == Role::kServer) std::swap(client, server);  // local first: what this end sends
  keys_.local = std::move(client);
  keys_.remote = std::move(server);
  state_ = State::kConnected;
  return true;
}

void DtlsEndpoint::Drain(std::vector<std::vector<uint8_t>>* out) {
  if (!out_) return;
  const int pending = int(BIO_ctrl_pending(out_));
  if (pending <= 0) return;
  std::vector<uint8_t> bytes(static_cast<std::size_t>(pending));
  const int n = BIO_read(out_, bytes.data(), pending);
  if (n <= 0) return;
  bytes.resize(static_cast<std::size_t>(n));
  // Whole records, packed into datagrams of at most kMtu bytes.
  std::size_t pos = 0;
  std::vector<uint8_t> datagram;
  while (pos + kRecordHeader <= bytes.size()) {
    const std::size_t len = kRecordHeader + (std::size_t(bytes[pos + 11]) << 8 | bytes[pos + 12]);
    const std::size_t end = std::min(bytes.size(), pos + len);
    if (!datagram.empty() && datagram.size() + (end - pos) > kMtu) out->push_back(std::move(datagram)), datagram = {};
    datagram.insert(datagram.end(), bytes.begin() + long(pos), bytes.begin() + long(end));
    pos = end;
  }
  if (!datagram.empty()) out->push_back(std::move(datagram));
}

}  // namespace tilmash::webrtc
