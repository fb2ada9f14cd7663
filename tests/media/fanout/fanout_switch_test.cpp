// Channel switch continuity and the rollover counter: a listener's stream stays one stream
// (same SSRC, sequence +1, timestamp one frame on) across switches and across the 65,536
// sequence wrap, so any receiver that follows RFC 3711 keeps decrypting.
#include <gtest/gtest.h>

#include "fanout/fanout_engine.h"
#include "fanout_test_support.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

namespace tilmash::fanout {
namespace {

using rtp::SrtpContext;
using rtp::SrtpSuite;
using testing::ChannelPacket;
using testing::UdpSink;
using testing::WaitFor;

constexpr ChannelKey kEn = 1, kRu = 2;
constexpr uint32_t kSsrc = 0xABCD0001;

struct Fixture {
  std::unique_ptr<FanoutEngine> engine;
  std::unique_ptr<ListenerHandle> listener;
  UdpSink sink;
  std::vector<uint8_t> key = rtp::RandomMasterKey(SrtpSuite::kAesCm128HmacSha1_80);
  std::unique_ptr<SrtpContext> rx =
      SrtpContext::Create(SrtpContext::Direction::kUnprotect, SrtpSuite::kAesCm128HmacSha1_80, key, kSsrc);

  explicit Fixture(ChannelKey channel) {
    std::string error;
    engine = FanoutEngine::Create("127.0.0.1", &error);
    ListenerSpec spec;
    spec.channel = channel;
    spec.destination = sink.address();
    spec.ssrc = kSsrc;
    spec.master_key = key;
    listener = engine->AddListener(spec, &error);
    EXPECT_TRUE(listener) << error;
  }
  // Receives n packets and returns their plain headers (decrypted with the listener's context).
  std::vector<rtp::RtpHeaderView> Headers(std::size_t n) {
    std::vector<rtp::RtpHeaderView> out;
    for (auto& p : sink.Receive(n)) {
      const int len = rx->Unprotect(p.data(), p.size());
      EXPECT_GT(len, 0);
      if (len <= 0) continue;
      auto h = rtp::ParseRtp(p.data(), std::size_t(len));
      if (h.ok()) out.push_back(*h.header);
    }
    return out;
  }
};

void Push(FanoutEngine& e, ChannelKey ch, uint16_t seq, uint32_t ts, uint8_t tag = 0) {
  auto p = ChannelPacket(seq, ts, tag);
  e.Push(ch, p.data(), p.size());
}

TEST(FanoutSwitchTest, SwitchKeepsSsrcSequenceAndTimelineContinuous) {
  Fixture f(kEn);
  // en and ru have unrelated input timelines (different payloaders), 20 ms frames.
  for (uint16_t i = 0; i < 5; ++i) Push(*f.engine, kEn, uint16_t(100 + i), 1'000'000u + i * 960u);
  f.listener->Switch(kRu);
  for (uint16_t i = 0; i < 5; ++i) Push(*f.engine, kEn, uint16_t(105 + i), 1'004'800u + i * 960u);  // not heard
  for (uint16_t i = 0; i < 5; ++i) Push(*f.engine, kRu, uint16_t(9000 + i), 77u + i * 960u);
  f.listener->Switch(kEn);
  for (uint16_t i = 0; i < 3; ++i) Push(*f.engine, kEn, uint16_t(110 + i), 1'009'600u + i * 960u);
  auto h = f.Headers(13);
  ASSERT_EQ(h.size(), 13u);
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].ssrc, kSsrc);
    EXPECT_EQ(h[i].sequence, uint16_t(i)) << "sequence +1 across switches";
    if (i > 0) {
      EXPECT_EQ(h[i].timestamp - h[i - 1].timestamp, 960u) << "one frame per packet at " << i;
    }
  }
  EXPECT_TRUE(f.sink.Empty());
}

