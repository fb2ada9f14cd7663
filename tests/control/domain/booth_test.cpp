// Booth rules, tested without GStreamer: interlock modes, handover, relay and auto-relay,
// retour, relay generations and loops, indicators and messages.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using testing::FakeKeys;
using testing::FakeMedia;
using testing::ManualClock;
using testing::RecordingEvents;

class BoothTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SessionSpec spec;
    spec.languages = {"en", "ru", "kk", "uz", "ky"};
    auto v = registry.Create(spec);
    ASSERT_TRUE(v.ok());
    s = registry.Find(v->id).value();
  }
  ConsoleId Join(const std::string& booth, bool with_return = false) {
    ConsoleRequest r{booth, "", std::nullopt};
    if (with_return) r.return_endpoint = Endpoint{"127.0.0.1", uint16_t(7000 + ++returns)};
    auto j = s->JoinConsole(r);
    EXPECT_TRUE(j.ok()) << j.status().message();
    return j->console.id;
  }
  int returns = 0;
  ConsoleView Console(const ConsoleId& id) {
    for (const auto& c : s->View().consoles)
      if (c.id == id) return c;
    ADD_FAILURE() << "no console " << id;
    return {};
  }
  ChannelView Channel(const std::string& name) {
    for (const auto& c : s->View().channels)
      if (c.name == name) return c;
    ADD_FAILURE() << "no channel " << name;
    return {};
  }
  int LiveOn(const std::string& channel) {
    int n = 0;
    for (const auto& c : s->View().consoles) n += c.output_channel == channel && c.mic != MicState::kOff;
    return n;
  }
  static InputSelection Relay(const std::string& ch) { return {InputSelection::Kind::kChannel, ch}; }

  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  ManualClock clock;
  SessionRegistry registry{SessionPorts{&media, &keys, &events, &clock}};
  std::shared_ptr<Session> s;
};

TEST_F(BoothTest, OverrideHandsTheChannelToTheSecondMic) {
  ASSERT_TRUE(s->SetInterlockMode(InterlockMode::kOverride).ok());
  auto a = Join("ru"), b = Join("ru");
  ASSERT_TRUE(s->SetMic(a, true).ok());
  ASSERT_TRUE(s->SetMic(b, true).ok());
  EXPECT_EQ(Console(a).mic, MicState::kOff);
  EXPECT_EQ(Console(b).mic, MicState::kLive);
  EXPECT_EQ(media.ConsoleGain("ru", a), kSilenceDb);
  EXPECT_EQ(media.ConsoleGain("ru", b), 0.0);
  ASSERT_TRUE(s->SetMic(b, false).ok());
  EXPECT_EQ(LiveOn("ru"), 0) << "plain override does not give the channel back";
}

TEST_F(BoothTest, ToggleOverrideGivesTheChannelBack) {
  ASSERT_TRUE(s->SetInterlockMode(InterlockMode::kToggleOverride).ok());
  auto a = Join("ru"), b = Join("ru");
  s->SetMic(a, true);
  s->SetMic(b, true);
  EXPECT_TRUE(Console(a).held);
  EXPECT_EQ(Console(a).mic, MicState::kOff);
  s->SetMic(b, false);
  EXPECT_EQ(Console(a).mic, MicState::kLive);
  EXPECT_FALSE(Console(a).held);
  EXPECT_EQ(media.ConsoleGain("ru", a), 0.0);
  // A held console that switches off gives up its claim.
  s->SetMic(b, true);
  s->SetMic(a, false);
  s->SetMic(b, false);
  EXPECT_EQ(LiveOn("ru"), 0);
}

TEST_F(BoothTest, OneLiveMicPerChannelInEveryModeUnderConcurrentPresses) {
  for (auto mode : {InterlockMode::kInterlock, InterlockMode::kOverride, InterlockMode::kToggleOverride}) {
    ASSERT_TRUE(s->SetInterlockMode(mode).ok());
    ASSERT_TRUE(s->ConfigureBooth("kk", BoothConfig{"ru", std::nullopt, {}}).ok());
    std::vector<ConsoleId> ids{Join("ru"), Join("ru"), Join("kk")};
    ASSERT_TRUE(s->SelectOutput(ids[2], OutputSlot::kB).ok()) << "kk retour into ru shares the channel";
    std::atomic<bool> stop{false};
    std::atomic<int> violations{0};
    std::thread checker([&] {
      while (!stop) violations += LiveOn("ru") > 1;
    });
    std::vector<std::thread> threads;
    for (const auto& id : ids)
      threads.emplace_back([&, id] {
        for (int i = 0; i < 300; ++i) s->SetMic(id, i % 3 != 2);
      });
    for (auto& t : threads) t.join();
    stop = true;
    checker.join();
    EXPECT_EQ(violations.load(), 0) << mode;
    EXPECT_LE(LiveOn("ru"), 1);
    for (const auto& id : ids) s->LeaveConsole(id);
    s->ConfigureBooth("kk", BoothConfig{});
  }
}

