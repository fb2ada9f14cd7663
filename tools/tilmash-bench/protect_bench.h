// The SRTP protect step alone, in this process: what one listener packet costs in crypto with
// libsrtp's own HMAC-SHA1 glue (re-initialised per packet), with the precomputed HMAC the
// daemon uses (media/rtp/hmac_sha1.cpp), and with AEAD_AES_128_GCM. Contexts are many (one per
// listener) and taken in turn, as the fan-out does, so caches see a realistic working set.
#pragma once

namespace tilmash::bench {

struct ProtectResult {
  bool ok = false;
  int contexts = 0, payload_bytes = 0;
  double stock_us = 0, precomputed_us = 0, gcm_us = 0;  // median per packet over the rounds
};

ProtectResult RunProtectBench(int contexts, int payload_bytes, int rounds);
void PrintProtect(const ProtectResult& r);

}  // namespace tilmash::bench
