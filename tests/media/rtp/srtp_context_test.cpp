#include "rtp/srtp_context.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "rtp/hmac_sha1.h"
#include "rtp/rtp_packet.h"

namespace tilmash::rtp {
namespace {

class SrtpContextTest : public ::testing::TestWithParam<SrtpSuite> {};

std::vector<uint8_t> Plain(uint16_t seq, uint32_t ssrc) {
  std::vector<uint8_t> p(12 + 60);
  WriteHeader(p.data(), 111, false, seq, seq * 480u, ssrc);
  for (std::size_t i = 12; i < p.size(); ++i) p[i] = uint8_t(i * 7 + seq);
  return p;
}

TEST_P(SrtpContextTest, RoundTripsAndRejectsWrongKey) {
  const SrtpSuite suite = GetParam();
  const auto key = RandomMasterKey(suite);
  ASSERT_EQ(key.size(), MasterKeyLength(suite));
  auto tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 0x1234);
  auto rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, 0x1234);
  auto wrong_key = RandomMasterKey(suite);
  auto intruder = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, wrong_key, 0x1234);
  ASSERT_TRUE(tx && rx && intruder);
  for (uint16_t seq = 0; seq < 50; ++seq) {
    auto plain = Plain(seq, 0x1234);
    std::vector<uint8_t> buf(plain.size() + 64);
    std::memcpy(buf.data(), plain.data(), plain.size());
    int n = tx->Protect(buf.data(), plain.size(), buf.size());
    ASSERT_EQ(n, int(plain.size() + TagLength(suite)));
    EXPECT_NE(0, std::memcmp(buf.data() + 12, plain.data() + 12, 60)) << "payload must be encrypted";
    auto copy = buf;
    EXPECT_EQ(intruder->Unprotect(copy.data(), std::size_t(n)), -1);
    int m = rx->Unprotect(buf.data(), std::size_t(n));
    ASSERT_EQ(m, int(plain.size()));
    EXPECT_EQ(0, std::memcmp(buf.data(), plain.data(), plain.size()));
  }
}

TEST_P(SrtpContextTest, RejectsTamperedAndReplayedPackets) {
  const SrtpSuite suite = GetParam();
  const auto key = RandomMasterKey(suite);
  auto tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 99);
  auto rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, 99);
  auto plain = Plain(1, 99);
  std::vector<uint8_t> buf(plain.size() + 64);
  std::memcpy(buf.data(), plain.data(), plain.size());
  int n = tx->Protect(buf.data(), plain.size(), buf.size());
  auto tampered = buf;
  tampered[20] ^= 1;
  EXPECT_EQ(rx->Unprotect(tampered.data(), std::size_t(n)), -1);
  auto replay = buf;
  EXPECT_GT(rx->Unprotect(buf.data(), std::size_t(n)), 0);
  EXPECT_EQ(rx->Unprotect(replay.data(), std::size_t(n)), -1);
}

INSTANTIATE_TEST_SUITE_P(Suites, SrtpContextTest,
                         ::testing::Values(SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm));

// The precomputed HMAC-SHA1 (the default) and libsrtp's own give the same packets, byte for
// byte, for every size a channel sends (payloads 1..1200 bytes, across a ROC step), and a
// receiver of either kind accepts what a sender of the other kind protected.
TEST(SrtpContext, ThePrecomputedHmacProtectsExactlyAsLibsrtpsOwn) {
  EnsureSrtpInitialised();
  const SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  const auto key = RandomMasterKey(suite);
  ASSERT_TRUE(UseHmacSha1(HmacSha1::kLibsrtp));
  auto stock_tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 7, 3);
  auto stock_rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, 7, 3);
  ASSERT_TRUE(UseHmacSha1(HmacSha1::kPrecomputed));
  auto ours_tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 7, 3);
  auto ours_rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, 7, 3);
  ASSERT_TRUE(stock_tx && stock_rx && ours_tx && ours_rx);
  int compared = 0;
  for (std::size_t payload = 1; payload <= 1200; payload += payload < 130 ? 1 : 37) {
    const uint16_t seq = uint16_t(65450 + compared);  // wraps: the ROC goes 3 -> 4 on the way
    std::vector<uint8_t> plain(12 + payload);
    WriteHeader(plain.data(), 111, false, seq, seq * 480u, 7);
    for (std::size_t i = 12; i < plain.size(); ++i) plain[i] = uint8_t(i * 13 + payload);
    std::vector<uint8_t> a(plain.size() + 16), b(plain.size() + 16);
    std::memcpy(a.data(), plain.data(), plain.size());
    std::memcpy(b.data(), plain.data(), plain.size());
    const int na = stock_tx->Protect(a.data(), plain.size(), a.size());
    const int nb = ours_tx->Protect(b.data(), plain.size(), b.size());
    ASSERT_EQ(na, int(plain.size() + 10));
    ASSERT_EQ(na, nb);
    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), std::size_t(na))) << "payload " << payload;
    EXPECT_EQ(ours_rx->Unprotect(a.data(), std::size_t(na)), int(plain.size()));
    EXPECT_EQ(stock_rx->Unprotect(b.data(), std::size_t(nb)), int(plain.size()));
    ++compared;
  }
  EXPECT_GT(compared, 150);
  EXPECT_EQ(ours_tx->Roc(7), std::optional<uint32_t>(4));
}

// The fan-out prefetches a sender's libsrtp state (srtp_hot_lines.c). A libsrtp whose layout
// no longer matches what that file was built for gives no lines: it would still protect
// correctly, only slower, so this test is what says the prefetch is gone.
TEST_P(SrtpContextTest, ASenderKnowsTheCacheLinesItsProtectReads) {
  const SrtpSuite suite = GetParam();
  const auto key = RandomMasterKey(suite);
  auto tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 0xCAFE);
  auto rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, 0xCAFE);
  ASSERT_TRUE(tx && rx);
  // Session, list, stream (3), bitmask, keys (2), limit, cipher, its state, OpenSSL's context
  // (3), its provider's (8: the key schedule; OpenSSL 3.0's layout), auth and its state: at
  // least 20 distinct lines, none twice.
  std::printf("[ measured ] %s sender: %d cache lines prefetched\n", SuiteName(suite), tx->hot_lines());
  EXPECT_GE(tx->hot_lines(), 20);
  EXPECT_LE(tx->hot_lines(), 40);
  EXPECT_EQ(rx->hot_lines(), 0) << "a receiver is never prefetched";
  // Prefetching is only a hint: the stream protects exactly as before.
  tx->PrefetchSelf();
  tx->Prefetch();
  auto plain = Plain(1, 0xCAFE);
  std::vector<uint8_t> buf(plain.size() + 64);
  std::memcpy(buf.data(), plain.data(), plain.size());
  const int n = tx->Protect(buf.data(), plain.size(), buf.size());
  ASSERT_GT(n, 0);
  EXPECT_EQ(rx->Unprotect(buf.data(), std::size_t(n)), int(plain.size()));
}

TEST(SrtpContext, RejectsKeyOfWrongLength) {
  std::string error;
  std::vector<uint8_t> short_key(16);
  EXPECT_EQ(
      SrtpContext::Create(SrtpContext::Direction::kProtect, SrtpSuite::kAesCm128HmacSha1_80, short_key, 1, 0, &error),
      nullptr);
  EXPECT_NE(error.find("30 bytes"), std::string::npos);
}

}  // namespace
}  // namespace tilmash::rtp
