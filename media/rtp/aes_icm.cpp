// AES-128 in SRTP's counter mode (RFC 3711 section 4.1.1) for libsrtp's AES_CM_128 contexts, with
// OpenSSL doing the AES: the key is set once per context, and each packet's keystream is its
// counter blocks encrypted by one AES-ECB call, XORed in here.
//
// Why: libsrtp's OpenSSL glue (crypto/cipher/aes_icm_ossl.c) sets every packet's IV with
// EVP_EncryptInit_ex on an AES-CTR context and ends it with EVP_EncryptFinal_ex. In OpenSSL 3
// that init goes through the provider's parameter machinery (OSSL_PARAM lookups for the IV
// length, the cipher re-fetched) - more than the AES itself for an 80-byte packet. Profiled at
// 10,000 listeners it was about an eighth of the daemon's CPU. Here a packet costs one
// EVP_EncryptUpdate of its counter blocks (AES-NI where the CPU has it) and an XOR.
//
// libsrtp's public hook (srtp_replace_cipher_type) runs the stock implementation's test vector
// (RFC 3711 B.2) against this one before it takes over; receivers and key derivation use it too.
#include "rtp/aes_icm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <cstring>
#include <new>

// libsrtp's own AES-128 ICM (the OpenSSL glue) and its test vector.
extern "C" const srtp_cipher_type_t srtp_aes_icm_128;
extern "C" const srtp_cipher_test_case_t srtp_aes_icm_128_test_case_0;

