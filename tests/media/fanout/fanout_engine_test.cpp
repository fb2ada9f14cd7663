#include "fanout/fanout_engine.h"

#include <gtest/gtest.h>

#include <sched.h>

#include <cstring>
#include <filesystem>
#include <map>

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

struct TestListener {
  int key;
  uint32_t ssrc;
  SrtpSuite suite;
  std::vector<uint8_t> master_key;
  UdpSink sink;
  std::unique_ptr<SrtpContext> rx;
  std::unique_ptr<ListenerHandle> handle;

  TestListener(int k, SrtpSuite s = SrtpSuite::kAesCm128HmacSha1_80)
      : key(k), ssrc(0x10000 + uint32_t(k)), suite(s), master_key(rtp::RandomMasterKey(s)) {
    rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, master_key, ssrc, 0);
  }
  ListenerSpec Spec(ChannelKey channel) const {
    ListenerSpec spec;
    spec.channel = channel;
    spec.destination = sink.address();
    spec.ssrc = ssrc;
    spec.suite = suite;
    spec.master_key = master_key;
    return spec;
  }
  bool Add(FanoutEngine& engine, const ListenerSpec& spec) {
    std::string error;
    handle = engine.AddListener(spec, &error);
    EXPECT_TRUE(handle) << error;
    return handle != nullptr;
  }
  bool Add(FanoutEngine& engine, ChannelKey channel) { return Add(engine, Spec(channel)); }
  // Receives n packets and decrypts them with this listener's own context.
  std::vector<std::vector<uint8_t>> Plain(std::size_t n) {
    auto got = sink.Receive(n);
    for (auto& p : got) {
      const int len = rx->Unprotect(p.data(), p.size());
      EXPECT_GT(len, 0) << "listener " << key << " cannot decrypt its own stream";
      p.resize(len > 0 ? std::size_t(len) : 0);
    }
    return got;
  }
};

std::unique_ptr<FanoutEngine> MakeEngine(int threads = 1) {
  FanoutOptions o;
  o.sender_threads = threads;
  // Bursts are checked packet by packet: no real-time skip of packets a busy sender thread let
  // wait (fanout_overload_test.cpp tests that bound).
  o.max_backlog_ms = 0;
  std::string error;
  auto e = FanoutEngine::Create(o, &error);
  EXPECT_TRUE(e) << error;
  return e;
}

void Push(FanoutEngine& e, ChannelKey ch, const std::vector<uint8_t>& p) { e.Push(ch, p.data(), p.size()); }

TEST(FanoutEngineTest, EachListenerDecryptsOnlyItsOwnStream) {
  auto engine = MakeEngine();
  std::vector<std::unique_ptr<TestListener>> ls;
  for (int k = 1; k <= 3; ++k) {
    ls.push_back(
        std::make_unique<TestListener>(k, k == 3 ? SrtpSuite::kAeadAes128Gcm : SrtpSuite::kAesCm128HmacSha1_80));
    ASSERT_TRUE(ls.back()->Add(*engine, kEn));
  }
  std::vector<std::vector<uint8_t>> pushed;
  for (uint16_t i = 0; i < 5; ++i) {
    pushed.push_back(ChannelPacket(uint16_t(1000 + i), 48000u + i * 480u, uint8_t(i)));
    Push(*engine, kEn, pushed.back());
  }
  std::map<int, std::vector<std::vector<uint8_t>>> cipher;
  for (auto& l : ls) cipher[l->key] = l->sink.Receive(5);
  for (auto& l : ls) {
    ASSERT_EQ(cipher[l->key].size(), 5u);
    // Nobody else's key opens this listener's packets.
    for (auto& other : ls) {
      if (other == l || other->suite != l->suite) continue;
      auto intruder = SrtpContext::Create(SrtpContext::Direction::kUnprotect, l->suite, other->master_key, l->ssrc);
      auto copy = cipher[l->key][0];
      EXPECT_EQ(intruder->Unprotect(copy.data(), copy.size()), -1);
    }
    for (std::size_t i = 0; i < 5; ++i) {
      auto p = cipher[l->key][i];
      const int len = l->rx->Unprotect(p.data(), p.size());
      ASSERT_EQ(len, int(pushed[i].size()));
      auto h = rtp::ParseRtp(p.data(), std::size_t(len));
      ASSERT_TRUE(h.ok());
      EXPECT_EQ(h.header->ssrc, l->ssrc);
      EXPECT_EQ(h.header->sequence, i) << "each listener's sequence starts at 0";
      EXPECT_EQ(h.header->payload_type, 111);
      EXPECT_EQ(0, std::memcmp(p.data() + 12, pushed[i].data() + 12, pushed[i].size() - 12));
    }
  }
  ASSERT_TRUE(WaitFor([&] { return engine->Stats().packets_sent == 15; }));
  auto s = engine->Stats();
  EXPECT_EQ(s.packets_in, 5u);
  EXPECT_EQ(s.listeners, 3u);
  EXPECT_EQ(s.send_errors + s.packets_dropped + s.ring_overflows, 0u);
  EXPECT_EQ(ls[1]->handle->Counts().sent, 5u);
}

