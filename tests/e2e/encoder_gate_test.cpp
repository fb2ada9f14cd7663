// A channel is encoded only while something takes its packets (issue: fixed cost per session).
// With nobody listening the daemon encodes nothing of it (tilmash_fanout_channel_packets_total
// stands still); the first listener gets the interpreter at its level within a frame or two of
// subscribing; a channel switch to an idle channel is heard at once; when the last listener
// leaves, the encoding stops again. What it saves: tools/bench (idle_pct_per_channel=).
#include <cmath>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

using namespace std::chrono_literals;

class EncoderGateTest : public E2eTest {
 protected:
  // Encoded channel packets per second over `window`, from the daemon's own counter.
  double ChannelPacketRate(std::chrono::milliseconds window = 1000ms) {
    const double a = Counter();
    std::this_thread::sleep_for(window);
    return (Counter() - a) * 1000.0 / double(window.count());
  }
  double Counter() {
    auto r = Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string at = "\ntilmash_fanout_channel_packets_total ";
    const auto i = r.body.find(at);
    EXPECT_NE(i, std::string::npos) << "no tilmash_fanout_channel_packets_total in the scrape";
    if (i == std::string::npos) return NAN;
    return std::strtod(r.body.c_str() + i + at.size(), nullptr);
  }
};

TEST_F(EncoderGateTest, AChannelIsEncodedOnlyWhileSomeoneListens) {
  auto session = CreateSession({"ru", "kk"}, 440);
  const std::string& sid = session.id();
  auto ru = Join(sid, "ru");
  auto voice = Speak(ru.ingest(), 880);
  ASSERT_TRUE(SetMic(sid, ru.console().id(), true).ok());
  std::this_thread::sleep_for(300ms);

  // Nobody takes floor, ru or kk (the console hears the floor from its own mix, not the fan-out).
  const double idle = ChannelPacketRate();
  std::printf("[ measured ] no listener: %.0f encoded channel packets/s (3 channels at 10 ms)\n", idle);
  EXPECT_EQ(idle, 0) << "channels encoded with nobody taking them";

  // The first listener of ru: its first packet comes within a few frames of Subscribe.
  const auto asked = std::chrono::steady_clock::now();
  auto l = Listen(sid, "ru");
  ASSERT_TRUE(l);
  ASSERT_TRUE(l->WaitForSamples(480, 2s));
  const double first_ms = std::chrono::duration<double, std::milli>(l->Arrivals().front().arrival - asked).count();
  std::printf("[ measured ] Subscribe -> first packet of an idle channel: %.1f ms\n", first_ms);
  EXPECT_LT(first_ms, 100) << "the encoder starts with its first taker";
  const auto levels = NextLevels(*l, {880, 440}, 500);
  std::printf("[ measured ] ru 880 Hz at %.2f dBFS, floor %.2f\n", levels[0], levels[1]);
  EXPECT_NEAR(levels[0], -20, 1.5) << "the interpreter at the level sent, from a started encoder";
  EXPECT_LT(levels[1], levels[0] - 15);
  const double one = ChannelPacketRate();
  std::printf("[ measured ] one listener of ru: %.0f encoded channel packets/s\n", one);
  EXPECT_NEAR(one - idle, 100, 8) << "ru encoded, once, for its listener";

  // Switched to kk, nobody's until now: heard at once, ru stops.
  const std::size_t before = l->Arrivals().size();
  const auto switched = std::chrono::steady_clock::now();
  ASSERT_TRUE(l->SwitchChannel("kk").ok());
  for (int i = 0; i < 200 && l->Arrivals().size() < before + 50; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(l->Arrivals().size(), before + 50) << "kk never came";
  const auto arrivals = l->Arrivals();
  double gap_ms = 0;
  for (std::size_t i = before; i < arrivals.size(); ++i)
    gap_ms = std::max(gap_ms,
                      std::chrono::duration<double, std::milli>(arrivals[i].arrival - arrivals[i - 1].arrival).count());
  std::printf(
      "[ measured ] switch to an idle channel: longest gap between packets %.1f ms (switched %.1f ms before the "
      "last)\n",
      gap_ms, std::chrono::duration<double, std::milli>(arrivals.back().arrival - switched).count());
  EXPECT_LT(gap_ms, 60) << "the new channel's encoder starts within a few frames";
  EXPECT_EQ(l->stats().lost, 0u);
  EXPECT_NEAR(ChannelPacketRate() - idle, 100, 8) << "kk now, not ru and kk";

  // The last listener leaves: back to idle.
  l->Stop(true);
  std::this_thread::sleep_for(200ms);
  const double after = ChannelPacketRate();
  std::printf("[ measured ] after the listener left: %.0f encoded channel packets/s\n", after);
  EXPECT_NEAR(after, idle, 5);
}

}  // namespace
}  // namespace tilmash::testing
