#include "protect_bench.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "rtp/hmac_sha1.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "stats.h"

namespace tilmash::bench {
namespace {

// Median microseconds per Protect over `rounds` rounds, each one packet through every context.
double Measure(rtp::SrtpSuite suite, rtp::HmacSha1 hmac, int contexts, int payload_bytes, int rounds, bool* ok) {
  rtp::EnsureSrtpInitialised();
  if (!rtp::UseHmacSha1(hmac)) {
    *ok = false;
    return 0;
  }
  std::vector<std::unique_ptr<rtp::SrtpContext>> ctx;
  ctx.reserve(std::size_t(contexts));
  for (int i = 0; i < contexts; ++i) {
    auto c = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, suite, rtp::RandomMasterKey(suite),
                                      0x20000000u + uint32_t(i));
    if (!c) {
      *ok = false;
      return 0;
    }
    ctx.push_back(std::move(c));
  }
  rtp::UseHmacSha1(rtp::HmacSha1::kPrecomputed);  // the process default again
  const std::size_t len = rtp::kMinHeader + std::size_t(payload_bytes);
  std::vector<uint8_t> packet(len + 32);
  std::vector<double> per_packet;
  for (int r = 0; r < rounds + 1; ++r) {  // round 0 warms up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < contexts; ++i) {
      rtp::WriteHeader(packet.data(), 96, false, uint16_t(r), uint32_t(r) * 960u, 0x20000000u + uint32_t(i));
      std::memset(packet.data() + rtp::kMinHeader, 0x5A, std::size_t(payload_bytes));
      if (ctx[std::size_t(i)]->Protect(packet.data(), len, packet.size()) < 0) *ok = false;
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) per_packet.push_back(us / contexts);
  }
  return Summarise(std::move(per_packet)).p50;
}

}  // namespace

ProtectResult RunProtectBench(int contexts, int payload_bytes, int rounds) {
  ProtectResult r;
  r.contexts = contexts;
  r.payload_bytes = payload_bytes;
  r.ok = true;
  using rtp::HmacSha1;
  using rtp::SrtpSuite;
  r.stock_us = Measure(SrtpSuite::kAesCm128HmacSha1_80, HmacSha1::kLibsrtp, contexts, payload_bytes, rounds, &r.ok);
  r.precomputed_us =
      Measure(SrtpSuite::kAesCm128HmacSha1_80, HmacSha1::kPrecomputed, contexts, payload_bytes, rounds, &r.ok);
  r.gcm_us = Measure(SrtpSuite::kAeadAes128Gcm, HmacSha1::kPrecomputed, contexts, payload_bytes, rounds, &r.ok);
  return r;
}

void PrintProtect(const ProtectResult& r) {
  std::printf("\nSRTP protect per listener packet (%d contexts in turn, %d-byte payload, median of rounds)\n",
              r.contexts, r.payload_bytes);
  if (!r.ok) {
    std::printf("protect run failed\n");
    return;
  }
  std::printf(
      "AES_CM_128_HMAC_SHA1_80: libsrtp's HMAC %.3f us, precomputed HMAC %.3f us (%.2fx); AEAD_AES_128_GCM %.3f us\n",
      r.stock_us, r.precomputed_us, r.precomputed_us > 0 ? r.stock_us / r.precomputed_us : 0, r.gcm_us);
}

}  // namespace tilmash::bench
