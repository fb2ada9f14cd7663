// Original/interpretation balance for headset listeners: mixed by the daemon only for the
// listeners who ask for it (the channel's own stream stays encoded once), measured at real
// SRTP listeners.
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

constexpr double kFloorHz = 440, kRuHz = 880, kEnHz = 660;

class BalanceTest : public E2eTest {
 protected:
  std::unique_ptr<ListenerClient> ListenAt(const std::string& session, const std::string& channel, uint32_t percent,
                                           std::string* error) {
    ListenerClient::Options o;
    o.server = daemon_.address();
    o.grpc_channel = daemon_.channel();
    o.session_id = session;
    o.channel = channel;
    o.interpretation_percent = percent;
    return ListenerClient::Start(o, error);
  }
};

TEST_F(BalanceTest, AListenerHearsTheBalanceItAskedForAndKeepsItAcrossASwitch) {
  auto session = CreateSession({"en", "ru"}, kFloorHz);
  auto ru_console = Join(session.id(), "ru");
  auto en_console = Join(session.id(), "en");
  auto ru_voice = Speak(ru_console.ingest(), kRuHz);
  auto en_voice = Speak(en_console.ingest(), kEnHz);
  ASSERT_TRUE(SetMic(session.id(), ru_console.console().id(), true).ok());
  ASSERT_TRUE(SetMic(session.id(), en_console.console().id(), true).ok());
  std::string error;
  auto plain = Listen(session.id(), "ru");
  auto half = ListenAt(session.id(), "ru", 50, &error);
  ASSERT_TRUE(half) << error;
  auto original = ListenAt(session.id(), "ru", 0, &error);
  ASSERT_TRUE(original) << error;
  auto rounded = ListenAt(session.id(), "ru", 52, &error);
  ASSERT_TRUE(plain && rounded) << error;
  EXPECT_EQ(plain->subscription().interpretation_percent(), 100u);
  EXPECT_EQ(half->subscription().interpretation_percent(), 50u);
  EXPECT_EQ(original->subscription().interpretation_percent(), 0u);
  EXPECT_EQ(rounded->subscription().interpretation_percent(), 50u) << "balances are mixed in 5 % steps";
  NextLevels(*half, {kRuHz}, 200);  // past the mixes' first frames

  // The interpreter at -20 dBFS, the floor at -20 dBFS ducked by 18 dB in the channel.
  auto p = NextLevels(*plain, {kFloorHz, kRuHz}, 400);
  auto h = NextLevels(*half, {kFloorHz, kRuHz}, 400);
  auto o = NextLevels(*original, {kFloorHz, kRuHz}, 400);
  std::cout << "[ measured ] ru at 100 %: floor " << p[0] << " dB, ru " << p[1] << " dB; at 50 %: floor " << h[0]
            << " dB, ru " << h[1] << " dB; at 0 %: floor " << o[0] << " dB, ru " << o[1] << " dB\n";
  EXPECT_NEAR(p[1], -20, 1.5);
  EXPECT_LT(p[0], -34) << "the channel as is: the floor ducked";
  EXPECT_NEAR(h[1], -26, 1.5) << "half the interpretation is 6 dB under it";
  // Half the floor (-26 dB) plus half the ducked floor inside the channel, in phase: -25 dB.
  EXPECT_NEAR(h[0], -25, 1.5) << "half the original is mixed in, lined up with the channel's";
  EXPECT_NEAR(o[0], -20, 1.5) << "0 %: the original at full level";
  EXPECT_LT(o[1], -60) << "0 %: no interpretation at all";

  // The balance stays with the listener when it changes language.
  ASSERT_TRUE(half->SwitchChannel("en").ok());
  NextLevels(*half, {kEnHz}, 150);
  auto en = NextLevels(*half, {kFloorHz, kRuHz, kEnHz}, 400);
  std::cout << "[ measured ] after the switch to en at 50 %: floor " << en[0] << " dB, en " << en[2] << " dB, ru "
            << en[1] << " dB\n";
  EXPECT_NEAR(en[2], -26, 1.5);
  EXPECT_NEAR(en[0], -25, 1.5);
  EXPECT_LT(en[1], -60);
  for (auto* l : {plain.get(), half.get(), original.get()}) {
    EXPECT_EQ(l->stats().lost, 0u);
    EXPECT_EQ(l->stats().wrong_ssrc, 0u);
    EXPECT_EQ(l->stats().auth_failures, 0u);
  }
}

TEST_F(BalanceTest, AnImpossibleBalanceIsRefusedNamingTheField) {
  auto session = CreateSession({"en"}, kFloorHz);
  std::string error;
  EXPECT_FALSE(ListenAt(session.id(), "en", 101, &error));
  EXPECT_NE(error.find("interpretation_percent"), std::string::npos) << error;
  // The floor has no interpretation to balance: it is the original, whatever was asked.
  auto floor = ListenAt(session.id(), "floor", 30, &error);
  ASSERT_TRUE(floor) << error;
  auto f = NextLevels(*floor, {kFloorHz}, 200);
  EXPECT_NEAR(f[0], -20, 1.5);
}

}  // namespace
}  // namespace tilmash::testing