TEST_F(BoothTest, HandoverSwitchesAtomicallyInOneMixChange) {
  auto live = Join("ru"), partner = Join("ru");
  s->SetMic(live, true);
  EXPECT_EQ(s->AcceptHandover(live).code(), StatusCode::kFailedPrecondition) << "nothing was asked";
  ASSERT_TRUE(s->RequestHandover(partner).ok());
  EXPECT_EQ(s->Booth("ru")->handover_to, partner);
  EXPECT_EQ(s->RequestHandover(partner).code(), StatusCode::kFailedPrecondition) << "already pending";
  ASSERT_TRUE(s->AcceptHandover(live).ok());
  EXPECT_EQ(Console(live).mic, MicState::kOff);
  EXPECT_EQ(Console(partner).mic, MicState::kLive);
  // The last mix the media saw for ru has both changes: one ramp pair, no gap, no overlap.
  EXPECT_EQ(media.ConsoleGain("ru", partner), 0.0);
  EXPECT_EQ(media.ConsoleGain("ru", live), kSilenceDb);
  EXPECT_EQ(media.FloorGain("ru"), -18.0);
  auto h = events.Of<HandoverChanged>();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].what, HandoverChanged::What::kAccepted);
}

TEST_F(BoothTest, ALiveConsoleThatLosesItsLinkLeavesItsChannelToTheFloorAndComesBack) {
  auto live = Join("ru"), partner = Join("ru");
  ASSERT_TRUE(s->SetMic(live, true).ok());
  ASSERT_EQ(media.FloorGain("ru"), -18.0);
  media.Link(live, false);
  // The floor at full level, the interpreter closed; the mic stays live and the channel its.
  EXPECT_EQ(media.FloorGain("ru"), 0.0);
  EXPECT_EQ(media.ConsoleGain("ru", live), kSilenceDb);
  EXPECT_EQ(Console(live).mic, MicState::kLive);
  EXPECT_TRUE(Console(live).link_lost);
  EXPECT_EQ(Channel("ru").live_console, live);
  EXPECT_TRUE(s->Booth("ru")->consoles[0].link_lost || s->Booth("ru")->consoles[1].link_lost);
  auto changes = events.Of<ConsoleLinkChanged>();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].console, live);
  EXPECT_EQ(changes[0].channel, "ru");
  EXPECT_TRUE(changes[0].link_lost);
  EXPECT_EQ(changes[0].mic, MicState::kLive);
  EXPECT_FALSE(events.Of<BoothChanged>().empty());
  // The same report twice changes nothing; a console without a live mic only shows it.
  media.Link(live, false);
  media.Link(partner, false);
  EXPECT_EQ(events.Of<ConsoleLinkChanged>().size(), 2u);
  EXPECT_EQ(media.FloorGain("ru"), 0.0);
  // Packets again: the interpreter's voice is back, the floor ducked again.
  media.Link(live, true);
  EXPECT_EQ(media.FloorGain("ru"), -18.0);
  EXPECT_EQ(media.ConsoleGain("ru", live), 0.0);
  EXPECT_FALSE(Console(live).link_lost);
  // A link report for a console that left is ignored.
  ASSERT_TRUE(s->LeaveConsole(partner).ok());
  media.Link(partner, true);
  EXPECT_EQ(events.Of<ConsoleLinkChanged>().size(), 3u);
}

TEST_F(BoothTest, HandoverCanBeDeclinedAndTimesOut) {
  auto live = Join("ru"), partner = Join("ru");
  s->SetMic(live, true);
  ASSERT_TRUE(s->RequestHandover(partner).ok());
  ASSERT_TRUE(s->DeclineHandover(live).ok());
  EXPECT_EQ(Console(live).mic, MicState::kLive);
  EXPECT_FALSE(s->Booth("ru")->handover_to.has_value());
  ASSERT_TRUE(s->RequestHandover(partner).ok());
  clock.now += kHandoverTimeout + std::chrono::seconds(1);
  s->Tick();
  EXPECT_EQ(events.Of<HandoverChanged>().back().what, HandoverChanged::What::kExpired);
  EXPECT_EQ(s->AcceptHandover(live).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->RequestHandover(live).code(), StatusCode::kFailedPrecondition) << "already live";
}