TEST(FanoutSwitchTest, ChannelPacketsThatNeverReachedTheSenderAreAGapInTheListenersSequence) {
  Fixture f(kEn);
  // 105..107 were lost before the fan-out (a full sender ring, a late encoder): the listener's
  // stream shows the same gap in sequence and time, so its receiver conceals three frames.
  for (uint16_t i = 0; i < 5; ++i) Push(*f.engine, kEn, uint16_t(100 + i), 480u * i);
  for (uint16_t i = 8; i < 11; ++i) Push(*f.engine, kEn, uint16_t(100 + i), 480u * i);
  auto h = f.Headers(8);
  ASSERT_EQ(h.size(), 8u) << "every packet decrypts across the gap (the packet index is right)";
  const std::vector<uint16_t> want = {0, 1, 2, 3, 4, 8, 9, 10};
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].sequence, want[i]);
    EXPECT_EQ(h[i].timestamp - h[0].timestamp, 480u * want[i]);
  }
  // A jump past any plausible loss is a restarted input, not a gap: the sequence just goes on.
  Push(*f.engine, kEn, 40000, 480u * 11);
  auto next = f.Headers(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].sequence, 11);
}

TEST(FanoutSwitchTest, RocIsRightAcrossTheSequenceWrap) {
  Fixture f(kEn);
  constexpr uint32_t kTotal = 65536 + 40;  // 10.9 min of 10 ms packets
  constexpr uint32_t kSwitchAt = 65536 - 20;
  uint32_t received = 0, wrapped_checked = 0;
  uint16_t expect_seq = 0;
  uint32_t last_ts = 0;
  // Pushed in chunks the sink drains before the next: loopback buffers stay small.
  constexpr uint32_t kChunk = 512;
  for (uint32_t base = 0; base < kTotal; base += kChunk) {
    const uint32_t n = std::min(kChunk, kTotal - base);
    for (uint32_t i = base; i < base + n; ++i) {
      if (i == kSwitchAt) f.listener->Switch(kRu);
      const bool ru = i >= kSwitchAt;
      Push(*f.engine, ru ? kRu : kEn, uint16_t(i), ru ? 5'000u + (i - kSwitchAt) * 480u : i * 480u);
    }
    auto got = f.sink.Receive(n);
    ASSERT_EQ(got.size(), n) << "at packet " << base;
    for (auto& p : got) {
      // A receiver that joins after the wrap knows ROC = index / 65536 from Subscribe.
      if (received == 65536 + 5) {
        auto late =
            SrtpContext::Create(SrtpContext::Direction::kUnprotect, SrtpSuite::kAesCm128HmacSha1_80, f.key, kSsrc, 1);
        auto copy = p;
        EXPECT_GT(late->Unprotect(copy.data(), copy.size()), 0) << "ROC must be 1 after 65,536 packets";
        auto wrong =
            SrtpContext::Create(SrtpContext::Direction::kUnprotect, SrtpSuite::kAesCm128HmacSha1_80, f.key, kSsrc, 0);
        copy = p;
        EXPECT_EQ(wrong->Unprotect(copy.data(), copy.size()), -1);
        ++wrapped_checked;
      }
      const int len = f.rx->Unprotect(p.data(), p.size());
      ASSERT_GT(len, 0) << "packet " << received;
      const uint32_t ts = rtp::ReadU32(p.data() + 4);
      ASSERT_EQ(rtp::ReadU16(p.data() + 2), expect_seq);
      if (received > 0) {
        ASSERT_EQ(ts - last_ts, 480u) << "packet " << received;
      }
      last_ts = ts;
      ++expect_seq;
      ++received;
    }
  }
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(wrapped_checked, 1u);
  ASSERT_TRUE(WaitFor([&] { return f.engine->Stats().packets_sent == kTotal; }));
  EXPECT_EQ(f.engine->Stats().ring_overflows, 0u);
}

}  // namespace
}  // namespace tilmash::fanout