namespace tilmash::rtp {
namespace {

constexpr int kKey = 16;   // AES-128
constexpr int kSalt = 14;  // SRTP's session salt
constexpr int kBlock = 16;
constexpr int kBatchBlocks = 32;  // 512 bytes of keystream per ECB call (an audio packet is one call)

struct BatchedIcm {
  srtp_cipher_t cipher;     // first: libsrtp hands back this pointer to dealloc
  uint8_t offset[kBlock];   // the salt, its last two octets zero
  uint8_t counter[kBlock];  // this packet's first counter block (offset XOR IV)
  uint32_t next_block = 0;  // the block the next keystream octet comes from
  uint8_t spare[kBlock];    // keystream left over from a partial block
  int spare_len = 0;
  EVP_CIPHER_CTX* ecb = nullptr;
  const void* provider = nullptr;  // OpenSSL's AES context behind `ecb` (key schedule), for prefetching; null: unknown
};

// OpenSSL 3's EVP_CIPHER_CTX hides where the provider keeps the key schedule (its `algctx`, a
// separate allocation): with thousands of contexts that is one more cache miss per packet, the
// largest left. It is only ever prefetched (a prefetch of a wrong address is harmless), and only
// found for the OpenSSL series whose layout this was checked against (3.0: algctx at 0xa8, the
// fetched cipher at 0xb0), and only when the word at 0xb0 is the context's cipher as OpenSSL's
// own accessor returns it.
const void* ProviderContextOf(const EVP_CIPHER_CTX* ctx) {
  if (OPENSSL_VERSION_MAJOR != 3 || OPENSSL_VERSION_MINOR != 0) return nullptr;
  if ((OpenSSL_version_num() >> 20) != 0x300) return nullptr;  // 0xMNN00PP0L: major 3, minor 0 at run time
  const auto* words = reinterpret_cast<const void* const*>(ctx);
  if (words[0xb0 / sizeof(void*)] != EVP_CIPHER_CTX_get0_cipher(ctx)) return nullptr;
  return words[0xa8 / sizeof(void*)];
}

BatchedIcm* StateOf(void* state) { return static_cast<BatchedIcm*>(state); }

srtp_err_status_t Alloc(srtp_cipher_t** c, int key_len, int tag_len);

srtp_err_status_t Dealloc(srtp_cipher_t* c) {
  auto* s = reinterpret_cast<BatchedIcm*>(c);
  EVP_CIPHER_CTX_free(s->ecb);
  OPENSSL_cleanse(s, sizeof *s);  // salt and keystream
  delete s;
  return srtp_err_status_ok;
}

srtp_err_status_t Init(void* state, const uint8_t* key) {
  BatchedIcm* s = StateOf(state);
  std::memset(s->offset, 0, sizeof s->offset);
  std::memcpy(s->offset, key + kKey, kSalt);
  std::memcpy(s->counter, s->offset, kBlock);
  s->next_block = 0;
  s->spare_len = 0;
  if (EVP_EncryptInit_ex(s->ecb, EVP_aes_128_ecb(), nullptr, key, nullptr) != 1) return srtp_err_status_init_fail;
  EVP_CIPHER_CTX_set_padding(s->ecb, 0);
  s->provider = ProviderContextOf(s->ecb);
  return srtp_err_status_ok;
}

srtp_err_status_t SetIv(void* state, uint8_t* iv, srtp_cipher_direction_t) {
  BatchedIcm* s = StateOf(state);
  for (int i = 0; i < kBlock; ++i) s->counter[i] = s->offset[i] ^ iv[i];
  s->next_block = 0;
  s->spare_len = 0;
  return srtp_err_status_ok;
}

// Keystream blocks `first`.. of this packet into `out` (`n` blocks): the counter's last two
// octets count blocks (RFC 3711: at most 2^16 blocks per packet), as libsrtp's own ICM does.
bool Keystream(BatchedIcm* s, uint32_t first, int n, uint8_t* out) {
  uint8_t blocks[kBatchBlocks * kBlock];
  const uint16_t base = uint16_t((s->counter[14] << 8) | s->counter[15]);
  for (int b = 0; b < n; ++b) {
    uint8_t* blk = blocks + b * kBlock;
    std::memcpy(blk, s->counter, kBlock - 2);
    const uint16_t ctr = uint16_t(base + first + uint32_t(b));
    blk[14] = uint8_t(ctr >> 8);
    blk[15] = uint8_t(ctr);
  }
  int len = 0;
  return EVP_EncryptUpdate(s->ecb, out, &len, blocks, n * kBlock) == 1 && len == n * kBlock;
}

srtp_err_status_t Encrypt(void* state, uint8_t* buf, unsigned int* octets) {
  BatchedIcm* s = StateOf(state);
  unsigned int left = *octets;
  if ((uint64_t(s->next_block) * kBlock + left) > (uint64_t(1) << 16) * kBlock) return srtp_err_status_terminus;
  // What a previous call left of its last block first.
  const int from_spare = std::min<int>(s->spare_len, int(left));
  for (int i = 0; i < from_spare; ++i) buf[i] ^= s->spare[kBlock - s->spare_len + i];
  s->spare_len -= from_spare;
  buf += from_spare;
  left -= unsigned(from_spare);
  uint8_t stream[kBatchBlocks * kBlock];
  while (left > 0) {
    const int n = std::min<int>(kBatchBlocks, int((left + kBlock - 1) / kBlock));
    if (!Keystream(s, s->next_block, n, stream)) return srtp_err_status_cipher_fail;
    s->next_block += uint32_t(n);
    const unsigned int use = std::min<unsigned int>(left, unsigned(n * kBlock));
    for (unsigned int i = 0; i < use; ++i) buf[i] ^= stream[i];
    if (use < unsigned(n * kBlock)) {  // a partial last block: the rest for the next call
      s->spare_len = int(unsigned(n * kBlock) - use);
      std::memcpy(s->spare + kBlock - s->spare_len, stream + use, std::size_t(s->spare_len));
    }
    buf += use;
    left -= use;
  }
  return srtp_err_status_ok;
}

const srtp_cipher_type_t kBatchedAesIcm128 = {
    .alloc = Alloc,
    .dealloc = Dealloc,
    .init = Init,
    .set_aad = nullptr,
    .encrypt = Encrypt,
    .decrypt = Encrypt,
    .set_iv = SetIv,
    .get_tag = nullptr,
    .description = "AES-128 counter mode, key set once, counter blocks in one AES-ECB call (tilmash, OpenSSL AES)",
    .test_data = &srtp_aes_icm_128_test_case_0,
    .id = SRTP_AES_ICM_128,
};

srtp_err_status_t Alloc(srtp_cipher_t** c, int key_len, int) {
  if (key_len != kKey + kSalt) return srtp_err_status_bad_param;  // AES-128 only (the 192/256 types stay libsrtp's)
  auto* s = new (std::nothrow) BatchedIcm{};
  if (s == nullptr) return srtp_err_status_alloc_fail;
  s->ecb = EVP_CIPHER_CTX_new();
  if (s->ecb == nullptr) {
    delete s;
    return srtp_err_status_alloc_fail;
  }
  s->cipher.type = &kBatchedAesIcm128;
  s->cipher.state = s;
  s->cipher.key_len = key_len;
  s->cipher.algorithm = SRTP_AES_ICM_128;
  *c = &s->cipher;
  return srtp_err_status_ok;
}

}  // namespace

bool UseAesIcm(AesIcm which) {
  const srtp_cipher_type_t* type = which == AesIcm::kBatched ? &kBatchedAesIcm128 : &srtp_aes_icm_128;
  return srtp_replace_cipher_type(type, SRTP_AES_ICM_128) == srtp_err_status_ok;
}

}  // namespace tilmash::rtp

// For srtp_hot_lines.c: a batched context's type, and the memory its Encrypt reads - the state,
// OpenSSL's EVP context (three lines) and, when known, the provider's context with the key
// schedule (eight lines: its fields and the 176 bytes of round keys).
// And for libsrtp's own OpenSSL contexts (AES-GCM): the provider's context behind one.
extern "C" const void* tilmash_evp_provider_context(const void* evp) {
  return tilmash::rtp::ProviderContextOf(static_cast<const EVP_CIPHER_CTX*>(evp));
}
extern "C" const void* tilmash_batched_icm_type() { return &tilmash::rtp::kBatchedAesIcm128; }
extern "C" int tilmash_batched_icm_regions(const void* state, const void** at, std::size_t* size, int max) {
  const auto* s = static_cast<const tilmash::rtp::BatchedIcm*>(state);
  const void* regions[3] = {s, s->ecb, s->provider};
  const std::size_t sizes[3] = {sizeof *s, 3 * 64, 8 * 64};
  int n = 0;
  for (int i = 0; i < 3 && n < max; ++i)
    if (regions[i] != nullptr) {
      at[n] = regions[i];
      size[n++] = sizes[i];
    }
  return n;
}
