// An edge's mirrored channel: the timeline its packets get (continuous across new upstream
// streams, duplicates and old packets dropped), and the receiver on a real socket: a packet the
// key does not authenticate is counted and dropped, a good one reaches the fan-out.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "graph/mirror_receiver.h"
#include "rtp/rtp_packet.h"

namespace tilmash::graph {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(MirrorTimeline, FollowsTheUpstreamAndStaysContinuousAcrossANewStream) {
  MirrorTimeline t;
  const auto t0 = Clock::now();
  auto a = t.Next(1, 100, 48000, t0);
  EXPECT_TRUE(a.keep);
  auto b = t.Next(1, 101, 48480, t0 + 10ms);
  EXPECT_EQ(uint16_t(b.sequence - a.sequence), 1);
  EXPECT_EQ(b.timestamp - a.timestamp, 480u);
  // A lost packet stays a gap of one sequence number and 10 ms.
  auto c = t.Next(1, 103, 49440, t0 + 30ms);
  EXPECT_EQ(uint16_t(c.sequence - b.sequence), 2);
  EXPECT_EQ(c.timestamp - b.timestamp, 960u);
  EXPECT_FALSE(t.Next(1, 103, 49440, t0 + 31ms).keep) << "a duplicate";
  EXPECT_FALSE(t.Next(1, 102, 48960, t0 + 32ms).keep) << "older than one already pushed";
  // A resubscription 500 ms later: a random new base, continued by the time that passed.
  auto d = t.Next(2, 7, 123456789, t0 + 530ms);
  ASSERT_TRUE(d.keep);
  EXPECT_EQ(uint16_t(d.sequence - c.sequence), 1);
  EXPECT_NEAR(double(d.timestamp - c.timestamp), 500 * 48, 48);
  auto e = t.Next(2, 8, 123456789 + 480, t0 + 540ms);
  EXPECT_EQ(e.timestamp - d.timestamp, 480u);
  // Sequence numbers wrap.
  MirrorTimeline w;
  auto f = w.Next(3, 65535, 0, t0);
  auto g = w.Next(3, 0, 480, t0 + 10ms);
  EXPECT_TRUE(g.keep);
  EXPECT_EQ(uint16_t(g.sequence - f.sequence), 1);
}

TEST(MirrorTimeline, AStreamSilentForSecondsMayComeBackWithAnySequence) {
  MirrorTimeline t;
  const auto t0 = Clock::now();
  auto a = t.Next(1, 40000, 1000, t0);
  // The same stream, restored by a restarted origin with its sequence far ahead (or behind).
  auto b = t.Next(1, 100, 5000000, t0 + 3s);
  ASSERT_TRUE(b.keep);
  EXPECT_EQ(uint16_t(b.sequence - a.sequence), 1);
  EXPECT_NEAR(double(b.timestamp - a.timestamp), 3 * 48000, 48);
}

TEST(MirrorReceiver, CountsWhatItsKeyDoesNotAuthenticateAndPushesTheRest) {
  std::string error;
  auto fanout = fanout::FanoutEngine::Create("127.0.0.1", &error);
  ASSERT_TRUE(fanout) << error;
  auto directory = std::make_shared<MirrorDirectory>();
  directory->Add("hall", "origin:7300");
  MirrorMediaSession session("hall", "origin:7300", directory, fanout.get(), 10);
  ASSERT_TRUE(session.AddChannel("ru").ok());
  in_addr lo{};
  lo.s_addr = htonl(INADDR_LOOPBACK);
  auto receiver = MirrorReceiver::Create("hall/ru", lo, std::make_shared<fanout::PortAllocator>(fanout::PortRange{}),
                                         directory->Slot("hall", "ru"), &error);
  ASSERT_TRUE(receiver) << error;
  const uint32_t ssrc = 0x1234;
  const auto key = rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(receiver->Attach(ssrc, rtp::SrtpSuite::kAesCm128HmacSha1_80, key, 0, 1, &error)) << error;
  auto sender = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, rtp::SrtpSuite::kAesCm128HmacSha1_80,
                                         key, ssrc, 0, &error);
  ASSERT_TRUE(sender) << error;

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = lo;
  to.sin_port = htons(receiver->port());
  auto send = [&](const uint8_t* p, std::size_t n) {
    sendto(fd, p, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  uint8_t garbage[40] = {0x80, 111};
  send(garbage, sizeof garbage);
  for (uint16_t i = 0; i < 5; ++i) {
    uint8_t pkt[200] = {};
    rtp::WriteHeader(pkt, 111, false, uint16_t(10 + i), 480u * i, ssrc);
    const int n = sender->Protect(pkt, 12 + 20, sizeof pkt);
    ASSERT_GT(n, 0);
    send(pkt, std::size_t(n));
  }
  for (int i = 0; i < 100 && receiver->counters().packets.load() < 5; ++i) std::this_thread::sleep_for(10ms);
  close(fd);
  EXPECT_EQ(receiver->counters().packets.load(), 5u);
  EXPECT_EQ(receiver->counters().auth_failures.load(), 1u);
  EXPECT_EQ(fanout->Stats().packets_in, 5u) << "every good packet reached the fan-out, once";
  EXPECT_LT(receiver->SilentUs(), 2'000'000);
  // A removed channel takes nothing more.
  session.RemoveChannel("ru");
  EXPECT_FALSE(directory->Slot("hall", "ru")->Push(garbage, sizeof garbage));
}

}  // namespace
}  // namespace tilmash::graph
