// HMAC-SHA1 for libsrtp's AES_CM_128_HMAC_SHA1_80, with the key's inner and outer SHA-1 states
// computed once per key (RFC 2104 section 4: "precomputed values") instead of once per packet.
//
// Why: libsrtp's OpenSSL glue (crypto/hash/hmac_ossl.c, OpenSSL 3's EVP_MAC) re-initialises the
// HMAC for every packet; OpenSSL 3 then duplicates the provider's digest context twice per
// packet (inner and outer, each an allocation and a free). Here a packet costs two plain copies
// of a SHA_CTX and three SHA-1 blocks in OpenSSL's own assembly (SHA-NI / AVX2 where the CPU has
// them). The fan-out protects every packet once per listener, so this is per listener packet.
//
// libsrtp's public hook (srtp_replace_auth_type) runs the stock implementation's test vectors
// against this one before it takes over.
#define OPENSSL_SUPPRESS_DEPRECATED  // SHA1_Init/Update/Final: the low-level API is the fast one
#include "rtp/hmac_sha1.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/srtp.h>

#include <array>
#include <cstring>
#include <new>

// libsrtp's own HMAC-SHA1 (the OpenSSL glue), to put back for a comparison.
extern "C" const srtp_auth_type_t srtp_hmac;

namespace tilmash::rtp {
namespace {

constexpr int kBlock = SHA_CBLOCK;  // 64
constexpr int kDigest = SHA_DIGEST_LENGTH;

struct PrecomputedHmac {
  srtp_auth_t auth;  // first: libsrtp hands back this pointer to dealloc
  SHA_CTX inner;     // state after (key ^ ipad)
  SHA_CTX outer;     // state after (key ^ opad)
  SHA_CTX work;      // the packet being authenticated
};

PrecomputedHmac* StateOf(void* state) { return static_cast<PrecomputedHmac*>(state); }

srtp_err_status_t Alloc(srtp_auth_t** a, int key_len, int out_len);

srtp_err_status_t Dealloc(srtp_auth_t* a) {
  auto* h = reinterpret_cast<PrecomputedHmac*>(a);
  OPENSSL_cleanse(h, sizeof *h);  // the pads are key material
  delete h;
  return srtp_err_status_ok;
}

srtp_err_status_t Init(void* state, const uint8_t* key, int key_len) {
  if (key_len < 0) return srtp_err_status_bad_param;
  PrecomputedHmac* h = StateOf(state);
  std::array<uint8_t, kBlock> k{};
  if (key_len > kBlock) {
    SHA1(key, std::size_t(key_len), k.data());
  } else {
    std::memcpy(k.data(), key, std::size_t(key_len));
  }
  std::array<uint8_t, kBlock> ipad{}, opad{};
  for (int i = 0; i < kBlock; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  const bool ok = SHA1_Init(&h->inner) == 1 && SHA1_Update(&h->inner, ipad.data(), kBlock) == 1 &&
                  SHA1_Init(&h->outer) == 1 && SHA1_Update(&h->outer, opad.data(), kBlock) == 1;
  OPENSSL_cleanse(k.data(), k.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  h->work = h->inner;
  return ok ? srtp_err_status_ok : srtp_err_status_init_fail;
}

srtp_err_status_t Start(void* state) {
  PrecomputedHmac* h = StateOf(state);
  h->work = h->inner;
  return srtp_err_status_ok;
}

srtp_err_status_t Update(void* state, const uint8_t* message, int octets) {
  if (octets < 0) return srtp_err_status_bad_param;
  return SHA1_Update(&StateOf(state)->work, message, std::size_t(octets)) == 1 ? srtp_err_status_ok
                                                                               : srtp_err_status_auth_fail;
}

srtp_err_status_t Compute(void* state, const uint8_t* message, int octets, int tag_len, uint8_t* tag) {
  if (octets < 0 || tag_len < 0 || tag_len > kDigest) return srtp_err_status_bad_param;
  PrecomputedHmac* h = StateOf(state);
  uint8_t inner_digest[kDigest];
  uint8_t digest[kDigest];
  if (SHA1_Update(&h->work, message, std::size_t(octets)) != 1 || SHA1_Final(inner_digest, &h->work) != 1) {
    return srtp_err_status_auth_fail;
  }
  SHA_CTX outer = h->outer;
  if (SHA1_Update(&outer, inner_digest, kDigest) != 1 || SHA1_Final(digest, &outer) != 1) {
    return srtp_err_status_auth_fail;
  }
  std::memcpy(tag, digest, std::size_t(tag_len));
  return srtp_err_status_ok;
}

// RFC 2202 test case 1 (libsrtp also runs the stock implementation's vectors against this one).
const uint8_t kTestKey[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                              0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
const uint8_t kTestData[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
const uint8_t kTestTag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
                              0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const srtp_auth_test_case_t kTestCase = {20, kTestKey, 8, kTestData, 20, kTestTag, nullptr};

const srtp_auth_type_t kPrecomputedHmacSha1 = {
    .alloc = Alloc,
    .dealloc = Dealloc,
    .init = Init,
    .compute = Compute,
    .update = Update,
    .start = Start,
    .description = "HMAC-SHA1, key pads precomputed (tilmash, OpenSSL SHA-1)",
    .test_data = &kTestCase,
    .id = SRTP_HMAC_SHA1,
};

srtp_err_status_t Alloc(srtp_auth_t** a, int key_len, int out_len) {
  if (out_len < 0 || out_len > kDigest) return srtp_err_status_bad_param;
  auto* h = new (std::nothrow) PrecomputedHmac{};
  if (h == nullptr) return srtp_err_status_alloc_fail;
  h->auth.type = &kPrecomputedHmacSha1;
  h->auth.state = h;
  h->auth.out_len = out_len;
  h->auth.key_len = key_len;
  h->auth.prefix_len = 0;
  *a = &h->auth;
  return srtp_err_status_ok;
}

}  // namespace

bool UseHmacSha1(HmacSha1 which) {
  const srtp_auth_type_t* type = which == HmacSha1::kPrecomputed ? &kPrecomputedHmacSha1 : &srtp_hmac;
  return srtp_replace_auth_type(type, SRTP_HMAC_SHA1) == srtp_err_status_ok;
}

}  // namespace tilmash::rtp
