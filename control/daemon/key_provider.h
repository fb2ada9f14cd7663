// KeyProvider backed by the kernel CSPRNG (getrandom) through the SRTP wrapper.
#pragma once
#include "domain/ports.h"
#include "rtp/srtp_context.h"

namespace tilmash::daemon {

class RandomKeyProvider : public domain::KeyProvider {
 public:
  domain::SrtpKeying NewKey(domain::CryptoSuite suite) override {
    const auto s = suite == domain::CryptoSuite::kAeadAes128Gcm ? rtp::SrtpSuite::kAeadAes128Gcm
                                                                : rtp::SrtpSuite::kAesCm128HmacSha1_80;
    return domain::SrtpKeying{suite, rtp::RandomMasterKey(s), 0};
  }
  uint32_t NewSsrc() override {
    uint32_t v = 0;
    while (v == 0) v = rtp::RandomU32();  // 0 means "latch" at ingest
    return v;
  }
  std::string NewId(const std::string& prefix) override {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = prefix;
    for (int i = 0; i < 3; ++i) {
      uint32_t v = rtp::RandomU32();
      for (int j = 0; j < 4; ++j, v >>= 8) {
        id += kHex[(v >> 4) & 15];
        id += kHex[v & 15];
      }
    }
    return id;
  }
};

}  // namespace tilmash::daemon
