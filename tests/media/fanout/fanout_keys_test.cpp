// Key rotation and the sender's alerts: a new key takes over a running stream with no lost
// packet and no jump in the packet index (receivers that follow the announced keys with
// SrtpReceiver decrypt every packet, also across the sequence wrap); a key that reaches its
// packet limit is reported; a listener whose port answers with ICMP port unreachable is
// reported, and the listeners sent after it lose nothing.
#include <gtest/gtest.h>

#include "fanout/fanout_engine.h"
#include "fanout_test_support.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "rtp/srtp_receiver.h"

namespace tilmash::fanout {
namespace {

using rtp::SrtpContext;
using rtp::SrtpSuite;
using testing::ChannelPacket;
using testing::UdpSink;
using testing::WaitFor;

constexpr ChannelKey kEn = 1;

void Push(FanoutEngine& e, uint32_t i) {
  auto p = ChannelPacket(uint16_t(i), i * 480u, uint8_t(i));
  e.Push(kEn, p.data(), p.size());
}

std::unique_ptr<FanoutEngine> MakeEngine(uint64_t rekey_after = uint64_t(1) << 31) {
  FanoutOptions o;
  o.rekey_after_packets = rekey_after;
  // These tests push hundreds of packets at once and check every one; the real-time bound that
  // skips packets a busy sender thread let wait over 50 ms (tested in fanout_overload_test.cpp)
  // would drop some on a loaded or sanitized machine.
  o.max_backlog_ms = 0;
  std::string error;
  auto e = FanoutEngine::Create(o, &error);
  EXPECT_TRUE(e) << error;
  return e;
}

struct Listener {
  int key;
  SrtpSuite suite;
  uint32_t ssrc;
  std::vector<uint8_t> master_key;
  UdpSink sink;
  std::unique_ptr<ListenerHandle> handle;
  ListenerSpec Spec() const {
    ListenerSpec s;
    s.channel = kEn;
    s.destination = sink.address();
    s.ssrc = ssrc;
    s.suite = suite;
    s.master_key = master_key;
    return s;
  }
  bool Add(FanoutEngine& engine, const ListenerSpec& spec) {
    std::string error;
    handle = engine.AddListener(spec, &error);
    EXPECT_TRUE(handle) << error;
    return handle != nullptr;
  }
  Listener(int k, SrtpSuite s) : key(k), suite(s), ssrc(0x5000 + uint32_t(k)), master_key(rtp::RandomMasterKey(s)) {}
};

class FanoutRekeyTest : public ::testing::TestWithParam<SrtpSuite> {};

// Rekeys twice, the second time just before the sequence wraps, and checks every packet:
// decrypted, in sequence, and with the key that was current when it was pushed.
TEST_P(FanoutRekeyTest, NewKeysTakeOverWithoutALostPacketAcrossTheWrap) {
  const SrtpSuite suite = GetParam();
  auto engine = MakeEngine();
  Listener l(1, suite);
  std::string error;
  ASSERT_TRUE(l.Add(*engine, l.Spec()));
  rtp::SrtpReceiver rx(SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, l.master_key, l.ssrc), l.ssrc);
  // An eavesdropper that kept only the first key.
  auto old_only = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, l.master_key, l.ssrc);

  constexpr uint32_t kTotal = 65536 + 300;
  const uint32_t rekey_at[] = {100, 65536 - 3};
  uint32_t received = 0, old_key_ok_after_first_rekey = 0;
  uint16_t expect_seq = 0;
  constexpr uint32_t kChunk = 500;
  for (uint32_t base = 0; base < kTotal; base += kChunk) {
    const uint32_t n = std::min(kChunk, kTotal - base);
    for (uint32_t i = base; i < base + n; ++i) {
      for (uint32_t k = 0; k < 2; ++k) {
        if (i != rekey_at[k]) continue;
        const auto next = rtp::RandomMasterKey(suite);
        ASSERT_TRUE(rx.Announce(k + 1, suite, next));
        ASSERT_TRUE(l.handle->Rekey(next, std::chrono::nanoseconds(0), &error)) << error;
      }
      Push(*engine, i);
    }
    auto got = l.sink.Receive(n);
    ASSERT_EQ(got.size(), n) << "at packet " << base;
    for (auto& p : got) {
      if (received > rekey_at[0] && received < 65000) {
        auto copy = p;
        old_key_ok_after_first_rekey += old_only->Unprotect(copy.data(), copy.size()) > 0;
      }
      const int len = rx.Unprotect(p.data(), p.size());
      ASSERT_GT(len, 0) << "packet " << received << " (key " << rx.key_id() << ")";
      ASSERT_EQ(rtp::ReadU16(p.data() + 2), expect_seq);
      const uint32_t want_key = received < rekey_at[0] ? 0 : received < rekey_at[1] ? 1 : 2;
      ASSERT_EQ(rx.key_id(), want_key) << "packet " << received;
      ++expect_seq;
      ++received;
    }
  }
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(rx.key_changes(), 2u);
  EXPECT_EQ(old_key_ok_after_first_rekey, 0u) << "the retired key must not decrypt the new packets";
}