TEST_F(BoothTest, AHandoverToAPartnerWhoMovedIsRefusedAndNeverMakesTwoWriters) {
  ASSERT_TRUE(s->ConfigureBooth("kk", BoothConfig{"ru", std::nullopt, {}}).ok());
  auto c1 = Join("kk"), c2 = Join("kk"), c3 = Join("ru");
  s->SetMic(c1, true);
  ASSERT_TRUE(s->RequestHandover(c2).ok());
  ASSERT_TRUE(s->SelectOutput(c2, OutputSlot::kB).ok());  // the partner moves to ru
  s->SetMic(c3, true);
  EXPECT_EQ(s->AcceptHandover(c1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(LiveOn("ru"), 1);
  EXPECT_EQ(LiveOn("kk"), 1);
}

TEST_F(BoothTest, ManualRelayAndLoopsAreRefused) {
  auto ru = Join("ru"), uz = Join("uz");
  ASSERT_TRUE(s->SelectInput(uz, Relay("ru")).ok());
  EXPECT_EQ(Console(uz).effective_input, "ru");
  s->SetMic(uz, true);
  ASSERT_TRUE(s->SelectInput(ru, Relay("uz")).ok()) << "ru is off air: no loop yet";
  EXPECT_EQ(s->SetMic(ru, true).status().code(), StatusCode::kFailedPrecondition) << "going live would close it";
  ASSERT_TRUE(s->SelectInput(ru, InputSelection{InputSelection::Kind::kFloor, ""}).ok());
  ASSERT_TRUE(s->SetMic(ru, true).ok()) << "ru from the floor is fine";
  auto refused = s->SelectInput(ru, Relay("uz"));
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("relay loop"), std::string::npos) << refused.status().message();
  EXPECT_EQ(s->SelectInput(ru, Relay("ru")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->SelectInput(ru, Relay("de")).status().code(), StatusCode::kNotFound);
}

TEST_F(BoothTest, LoopsAreRefusedWhenAMicGoesLive) {
  auto ru = Join("ru"), uz = Join("uz");
  s->SelectInput(ru, Relay("uz"));
  s->SelectInput(uz, Relay("ru"));
  ASSERT_TRUE(s->SetMic(ru, true).ok());
  auto refused = s->SetMic(uz, true);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Console(uz).mic, MicState::kOff);
}

TEST_F(BoothTest, AutoRelayFollowsThePivotAndGenerationsCount) {
  ASSERT_TRUE(s->ConfigureBooth("uz", BoothConfig{std::nullopt, std::nullopt, {"ru", "en"}}).ok());
  ASSERT_TRUE(s->ConfigureBooth("ru", BoothConfig{std::nullopt, std::nullopt, {"kk", "en"}}).ok());
  auto ru = Join("ru", true), uz = Join("uz", true), ky = Join("ky");
  ASSERT_TRUE(s->SetFloorLanguage("kk").ok());
  EXPECT_EQ(Console(ru).effective_input, "floor") << "ru takes kk";
  EXPECT_EQ(Console(uz).effective_input, "ru") << "uz does not take kk: it follows the pivot";
  EXPECT_EQ(media.listener_channel["r-" + uz], "ru") << "the return feed follows";
  s->SelectInput(ky, Relay("uz"));
  s->SetMic(ru, true);
  s->SetMic(uz, true);
  s->SetMic(ky, true);
  EXPECT_EQ(Channel("ru").relay_generation, 0);
  EXPECT_EQ(Channel("uz").relay_generation, 1);
  EXPECT_EQ(Channel("ky").relay_generation, 2);
  EXPECT_EQ(Channel("en").relay_generation, 0);
  EXPECT_EQ(Channel("ru").used_as_relay_by, 1u);
  EXPECT_EQ(Channel("uz").used_as_relay_by, 1u);
  ASSERT_TRUE(s->SetFloorLanguage("en").ok());
  EXPECT_EQ(Console(uz).effective_input, "floor") << "uz takes en";
  EXPECT_EQ(media.listener_channel["r-" + uz], "floor");
  EXPECT_EQ(Channel("uz").relay_generation, 0);
}

TEST_F(BoothTest, TwoReturnFeedsNeverShareAnAddress) {
  auto ru = Join("ru", true);
  ConsoleRequest r{"kk", "", Endpoint{"127.0.0.1", 7001}, ""};
  const Status taken = s->JoinConsole(r).status();
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "return_endpoint: 127.0.0.1:7001 already receives the return feed of console " + ru);
}

