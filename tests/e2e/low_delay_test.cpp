// The low-delay mode: a session created with 2.5 ms frames (CreateSessionRequest.frame_ms) and a
// few ms of jitter buffer mixes and encodes in 2.5 ms frames end to end - its listeners get a
// packet every 2.5 ms carrying 120 samples, the SDP says so, the interpreter is heard at the
// level sent - while a 10 ms session beside it on the same daemon keeps its frames. What it costs
// and how fast it is: tools/bench (low_delay_p99_ms=, low_delay_idle_pct_per_channel=).
#include <map>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

using namespace std::chrono_literals;

class LowDelayTest : public E2eTest {
 protected:
  grpc::Status Create(std::optional<double> frame_ms, std::optional<uint32_t> jitter_ms, v1::Session* s) {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_name("low delay");
    req.add_languages("ru");
    req.set_floor_language("en");
    req.set_loudness_target_lufs(0);  // the level as sent
    req.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
    if (frame_ms) req.set_frame_ms(*frame_ms);
    if (jitter_ms) req.set_jitter_ms(*jitter_ms);
    return daemon_.sessions().CreateSession(&ctx, req, s);
  }
};

TEST_F(LowDelayTest, ASessionAt2_5msFramesSendsAPacketEvery2_5msAndTheInterpreterAtItsLevel) {
  v1::Session low, normal;
  ASSERT_TRUE(Create(2.5, 3, &low).ok());
  ASSERT_TRUE(Create(std::nullopt, std::nullopt, &normal).ok());
  EXPECT_DOUBLE_EQ(low.frame_ms(), 2.5);
  EXPECT_EQ(low.jitter_ms(), 3u);
  EXPECT_DOUBLE_EQ(normal.frame_ms(), 10) << "unset: the daemon's frame_ms";
  EXPECT_DOUBLE_EQ(GetSession(low.id()).frame_ms(), 2.5);

  auto ru = Join(low.id(), "ru");
  auto voice = Speak(ru.ingest(), 880);
  ASSERT_TRUE(SetMic(low.id(), ru.console().id(), true).ok());
  auto l = Listen(low.id(), "ru");
  auto n = Listen(normal.id(), "ru");
  ASSERT_TRUE(l && n);
  EXPECT_EQ(l->subscription().frame_us(), 2500u);
  EXPECT_NE(l->subscription().sdp().find("a=ptime:2.5\r\n"), std::string::npos) << l->subscription().sdp();
  EXPECT_EQ(n->subscription().frame_us(), 10000u);

  const auto levels = NextLevels(*l, {880, 440}, 1000);
  std::printf("[ measured ] 2.5 ms session: ru 880 Hz at %.2f dBFS, floor %.2f\n", levels[0], levels[1]);
  EXPECT_NEAR(levels[0], -20, 1.5) << "the interpreter through 2.5 ms mixing and Opus";
  EXPECT_LT(levels[1], levels[0] - 15) << "the floor ducked under it";

  // One second of arrivals: 400 packets of 120 samples (the 10 ms session: 100 of 480).
  auto steps = [](const client::ListenerClient& c, std::size_t* packets) {
    const auto a = c.Arrivals();
    std::map<uint32_t, int> count;
    const auto since = a.back().arrival - 1s;
    *packets = 0;
    for (std::size_t i = 1; i < a.size(); ++i)
      if (a[i].arrival > since && uint16_t(a[i].seq - a[i - 1].seq) == 1) {
        ++count[a[i].timestamp - a[i - 1].timestamp];
        ++*packets;
      }
    return count;
  };
  std::size_t low_packets = 0, normal_packets = 0;
  const auto low_steps = steps(*l, &low_packets);
  const auto normal_steps = steps(*n, &normal_packets);
  for (const auto* m : {&low_steps, &normal_steps}) {
    std::printf("[ measured ] timestamp steps:");
    for (const auto& [step, count] : *m) std::printf(" %u x%d", step, count);
    std::printf("\n");
  }
  // The most common step, and its share (a listener's first packets may sit on a rebase).
  auto dominant = [](const std::map<uint32_t, int>& m, double* share) {
    std::pair<uint32_t, int> best{0, 0};
    int total = 0;
    for (const auto& [step, count] : m) {
      total += count;
      if (count > best.second) best = {step, count};
    }
    *share = total ? double(best.second) / total : 0;
    return best.first;
  };
  double low_share = 0, normal_share = 0;
  EXPECT_EQ(dominant(low_steps, &low_share), 120u);
  EXPECT_GE(low_share, 0.97) << "packets 120 samples after the one before";
  EXPECT_NEAR(double(low_packets), 400, 12);
  EXPECT_EQ(dominant(normal_steps, &normal_share), 480u);
  EXPECT_GE(normal_share, 0.95);
  EXPECT_NEAR(double(normal_packets), 100, 4);
  EXPECT_EQ(l->stats().lost, 0u);
}

TEST_F(LowDelayTest, AFrameOrJitterBufferOutsideTheModesIsRefusedNamingTheField) {
  v1::Session s;
  grpc::Status st = Create(3, std::nullopt, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("frame_ms must be 2.5, 5, 10 or 20"), std::string::npos) << st.error_message();
  st = Create(5, 500, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("jitter_ms must be between 1 and 200"), std::string::npos) << st.error_message();
}

}  // namespace
}  // namespace tilmash::testing