INSTANTIATE_TEST_SUITE_P(Suites, FanoutRekeyTest,
                         ::testing::Values(SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm),
                         [](const auto& info) {
                           return info.param == SrtpSuite::kAeadAes128Gcm ? "Gcm" : "AesCmHmacSha1";
                         });

TEST(FanoutRekeyTest, AKeyTakesOverOnlyWhenItsTimeHasCome) {
  auto engine = MakeEngine();
  Listener l(1, SrtpSuite::kAesCm128HmacSha1_80);
  std::string error;
  ASSERT_TRUE(l.Add(*engine, l.Spec()));
  auto first = SrtpContext::Create(SrtpContext::Direction::kUnprotect, l.suite, l.master_key, l.ssrc);
  ASSERT_TRUE(l.handle->Rekey(rtp::RandomMasterKey(l.suite), std::chrono::seconds(30), &error));
  for (uint32_t i = 0; i < 20; ++i) Push(*engine, i);
  auto got = l.sink.Receive(20);
  ASSERT_EQ(got.size(), 20u);
  for (auto& p : got) EXPECT_GT(first->Unprotect(p.data(), p.size()), 0) << "the old key stays until its time";
}

TEST(FanoutAlertsTest, AKeyAtItsPacketLimitIsReportedOnceAndANewKeyResetsIt) {
  auto engine = MakeEngine(/*rekey_after=*/10);
  Listener l(3, SrtpSuite::kAeadAes128Gcm);
  std::string error;
  ASSERT_TRUE(l.Add(*engine, l.Spec()));
  auto limits = [&] { return l.handle->TakeKeyLimit() ? 1u : 0u; };
  for (uint32_t i = 0; i < 10; ++i) Push(*engine, i);
  ASSERT_EQ(l.sink.Receive(10).size(), 10u);
  EXPECT_EQ(limits(), 0u) << "10 packets are within the limit";
  for (uint32_t i = 10; i < 30; ++i) Push(*engine, i);
  ASSERT_EQ(l.sink.Receive(20).size(), 20u);
  EXPECT_EQ(limits(), 1u) << "reported once, not per packet";
  ASSERT_TRUE(l.handle->Rekey(rtp::RandomMasterKey(l.suite), std::chrono::nanoseconds(0), &error));
  for (uint32_t i = 30; i < 40; ++i) Push(*engine, i);
  ASSERT_EQ(l.sink.Receive(10).size(), 10u);
  EXPECT_EQ(limits(), 0u) << "the new key starts its own count";
  Push(*engine, 40);
  ASSERT_EQ(l.sink.Receive(1).size(), 1u);
  EXPECT_EQ(limits(), 1u);
}

TEST(FanoutAlertsTest, PortUnreachableIsReportedAndCostsTheOthersNothing) {
  auto engine = MakeEngine();
  Listener gone(1, SrtpSuite::kAesCm128HmacSha1_80), good(2, SrtpSuite::kAesCm128HmacSha1_80);
  ListenerSpec spec = gone.Spec();
  {
    UdpSink closed;  // a port that was bound a moment ago and is closed now
    spec.destination = closed.address();
  }
  ASSERT_TRUE(gone.Add(*engine, spec));
  ASSERT_TRUE(good.Add(*engine, good.Spec()));
  bool reported = false;
  constexpr uint32_t kPackets = 50;
  for (uint32_t i = 0; i < kPackets; ++i) {
    Push(*engine, i);
    reported = reported || gone.handle->TakeUnreachable();
  }
  EXPECT_EQ(good.sink.Receive(kPackets).size(), kPackets) << "the retry after the ICMP error loses nothing";
  ASSERT_TRUE(WaitFor([&] { return reported = reported || gone.handle->TakeUnreachable(); }));
  EXPECT_FALSE(good.handle->TakeUnreachable()) << "only the listener whose port is closed is reported";
  EXPECT_TRUE(WaitFor([&] { return good.handle->Counts().sent == kPackets; }));
  EXPECT_EQ(good.handle->Counts().send_errors, 0u);
}

}  // namespace
}  // namespace tilmash::fanout