TEST(FanoutEngineTest, ListenersHearOnlyTheirChannel) {
  auto engine = MakeEngine();
  TestListener en(1), ru(2);
  ASSERT_TRUE(en.Add(*engine, kEn));
  ASSERT_TRUE(ru.Add(*engine, kRu));
  for (uint16_t i = 0; i < 4; ++i) {
    Push(*engine, kEn, ChannelPacket(i, i * 480u, 0xE0));
    Push(*engine, kRu, ChannelPacket(i, i * 480u, 0x80));
  }
  for (auto* l : {&en, &ru}) {
    auto got = l->Plain(4);
    ASSERT_EQ(got.size(), 4u);
    for (auto& p : got) EXPECT_EQ(p[12], uint8_t((l == &en ? 0xE0 : 0x80) + 12));
  }
  ASSERT_TRUE(WaitFor([&] { return engine->Stats().packets_sent == 8; }));
  EXPECT_TRUE(en.sink.Empty() && ru.sink.Empty());
}

TEST(FanoutEngineTest, ChangesTakeEffectBetweenThePacketsPushedAroundThem) {
  auto engine = MakeEngine();
  TestListener l(7);
  for (uint16_t i = 0; i < 3; ++i) Push(*engine, kEn, ChannelPacket(i, i * 480u, 1));
  ASSERT_TRUE(l.Add(*engine, kEn));
  for (uint16_t i = 3; i < 6; ++i) Push(*engine, kEn, ChannelPacket(i, i * 480u, 2));
  l.handle.reset();  // removes the listener
  for (uint16_t i = 6; i < 9; ++i) Push(*engine, kEn, ChannelPacket(i, i * 480u, 3));
  auto got = l.Plain(3);
  ASSERT_EQ(got.size(), 3u);
  for (auto& p : got) EXPECT_EQ(p[12], uint8_t(2 + 12)) << "only the packets pushed while subscribed";
  ASSERT_TRUE(WaitFor([&] { return engine->Stats().listeners == 0; }));
  EXPECT_EQ(engine->Stats().packets_sent, 3u);
}

// One unreachable destination must not cost the listeners batched behind it their packets.
TEST(FanoutEngineTest, RefusedDestinationIsCountedAndSkipped) {
  auto engine = MakeEngine();
  TestListener bad(1), good(2);
  ListenerSpec spec = bad.Spec(kEn);
  spec.destination.sin_port = 0;  // the kernel refuses UDP to port 0 (EINVAL)
  ASSERT_TRUE(bad.Add(*engine, spec));
  ASSERT_TRUE(good.Add(*engine, kEn));
  for (uint16_t i = 0; i < 10; ++i) Push(*engine, kEn, ChannelPacket(i, i * 480u, 5));
  EXPECT_EQ(good.Plain(10).size(), 10u);
  ASSERT_TRUE(WaitFor([&] { return engine->Stats().send_errors == 10; }));
  EXPECT_EQ(bad.handle->Counts().send_errors, 10u);
  // The counter is bumped after sendmmsg returns, which can be after the sink already has the packet.
  EXPECT_TRUE(WaitFor([&] { return good.handle->Counts().sent == 10u; }))
      << "good listener: sent " << good.handle->Counts().sent << ", dropped " << good.handle->Counts().dropped
      << ", send errors " << good.handle->Counts().send_errors << "; bad listener: sent " << bad.handle->Counts().sent
      << ", send errors " << bad.handle->Counts().send_errors;
}

