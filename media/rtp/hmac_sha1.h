// Which HMAC-SHA1 libsrtp's AES_CM_128_HMAC_SHA1_80 contexts use (hmac_sha1.cpp says why).
#pragma once

namespace tilmash::rtp {

enum class HmacSha1 {
  kPrecomputed,  // ours: the key's inner/outer SHA-1 states computed once per key (the default)
  kLibsrtp,      // libsrtp's OpenSSL glue: the HMAC re-initialised per packet (for comparisons)
};

// Process-wide, for contexts created afterwards (existing ones keep theirs). EnsureSrtpInitialised
// selects kPrecomputed; tilmash-bench switches to kLibsrtp and back to compare. Not thread-safe
// with concurrent SrtpContext::Create. False when libsrtp refused it (a failed self-test).
bool UseHmacSha1(HmacSha1 which);

}  // namespace tilmash::rtp
