// Hostile and broken input at an ingest port is counted and dropped: never a crash,
// never a glitch on the channel it was aimed at or on any other.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e_support.h"
#include "rtp/rtp_packet.h"

namespace tilmash::testing {
namespace {

// Sends bytes as given to a loopback port: nothing else (no stream of its own).
class RawSender {
 public:
  explicit RawSender(uint32_t port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(uint16_t(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~RawSender() { close(fd_); }
  void SendRaw(std::span<const uint8_t> b) {
    sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
  }

 private:
  int fd_;
  sockaddr_in to_{};
};

// Every 10 ms frame of the window carries `hz` at a steady level: no gap, no glitch.
void ExpectSteadyTone(ListenerClient& l, double hz, int ms) {
  const std::size_t start = l.SampleCount();
  ASSERT_TRUE(l.WaitForSamples(start + std::size_t(ms) * 48, 10s));
  auto x = l.Samples(start, std::size_t(ms) * 48);
  double worst = 0;
  for (std::size_t i = 0; i + 480 <= x.size(); i += 480)
    worst = std::min(worst, audio::ToneLevelDb(std::span<const float>(x.data() + i, 480), hz));
  EXPECT_GT(worst, -26) << "a 10 ms frame lost the " << hz << " Hz tone";
}

TEST_F(E2eTest, MalformedPacketsAreCountedAndDroppedWithoutAGlitch) {
  auto session = CreateSession({"en", "ru"}, 440);
  auto console = Join(session.id(), "ru");
  auto voice = Speak(console.ingest(), 880);
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  auto ru = Listen(session.id(), "ru");
  auto en = Listen(session.id(), "en");
  ASSERT_TRUE(ru && en);
  NextLevels(*ru, {880}, 200);

  // An attacker on the same port: its own socket, so the server cannot tell by address.
  RawSender attacker(console.ingest().endpoint().port());
  const uint32_t ssrc = console.ingest().ssrc();
  std::vector<uint8_t> pkt(120, 0x42);
  for (int i = 0; i < 100; ++i) {
    attacker.SendRaw(std::span<const uint8_t>(pkt.data(), 5));  // short
    std::vector<uint8_t> bad = pkt;
    bad[0] = 0x40;  // RTP version 1
    attacker.SendRaw(bad);
    std::vector<uint8_t> big(1800, 0x80);  // oversized
    attacker.SendRaw(big);
    rtp::WriteHeader(pkt.data(), 96, false, uint16_t(i), 480u * i, ssrc ^ 0x1234);  // unknown SSRC
    attacker.SendRaw(pkt);
    rtp::WriteHeader(pkt.data(), 96, false, uint16_t(i), 480u * i, ssrc);  // right SSRC, forged tag
    attacker.SendRaw(pkt);
    rtp::WriteHeader(pkt.data(), 0, false, uint16_t(i), 480u * i, ssrc);  // wrong payload type
    attacker.SendRaw(pkt);
  }
  ExpectSteadyTone(*ru, 880, 500);
  ExpectSteadyTone(*en, 440, 500);
  auto c = CountersOf(daemon_, session.id(), console.console().id());
  EXPECT_EQ(c.dropped_malformed(), 200u) << c.DebugString();
  EXPECT_EQ(c.dropped_oversized(), 100u);
  EXPECT_EQ(c.dropped_unknown_ssrc(), 100u);
  EXPECT_EQ(c.dropped_srtp_auth(), 100u);
  EXPECT_EQ(c.dropped_wrong_payload_type(), 100u);
  EXPECT_GT(c.packets_accepted(), 50u);
  EXPECT_EQ(ru->stats().lost, 0u);
  EXPECT_EQ(en->stats().lost, 0u);
  EXPECT_TRUE(daemon_.Alive());
}

TEST_F(E2eTest, FloorOverRtpLatchesTheFirstSsrcAndDropsOthers) {
  auto session = CreateSession({"en"}, std::nullopt);
  ASSERT_TRUE(session.has_floor_ingest());
  auto desk = Speak(session.floor_ingest(), 660);
  auto en = Listen(session.id(), "en");
  ASSERT_TRUE(en);
  EXPECT_GT(NextLevels(*en, {660})[0], -26);
  auto other = client::IngestFromProto(session.floor_ingest());
  other.ssrc = desk->options().ssrc + 1;
  RtpSender intruder(other);
  intruder.SetTone(1500, -6);
  ASSERT_TRUE(intruder.Start());
  auto levels = NextLevels(*en, {660, 1500}, 300);
  EXPECT_GT(levels[0], -26);
  EXPECT_LT(levels[1], -60) << "a second sender on the floor port is not heard";
  intruder.Stop();
  EXPECT_GT(CountersOf(daemon_, session.id(), "floor").dropped_unknown_ssrc(), 10u);
}

}  // namespace
}  // namespace tilmash::testing