TEST_F(BoothTest, AutoRelayPrefersBoothLsRetour) {
  ASSERT_TRUE(s->ConfigureBooth("kk", BoothConfig{"en", std::nullopt, {}}).ok());
  ASSERT_TRUE(s->ConfigureBooth("uz", BoothConfig{std::nullopt, std::nullopt, {"ru", "en"}}).ok());
  auto uz = Join("uz");
  s->SetFloorLanguage("kk");
  EXPECT_EQ(Console(uz).effective_input, "en") << "kk works retour into en: that is the pivot";
}

TEST_F(BoothTest, RetourOutputSelectionAndItsLimits) {
  auto kk = Join("kk");
  EXPECT_EQ(s->SelectOutput(kk, OutputSlot::kB).status().code(), StatusCode::kFailedPrecondition)
      << "no B channel configured";
  auto bad = s->ConfigureBooth("kk", BoothConfig{"kk", std::nullopt, {}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s->ConfigureBooth("kk", BoothConfig{"ru", std::nullopt, {}}).ok());
  EXPECT_EQ(media.console_outputs[kk], (std::vector<ChannelName>{"kk", "ru"}));
  auto ru = Join("ru");
  s->SetMic(ru, true);
  s->SetMic(kk, true);
  EXPECT_EQ(s->SelectOutput(kk, OutputSlot::kB).status().code(), StatusCode::kFailedPrecondition)
      << "ru is engaged by the ru booth";
  s->SetMic(ru, false);
  auto moved = s->SelectOutput(kk, OutputSlot::kB);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->output_channel, "ru");
  EXPECT_EQ(Channel("ru").live_console, kk);
  EXPECT_FALSE(Channel("kk").live_console.has_value()) << "kk falls back to the floor";
  EXPECT_EQ(media.ConsoleGain("ru", kk), 0.0);
  EXPECT_EQ(media.ConsoleGain("kk", kk), kSilenceDb);
  EXPECT_EQ(s->ConfigureBooth("kk", BoothConfig{}).status().code(), StatusCode::kFailedPrecondition)
      << "a console still works on B";
}

TEST_F(BoothTest, MessagesReachTheirAddresseesAndSlowDownIsAnonymous) {
  auto c = Join("kk");
  ASSERT_TRUE(s->SendMessage(Message{MessageKind::kSlowDown, c, "", "", {}}).ok());
  auto m = events.Of<MessageSent>();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].message.to, "chair");
  EXPECT_EQ(m[0].message.from, "booth:kk");
  EXPECT_EQ(m[0].message.from.find(c), std::string::npos);
  ASSERT_TRUE(s->SendMessage(Message{MessageKind::kCallTechnician, c, "", "", {}}).ok());
  EXPECT_EQ(events.Of<MessageSent>().back().message.to, "technician");
  ASSERT_TRUE(s->SendMessage(Message{MessageKind::kText, "chair", "booth:KK", "Speaker changes to Russian", {}}).ok());
  auto booth = s->Booth("kk");
  ASSERT_EQ(booth->messages.size(), 1u);
  EXPECT_EQ(booth->messages[0].text, "Speaker changes to Russian");
  EXPECT_EQ(s->SendMessage(Message{MessageKind::kText, "chair", "booth:de", "x", {}}).code(), StatusCode::kNotFound);
  EXPECT_EQ(s->SendMessage(Message{MessageKind::kText, c, "booth:ru", "x", {}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->SendMessage(Message{MessageKind::kSlowDown, "c-nope", "", "", {}}).code(), StatusCode::kNotFound);
}

TEST_F(BoothTest, IndicatorsReachTheBoothView) {
  auto c = Join("ru");
  s->Subscribe(ListenerRequest{"ru", {"127.0.0.1", 5004}, {}});
  s->SetBroadcastState(true, true);
  auto b = s->Booth("ru");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->on_air);
  EXPECT_TRUE(b->recorded);
  ASSERT_EQ(b->channels.size(), 1u);
  EXPECT_EQ(b->channels[0].listener_count, 1u);
  EXPECT_EQ(b->consoles[0].id, c);
  EXPECT_FALSE(events.Of<BoothChanged>().empty());
}

}  // namespace
}  // namespace tilmash::domain
