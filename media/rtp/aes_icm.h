// Which AES-128 counter mode libsrtp's AES_CM_128_* contexts use (aes_icm.cpp says why).
#pragma once

namespace tilmash::rtp {

enum class AesIcm {
  kBatched,  // ours: the key schedule set once, each packet's counter blocks in one AES-ECB call (the default)
  kLibsrtp,  // libsrtp's OpenSSL glue: an EVP AES-CTR context re-initialised with each packet's IV
};

// Process-wide, for contexts created afterwards (existing ones keep theirs). EnsureSrtpInitialised
// selects kBatched; tilmash-bench switches to kLibsrtp and back to compare. Not thread-safe with
// concurrent SrtpContext::Create. False when libsrtp refused it (a failed self-test).
bool UseAesIcm(AesIcm which);

}  // namespace tilmash::rtp
