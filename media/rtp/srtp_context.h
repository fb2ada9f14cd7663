// The one class that wraps libsrtp (CONVENTIONS: one wrapper per C library).
// A context protects (sender) or unprotects (receiver) one SRTP stream.
// Not thread-safe: each context belongs to one thread at a time. Never logs key material.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tilmash::rtp {

enum class SrtpSuite { kAesCm128HmacSha1_80, kAeadAes128Gcm };
std::ostream& operator<<(std::ostream& os, SrtpSuite s);
// RFC 4568 name, e.g. "AES_CM_128_HMAC_SHA1_80".
const char* SuiteName(SrtpSuite s);
std::optional<SrtpSuite> SuiteFromName(std::string_view name);
// Master key + salt length for the suite (30 for AES_CM_128, 28 for AEAD_AES_128_GCM).
std::size_t MasterKeyLength(SrtpSuite s);
// Bytes the protect step appends (auth tag).
std::size_t TagLength(SrtpSuite s);

// Random key||salt from the kernel CSPRNG (getrandom).
std::vector<uint8_t> RandomMasterKey(SrtpSuite s);
uint32_t RandomU32();

// Process-wide libsrtp initialisation; cheap after the first call.
void EnsureSrtpInitialised();
// The crypto backend libsrtp was built with ("openssl", "nss" or "builtin"): the fan-out's
// per-listener cost depends on it (OpenSSL: 0.43 us per protect, NSS: 9.6 us).
std::string_view SrtpCryptoBackend();

class SrtpContext {
 public:
  enum class Direction { kProtect, kUnprotect };
  // ssrc: the stream's SSRC (0 = any inbound SSRC, receiver only). roc: initial rollover counter.
  static std::unique_ptr<SrtpContext> Create(Direction dir, SrtpSuite suite, std::span<const uint8_t> master_key,
                                             uint32_t ssrc, uint32_t roc = 0, std::string* error = nullptr);
  ~SrtpContext();
  SrtpContext(const SrtpContext&) = delete;
  SrtpContext& operator=(const SrtpContext&) = delete;

  // In place. `buf` must have room for len + TagLength(). Returns the new length, or -1.
  int Protect(uint8_t* buf, std::size_t len, std::size_t capacity);
  // In place. Returns the plain RTP length, or -1 on auth/replay failure.
  int Unprotect(uint8_t* buf, std::size_t len);
  // The same for SRTCP (RFC 3711 3.4): the stream's RTCP shares its master key.
  int ProtectRtcp(uint8_t* buf, std::size_t len, std::size_t capacity);
  int UnprotectRtcp(uint8_t* buf, std::size_t len);

  // The rollover counter of the stream with this SSRC: for a sender, the ROC its next packet
  // continues from; for a receiver, the ROC of the highest packet accepted. SetRoc must come
  // before the stream's first packet (a new key taking over a running stream).
  std::optional<uint32_t> Roc(uint32_t ssrc) const;
  bool SetRoc(uint32_t ssrc, uint32_t roc);

  SrtpSuite suite() const { return suite_; }

  // Asks the CPU to fetch what the next Protect will read (a sender's libsrtp state, found once
  // at Create: srtp_hot_lines.c). Called a listener ahead by the fan-out, it overlaps the cache
  // misses of cold contexts. Does nothing for receivers or an unknown layout.
  void Prefetch() const {
    for (uint8_t i = 0; i < hot_count_; ++i) __builtin_prefetch(hot_[i]);
  }
  // The context object itself (the list Prefetch reads), a stage earlier.
  void PrefetchSelf() const {
    const char* p = reinterpret_cast<const char*>(this);
    for (std::size_t off = 0; off < sizeof *this; off += 64) __builtin_prefetch(p + off);
  }
  int hot_lines() const { return hot_count_; }

 private:
  SrtpContext(void* session, SrtpSuite suite) : session_(session), suite_(suite) {}
  void* session_;  // srtp_t
  SrtpSuite suite_;
  uint8_t hot_count_ = 0;
  std::array<const void*, 40> hot_{};  // cache lines Protect reads (Prefetch)
};

using SrtpContextPtr = std::unique_ptr<SrtpContext>;

}  // namespace tilmash::rtp
