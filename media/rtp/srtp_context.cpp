#include "rtp/srtp_context.h"

#include "rtp/hmac_sha1.h"
#include "rtp/srtp_hot_lines.h"

#include <srtp2/cipher.h>
#include <srtp2/srtp.h>
#include <sys/random.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

// Defined by whichever AES-ICM engine libsrtp was built with; its description names it.
extern "C" const srtp_cipher_type_t srtp_aes_icm_128;

namespace tilmash::rtp {

std::ostream& operator<<(std::ostream& os, SrtpSuite s) { return os << SuiteName(s); }

const char* SuiteName(SrtpSuite s) {
  switch (s) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::kAeadAes128Gcm:
      return "AEAD_AES_128_GCM";
  }
  return "?";
}

std::optional<SrtpSuite> SuiteFromName(std::string_view name) {
  if (name == "AES_CM_128_HMAC_SHA1_80") return SrtpSuite::kAesCm128HmacSha1_80;
  if (name == "AEAD_AES_128_GCM") return SrtpSuite::kAeadAes128Gcm;
  return std::nullopt;
}

std::size_t MasterKeyLength(SrtpSuite s) {
  return s == SrtpSuite::kAeadAes128Gcm ? SRTP_AES_GCM_128_KEY_LEN_WSALT : SRTP_AES_ICM_128_KEY_LEN_WSALT;
}

std::size_t TagLength(SrtpSuite s) { return s == SrtpSuite::kAeadAes128Gcm ? 16 : 10; }

static void FillRandom(uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    p += got;
    n -= std::size_t(got);
  }
}

std::vector<uint8_t> RandomMasterKey(SrtpSuite s) {
  std::vector<uint8_t> key(MasterKeyLength(s));
  FillRandom(key.data(), key.size());
  return key;
}

uint32_t RandomU32() {
  uint32_t v;
  FillRandom(reinterpret_cast<uint8_t*>(&v), sizeof v);
  return v;
}

void EnsureSrtpInitialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("srtp_init failed");
    if (!UseHmacSha1(HmacSha1::kPrecomputed)) throw std::runtime_error("libsrtp refused the precomputed HMAC-SHA1");
  });
}

std::string_view SrtpCryptoBackend() {
  const std::string_view d = srtp_aes_icm_128.description ? srtp_aes_icm_128.description : "";
  if (d.find("openssl") != std::string_view::npos) return "openssl";
  if (d.find("NSS") != std::string_view::npos || d.find("nss") != std::string_view::npos) return "nss";
  return "builtin";
}

std::unique_ptr<SrtpContext> SrtpContext::Create(Direction dir, SrtpSuite suite, std::span<const uint8_t> master_key,
                                                 uint32_t ssrc, uint32_t roc, std::string* error) {
  EnsureSrtpInitialised();
  if (master_key.size() != MasterKeyLength(suite)) {
    if (error) *error = "master key must be " + std::to_string(MasterKeyLength(suite)) + " bytes";
    return nullptr;
  }
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  if (suite == SrtpSuite::kAeadAes128Gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  }
  if (ssrc == 0) {
    policy.ssrc.type = dir == Direction::kProtect ? ssrc_any_outbound : ssrc_any_inbound;
  } else {
    policy.ssrc.type = ssrc_specific;
    policy.ssrc.value = ssrc;
  }
  policy.key = const_cast<unsigned char*>(master_key.data());
  // A receiver's replay window; a sender keeps one too (libsrtp's minimum is 64 packets) and
  // shifts it on every packet, so the sender's is the smallest: 1024 bits shifted per listener
  // packet were 2.5 % of the fan-out's profile.
  policy.window_size = dir == Direction::kProtect ? 64 : 1024;
  policy.allow_repeat_tx = 0;
  srtp_t session = nullptr;
  srtp_err_status_t st = srtp_create(&session, &policy);
  if (st != srtp_err_status_ok) {
    if (error) *error = "srtp_create failed (" + std::to_string(int(st)) + ")";
    return nullptr;
  }
  if (roc != 0 && ssrc != 0) {
    st = srtp_set_stream_roc(session, ssrc, roc);
    if (st != srtp_err_status_ok) {
      srtp_dealloc(session);
      if (error) *error = "srtp_set_stream_roc failed (" + std::to_string(int(st)) + ")";
      return nullptr;
    }
  }
  std::unique_ptr<SrtpContext> ctx(new SrtpContext(session, suite));
  if (dir == Direction::kProtect && ssrc != 0)
    ctx->hot_count_ = uint8_t(tilmash_srtp_hot_lines(session, ssrc, ctx->hot_.data(), int(ctx->hot_.size())));
  return ctx;
}

SrtpContext::~SrtpContext() { srtp_dealloc(static_cast<srtp_t>(session_)); }

int SrtpContext::Protect(uint8_t* buf, std::size_t len, std::size_t capacity) {
  // No MKI is used, so the trailer is exactly the auth tag.
  if (len + TagLength(suite_) > capacity) return -1;
  int n = int(len);
  if (srtp_protect(static_cast<srtp_t>(session_), buf, &n) != srtp_err_status_ok) return -1;
  return n;
}

int SrtpContext::Unprotect(uint8_t* buf, std::size_t len) {
  int n = int(len);
  if (srtp_unprotect(static_cast<srtp_t>(session_), buf, &n) != srtp_err_status_ok) return -1;
  return n;
}

int SrtpContext::ProtectRtcp(uint8_t* buf, std::size_t len, std::size_t capacity) {
  // SRTCP adds the E flag and index (4 bytes) and the tag.
  if (len + 4 + TagLength(suite_) > capacity) return -1;
  int n = int(len);
  if (srtp_protect_rtcp(static_cast<srtp_t>(session_), buf, &n) != srtp_err_status_ok) return -1;
  return n;
}

int SrtpContext::UnprotectRtcp(uint8_t* buf, std::size_t len) {
  int n = int(len);
  if (srtp_unprotect_rtcp(static_cast<srtp_t>(session_), buf, &n) != srtp_err_status_ok) return -1;
  return n;
}

std::optional<uint32_t> SrtpContext::Roc(uint32_t ssrc) const {
  uint32_t roc = 0;
  if (srtp_get_stream_roc(static_cast<srtp_t>(session_), ssrc, &roc) != srtp_err_status_ok) return std::nullopt;
  return roc;
}

bool SrtpContext::SetRoc(uint32_t ssrc, uint32_t roc) {
  return srtp_set_stream_roc(static_cast<srtp_t>(session_), ssrc, roc) == srtp_err_status_ok;
}

}  // namespace tilmash::rtp