TEST(FanoutEngineTest, SeveralSenderThreadsDeliverEveryStreamInOrder) {
  auto engine = MakeEngine(2);
  ASSERT_EQ(engine->sender_threads(), 2);
  std::vector<std::unique_ptr<TestListener>> ls;
  for (int k = 1; k <= 6; ++k) {
    ls.push_back(std::make_unique<TestListener>(k));
    ASSERT_TRUE(ls.back()->Add(*engine, kEn));
  }
  constexpr int kPackets = 50;
  for (uint16_t i = 0; i < kPackets; ++i) Push(*engine, kEn, ChannelPacket(i, i * 960u, uint8_t(i)));
  for (auto& l : ls) {
    auto got = l->Plain(kPackets);
    ASSERT_EQ(got.size(), std::size_t(kPackets));
    for (uint16_t i = 0; i < kPackets; ++i) EXPECT_EQ(rtp::ReadU16(got[i].data() + 2), i);
  }
  ASSERT_TRUE(WaitFor([&] { return engine->Stats().delay.samples == kPackets; }));
  auto s = engine->Stats();
  EXPECT_EQ(s.packets_sent, 6u * kPackets);
  EXPECT_GT(s.delay.p99_us, 0);
  EXPECT_LE(s.delay.p50_us, s.delay.p99_us);
  EXPECT_LE(s.delay.p99_us, s.delay.max_us);
}

// A channel that goes leaves its listeners to their handles: they hear nothing until switched,
// then go on with their own timeline.
TEST(FanoutEngineTest, ARemovedChannelsListenersWaitForASwitch) {
  auto engine = MakeEngine();
  TestListener l(1);
  ASSERT_TRUE(l.Add(*engine, kEn));
  Push(*engine, kEn, ChannelPacket(0, 0, 1));
  engine->RemoveChannel(kEn);
  Push(*engine, kEn, ChannelPacket(1, 480, 2));
  l.handle->Switch(kRu);
  Push(*engine, kRu, ChannelPacket(7, 9999, 3));
  auto got = l.Plain(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0][12], uint8_t(1 + 12));
  EXPECT_EQ(got[1][12], uint8_t(3 + 12)) << "nothing while it had no channel";
  EXPECT_EQ(rtp::ReadU16(got[1].data() + 2), 1) << "its sequence goes on";
  EXPECT_EQ(engine->Stats().listeners, 1u);
}

}  // namespace
}  // namespace tilmash::fanout

namespace tilmash::fanout {
namespace {

// Threads of this process scheduled SCHED_FIFO now.
int FifoThreads() {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    if (sched_getscheduler(std::stoi(task.path().filename().string())) == SCHED_FIFO) ++n;
  return n;
}

// fanout_realtime_priority: the sender threads run SCHED_FIFO, or the engine says why not (a
// process without CAP_SYS_NICE or RLIMIT_RTPRIO), and sends either way.
TEST(FanoutEngineTest, SenderThreadsRunSchedFifoOrSayWhyNot) {
  const int before = FifoThreads();
  FanoutOptions o;
  o.sender_threads = 2;
  o.realtime_priority = 10;
  std::string error;
  auto e = FanoutEngine::Create(o, &error);
  ASSERT_TRUE(e) << error;
  if (e->realtime_problem().empty()) {
    EXPECT_EQ(FifoThreads(), before + 2) << "both sender threads SCHED_FIFO";
  } else {
    EXPECT_NE(e->realtime_problem().find("SCHED_FIFO priority 10"), std::string::npos) << e->realtime_problem();
    EXPECT_EQ(FifoThreads(), before);
  }
  FanoutOptions ordinary;
  auto plain = FanoutEngine::Create(ordinary, &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_TRUE(plain->realtime_problem().empty());
  // Sends as before: each listener its own packets, decrypted with its own key.
  TestListener en(1), ru(2);
  ASSERT_TRUE(en.Add(*e, kEn));
  ASSERT_TRUE(ru.Add(*e, kRu));
  for (uint16_t i = 0; i < 3; ++i) {
    Push(*e, kEn, ChannelPacket(i, i * 480u, 0xE0));
    Push(*e, kRu, ChannelPacket(i, i * 480u, 0x80));
  }
  EXPECT_EQ(en.Plain(3).size(), 3u);
  EXPECT_EQ(ru.Plain(3).size(), 3u);
}

}  // namespace
}  // namespace tilmash::fanout
