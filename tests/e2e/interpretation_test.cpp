// The foundation's first complete path, measured at a real listener:
// floor + interpreter -> language channels -> per-listener SRTP.
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

constexpr double kFloorHz = 440, kRuHz = 880;

TEST_F(E2eTest, InterpreterOnAirReplacesTheFloorAndMicOffBringsItBackWithin100ms) {
  auto session = CreateSession({"en", "ru"}, kFloorHz);
  auto console = Join(session.id(), "ru");
  auto voice = Speak(console.ingest(), kRuHz);
  auto ru = Listen(session.id(), "ru");
  auto en = Listen(session.id(), "en");
  ASSERT_TRUE(ru && en);

  // Nobody live: both channels carry the floor (auto-floor).
  auto before = NextLevels(*ru, {kFloorHz, kRuHz});
  EXPECT_GT(before[0], -26) << "ru carries the floor while no mic is live";
  EXPECT_LT(before[1], before[0] - 30);

  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  NextLevels(*ru, {kRuHz}, 100);  // let the ramp pass
  auto live = NextLevels(*ru, {kFloorHz, kRuHz});
  EXPECT_NEAR(audio::DominantFrequency(ru->Samples(ru->SampleCount() - 9600, 9600)), kRuHz, 5);
  EXPECT_GT(live[1], -24) << "the interpreter is heard at full level";
  EXPECT_LE(live[0], live[1] - 15) << "the floor is ducked at least 15 dB under the interpreter";
  auto en_levels = NextLevels(*en, {kFloorHz, kRuHz});
  EXPECT_GT(en_levels[0], -26) << "en has nobody live: it still hears the floor";
  EXPECT_LT(en_levels[1], en_levels[0] - 30);

  const auto rpc = std::chrono::steady_clock::now();
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), false).ok());
  const std::size_t from = ru->SampleCount();
  ASSERT_TRUE(ru->WaitForSamples(from + 48 * 300, 5s));
  auto samples = ru->Samples();
  std::optional<double> switched_ms;
  for (const auto& a : ru->Arrivals()) {
    if (a.arrival < rpc || a.sample_index + 480 > samples.size()) continue;
    std::span<const float> frame(samples.data() + a.sample_index, 480);
    if (audio::ToneLevelDb(frame, kFloorHz) > audio::ToneLevelDb(frame, kRuHz) + 10) {
      switched_ms = std::chrono::duration<double, std::milli>(a.arrival - rpc).count();
      break;
    }
  }
  ASSERT_TRUE(switched_ms.has_value()) << "the floor never came back";
  std::cout << "[ measured ] mic off -> floor at the listener: " << *switched_ms << " ms\n";
  EXPECT_LT(*switched_ms, 100.0);
  EXPECT_EQ(ru->stats().lost, 0u);
  EXPECT_EQ(ru->stats().auth_failures, 0u);
}

TEST_F(E2eTest, AWrongKeyDecodesNothing) {
  auto session = CreateSession({"ru"}, kFloorHz);
  auto good = Listen(session.id(), "ru");
  auto thief = Listen(session.id(), "ru", v1::AES_CM_128_HMAC_SHA1_80, std::vector<uint8_t>(30, 0x5a));
  ASSERT_TRUE(good && thief);
  NextLevels(*good, {kFloorHz}, 300);
  ASSERT_TRUE(thief->WaitForStats([](const auto& s) { return s.auth_failures >= 20; }, 5s));
  EXPECT_EQ(thief->SampleCount(), 0u);
  EXPECT_EQ(thief->stats().packets, 0u);
  EXPECT_EQ(good->stats().auth_failures, 0u);
}

TEST_F(E2eTest, GcmListenersWorkToo) {
  auto session = CreateSession({"kk"}, kFloorHz);
  auto l = Listen(session.id(), "kk", v1::AEAD_AES_128_GCM);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->subscription().srtp().master_key().size(), 28u);
  EXPECT_GT(NextLevels(*l, {kFloorHz})[0], -26);
}

TEST_F(E2eTest, SwitchChannelChangesWhatTheListenerHears) {
  auto session = CreateSession({"en", "ru"}, kFloorHz);
  auto console = Join(session.id(), "ru");
  auto voice = Speak(console.ingest(), kRuHz);
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  auto l = Listen(session.id(), "en");
  ASSERT_TRUE(l);
  auto on_en = NextLevels(*l, {kFloorHz, kRuHz});
  EXPECT_GT(on_en[0], on_en[1] + 20);
  ASSERT_TRUE(l->SwitchChannel("ru").ok());
  NextLevels(*l, {kRuHz}, 100);
  auto on_ru = NextLevels(*l, {kFloorHz, kRuHz});
  EXPECT_GT(on_ru[1], on_ru[0] + 15);
  ASSERT_TRUE(l->SwitchChannel("floor").ok());
  NextLevels(*l, {kFloorHz}, 100);
  auto on_floor = NextLevels(*l, {kFloorHz, kRuHz});
  EXPECT_GT(on_floor[0], on_floor[1] + 20) << "back on the original";
  // Same SSRC, continuous sequence: the receiver saw no loss across the switches.
  EXPECT_EQ(l->stats().lost, 0u);
  EXPECT_EQ(l->stats().wrong_ssrc, 0u);
}

TEST_F(E2eTest, TonesFrom125HzTo15kHzArriveWithin3dBOfEachOther) {
  auto session = CreateSession({"en"}, 1000);
  auto l = Listen(session.id(), "en");
  ASSERT_TRUE(l);
  std::vector<double> levels;
  for (double hz : {125.0, 1000.0, 8000.0, 15000.0}) {
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(session.id());
    req.mutable_source()->mutable_tone()->set_frequency_hz(hz);
    req.mutable_source()->mutable_tone()->set_level_dbfs(-20);
    v1::Session resp;
    ASSERT_TRUE(daemon_.sessions().SetFloorSource(&ctx, req, &resp).ok());
    NextLevels(*l, {hz}, 100);  // the new source settles
    const double level = NextLevels(*l, {hz}, 300)[0];
    std::cout << "[ measured ] " << hz << " Hz at the listener: " << level << " dBFS (sent -20)\n";
    levels.push_back(level);
  }
  const auto [lo, hi] = std::minmax_element(levels.begin(), levels.end());
  EXPECT_LE(*hi - *lo, 6.0) << "the passband 125 Hz - 15 kHz is flat within +/-3 dB";
  for (double v : levels) EXPECT_NEAR(v, -20, 3);
}

}  // namespace
}  // namespace tilmash::testing
