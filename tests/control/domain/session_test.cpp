#include "domain/session_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "domain/language.h"
#include "domain/sdp.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using testing::FakeKeys;
using testing::FakeMedia;
using testing::RecordingEvents;

class SessionTest : public ::testing::Test {
 protected:
  std::shared_ptr<Session> Make(std::vector<std::string> langs = {"en", "ru", "kk"}) {
    SessionSpec spec;
    spec.name = "Plenary";
    spec.languages = std::move(langs);
    auto v = registry.Create(spec);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return registry.Find(v->id).value();
  }
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  testing::ManualClock clock;
  SessionRegistry registry{SessionPorts{&media, &keys, &events, &clock}};
};

TEST_F(SessionTest, CreatesFloorAndLanguageChannelsInOrder) {
  auto s = Make({"en", "RU", "zh-hans"});
  auto v = s->View();
  ASSERT_EQ(v.channels.size(), 4u);
  EXPECT_EQ(v.channels[0].name, "floor");
  EXPECT_EQ(v.channels[1].name, "en");
  EXPECT_EQ(v.channels[2].name, "ru");  // canonical case
  EXPECT_EQ(v.channels[3].name, "zh-Hans");
  EXPECT_DOUBLE_EQ(v.channels[1].floor_duck_db, -18.0);
  EXPECT_EQ(media.FloorGain("ru"), 0.0);  // nobody live: auto-floor at full level
}

TEST_F(SessionTest, RejectsInvalidRequestsNamingTheField) {
  SessionSpec bad;
  bad.languages = {"en", "not a tag"};
  auto r = registry.Create(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("languages"), std::string::npos);
  EXPECT_TRUE(registry.List().empty()) << "a failed create leaves nothing behind";

  SessionSpec dup;
  dup.languages = {"en", "en"};
  EXPECT_EQ(registry.Create(dup).status().code(), StatusCode::kAlreadyExists);

  SessionSpec loud;
  loud.floor_duck_db = 6;
  auto l = registry.Create(loud);
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(l.status().message().find("floor_duck_db"), std::string::npos);

  auto s = Make();
  auto c = s->AddChannel("xx-", std::nullopt);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  auto sub = s->Subscribe(ListenerRequest{"ru", {"127.0.0.1", 0}, CryptoSuite::kAesCm128HmacSha1_80});
  EXPECT_EQ(sub.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sub.status().message().find("endpoint.port"), std::string::npos);
  auto tone = s->SetFloorSource(ToneSource{5, -20});
  EXPECT_NE(tone.message().find("frequency_hz"), std::string::npos);
}

TEST_F(SessionTest, AnOperatorChosenIdIsValidatedAndUnique) {
  SessionSpec spec;
  spec.id = "plenary";
  spec.languages = {"ru"};
  auto made = registry.Create(spec);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(made->id, "plenary");
  EXPECT_TRUE(registry.Find("plenary").ok());
  auto again = registry.Create(spec);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("session_id"), std::string::npos) << again.status().message();
  for (const std::string& bad :
       std::vector<std::string>{"../etc", "Plenary", "-x", "a/b", "a b", std::string(65, 'a'), "x%2e"}) {
    spec.id = bad;
    auto r = registry.Create(spec);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().message().rfind("session_id: ", 0), 0u) << r.status().message();
  }
  EXPECT_EQ(registry.List().size(), 1u) << "a refused id leaves nothing behind";
  spec.id = "day-2_room3";
  EXPECT_TRUE(registry.Create(spec).ok());
}

TEST_F(SessionTest, UnknownThingsAreNotFound) {
  auto s = Make();
  EXPECT_EQ(registry.Find("s-nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry.Find("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->SetMic("c-nope", true).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->JoinConsole({"de", "x", std::nullopt}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Subscribe(ListenerRequest{"fr", {"127.0.0.1", 9}, {}}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Unsubscribe("l-nope").code(), StatusCode::kNotFound);
}

TEST_F(SessionTest, MicLiveDucksTheFloorAndMicOffRestoresAutoFloor) {
  auto s = Make();
  auto c = s->JoinConsole({"ru", "ru-1", std::nullopt});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ingest.srtp->master_key.size(), 30u);
  EXPECT_EQ(media.ConsoleGain("ru", c->console.id), kSilenceDb);
  ASSERT_TRUE(s->SetMic(c->console.id, true).ok());
  EXPECT_EQ(media.FloorGain("ru"), -18.0);
  EXPECT_EQ(media.ConsoleGain("ru", c->console.id), 0.0);
  EXPECT_EQ(media.FloorGain("kk"), 0.0) << "other channels untouched";
  EXPECT_EQ(s->View().channels[2].live_console, c->console.id);
  ASSERT_TRUE(s->SetMic(c->console.id, false).ok());
  EXPECT_EQ(media.FloorGain("ru"), 0.0);
  EXPECT_EQ(media.ConsoleGain("ru", c->console.id), kSilenceDb);
  auto sources = events.Of<ChannelSourceChanged>();
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].live_console, c->console.id);
  EXPECT_FALSE(sources[1].live_console.has_value());
}

TEST_F(SessionTest, PerChannelDuckingIsApplied) {
  auto s = Make();
  auto c = s->JoinConsole({"kk", "", std::nullopt});
  ASSERT_TRUE(s->SetChannelDucking("kk", -30).ok());
  ASSERT_TRUE(s->SetMic(c->console.id, true).ok());
  EXPECT_EQ(media.FloorGain("kk"), -30.0);
  EXPECT_EQ(s->SetChannelDucking("kk", -80).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SessionTest, CoughMutesOnlyWhileHeldAndKeepsTheChannel) {
  auto s = Make();
  auto c = s->JoinConsole({"ru", "", std::nullopt});
  s->SetMic(c->console.id, true);
  auto muted = s->Cough(c->console.id, true);
  EXPECT_EQ(muted->mic, MicState::kMuted);
  EXPECT_EQ(media.ConsoleGain("ru", c->console.id), kSilenceDb);
  EXPECT_EQ(media.FloorGain("ru"), -18.0) << "the channel stays with the interpreter";
  EXPECT_EQ(s->Cough(c->console.id, false)->mic, MicState::kLive);
  EXPECT_EQ(media.ConsoleGain("ru", c->console.id), 0.0);
  s->SetMic(c->console.id, false);
  EXPECT_EQ(s->Cough(c->console.id, true)->mic, MicState::kOff) << "cough on a dead mic does nothing";
}

TEST_F(SessionTest, InterlockRefusesASecondMicOnTheSameChannel) {
  auto s = Make();
  auto a = s->JoinConsole({"ru", "ru-1", std::nullopt});
  auto b = s->JoinConsole({"ru", "ru-2", std::nullopt});
  ASSERT_TRUE(s->SetMic(a->console.id, true).ok());
  auto refused = s->SetMic(b->console.id, true);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(a->console.id), std::string::npos);
  s->SetMic(a->console.id, false);
  EXPECT_TRUE(s->SetMic(b->console.id, true).ok());
}

TEST_F(SessionTest, ExactlyOneLiveMicUnderConcurrentPresses) {
  auto s = Make();
  std::vector<ConsoleId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(s->JoinConsole({"ru", "", std::nullopt})->console.id);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (const auto& id : ids) threads.emplace_back([&, id] { granted += s->SetMic(id, true).ok() ? 1 : 0; });
    for (auto& t : threads) t.join();
    ASSERT_EQ(granted.load(), 1) << "round " << round;
    int live = 0;
    for (const auto& c : s->View().consoles) live += c.mic != MicState::kOff;
    ASSERT_EQ(live, 1);
    for (const auto& id : ids) s->SetMic(id, false);
  }
}

TEST_F(SessionTest, BoothTakesAtMostFourConsoles) {
  auto s = Make();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s->JoinConsole({"kk", "", std::nullopt}).ok());
  EXPECT_EQ(s->JoinConsole({"kk", "", std::nullopt}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s->JoinConsole({"floor", "", std::nullopt}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SessionTest, BrowserViewersCountInTheirChannelsAudience) {
  auto s = Make();
  std::vector<std::string> answers;
  auto viewer = [&](const std::string& channel) {
    ViewerRequest r;
    r.channel = channel;
    r.offer_sdp = "v=0\r\n";
    r.done = [&](bool ok, const std::string& text) { answers.push_back((ok ? "ok: " : "no: ") + text); };
    return s->AddViewer(r);
  };
  auto w1 = viewer("ru"), w2 = viewer("RU"), w3 = viewer("kk");
  ASSERT_TRUE(w1.ok() && w2.ok() && w3.ok());
  EXPECT_EQ(answers.size(), 3u) << "each viewer got its answer";
  EXPECT_EQ(viewer("xx").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->View().channels[2].listener_count, 2u) << "ru, named in any case";
  EXPECT_EQ(events.Of<ListenerCountChanged>().back().count, 1u) << "kk's count was announced";
  ASSERT_TRUE(s->RemoveViewer(w1.value()).ok());
  EXPECT_EQ(s->RemoveViewer(w1.value()).code(), StatusCode::kNotFound) << "a second removal changes nothing";
  EXPECT_EQ(s->View().channels[2].listener_count, 1u);
  EXPECT_EQ(media.viewers.size(), 2u) << "the removed viewer's media ended";
  ASSERT_TRUE(s->RemoveChannel("kk").ok());
  EXPECT_EQ(media.viewers.count(w3.value()), 0u) << "a viewer ends with its channel";
  EXPECT_EQ(events.Of<ListenerEnded>().back().reason, "channel removed");
  ASSERT_TRUE(s->AddChannel("kk", std::nullopt).ok());
  EXPECT_EQ(s->View().channels[3].listener_count, 0u);
  // A viewer whose connection is over ends on the next tick.
  media.viewers_over.insert(w2.value());
  s->Tick();
  EXPECT_TRUE(media.viewers.empty());
  EXPECT_EQ(s->View().channels[2].listener_count, 0u);
  EXPECT_EQ(events.Of<ListenerEnded>().back().reason, "connection failed or closed");
}

TEST_F(SessionTest, AViewerEndsWhenItsTokenExpiresAndAMalformedOfferIsRefused) {
  auto s = Make();
  ViewerRequest r;
  r.channel = "ru";
  r.offer_sdp = "not sdp";
  r.valid_for = std::chrono::seconds(30);
  EXPECT_EQ(s->AddViewer(r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->View().channels[2].listener_count, 0u) << "a refused offer is not counted";
  r.offer_sdp = "v=0\r\n";
  auto w = s->AddViewer(r);
  ASSERT_TRUE(w.ok());
  clock.now += std::chrono::seconds(29);
  s->Tick();
  EXPECT_EQ(media.viewers.size(), 1u);
  clock.now += std::chrono::seconds(2);
  s->Tick();
  EXPECT_TRUE(media.viewers.empty());
  EXPECT_EQ(events.Of<ListenerEnded>().back().reason, "token expired");
}

TEST_F(SessionTest, OneStreamLimitCountsListenersAndViewers) {
  auto s = Make();
  ListenerRequest l{"ru", {"127.0.0.1", 5004}};
  l.owner = "t-1";
  l.max_streams = 2;
  ASSERT_TRUE(s->Subscribe(l).ok());
  ViewerRequest v;
  v.channel = "ru";
  v.owner = "t-1";
  v.max_streams = 2;
  v.offer_sdp = "v=0\r\n";
  ASSERT_TRUE(s->AddViewer(v).ok());
  EXPECT_EQ(s->AddViewer(v).status().code(), StatusCode::kResourceExhausted);
  l.endpoint.port = 5006;
  EXPECT_EQ(s->Subscribe(l).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s->StopOwnedBy("t-1"), 2u) << "revoking the token ends both";
  EXPECT_TRUE(media.viewers.empty());
}

TEST_F(SessionTest, ListenersAreCountedAndSwitchChannels) {
  auto s = Make();
  auto a = s->Subscribe(ListenerRequest{"ru", {"127.0.0.1", 5004}, CryptoSuite::kAeadAes128Gcm});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->srtp.master_key.size(), 28u);
  auto b = s->Subscribe(ListenerRequest{"ru", {"127.0.0.1", 5006}, {}});
  EXPECT_NE(a->ssrc, b->ssrc);
  EXPECT_NE(a->srtp.master_key, b->srtp.master_key) << "each listener its own key";
  EXPECT_EQ(s->View().channels[2].listener_count, 2u);
  ASSERT_TRUE(s->SwitchChannel(a->id, "kk").ok());
  EXPECT_EQ(media.listener_channel[a->id], "kk");
  EXPECT_EQ(s->View().channels[2].listener_count, 1u);
  EXPECT_EQ(s->View().channels[3].listener_count, 1u);
  ASSERT_TRUE(s->Unsubscribe(b->id).ok());
  EXPECT_EQ(s->View().channels[2].listener_count, 0u);
  auto counts = events.Of<ListenerCountChanged>();
  ASSERT_FALSE(counts.empty());
  EXPECT_EQ(counts.back().channel, "ru");
  EXPECT_EQ(counts.back().count, 0u);
}

TEST_F(SessionTest, RemovingAChannelMovesItsListenersToTheFloor) {
  auto s = Make();
  auto l = s->Subscribe(ListenerRequest{"kk", {"127.0.0.1", 5004}, {}});
  auto c = s->JoinConsole({"kk", "", std::nullopt});
  EXPECT_EQ(s->RemoveChannel("kk").code(), StatusCode::kFailedPrecondition) << "a console is still there";
  s->LeaveConsole(c->console.id);
  ASSERT_TRUE(s->RemoveChannel("kk").ok());
  EXPECT_EQ(media.listener_channel[l->id], "floor");
  EXPECT_EQ(s->View().channels[0].listener_count, 1u);
  EXPECT_EQ(s->RemoveChannel("floor").code(), StatusCode::kFailedPrecondition);
}

TEST_F(SessionTest, FloorRtpSourceWithSrtpGetsAKey) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSource(RtpSource{true}).ok());
  auto v = s->View();
  ASSERT_TRUE(v.floor_ingest.has_value());
  ASSERT_TRUE(v.floor_ingest->srtp.has_value());
  EXPECT_EQ(v.floor_ingest->srtp->master_key.size(), 30u);
  ASSERT_TRUE(s->SetFloorLanguage("KK").ok());
  EXPECT_EQ(s->View().floor_language, "kk");
}

TEST_F(SessionTest, EndingStopsMediaAndForgetsTheSession) {
  auto s = Make();
  const auto id = s->id();
  ASSERT_TRUE(registry.End(id).ok());
  EXPECT_EQ(registry.Find(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(media.ended.back(), id);
  EXPECT_EQ(events.Of<SessionEnded>().size(), 1u);
  EXPECT_EQ(registry.End(id).code(), StatusCode::kNotFound);
}

TEST(LanguageTag, ValidatesAndCanonicalises) {
  for (const char* ok : {"en", "kk", "zh-Hans", "sr-Latn-RS", "tgk"}) EXPECT_TRUE(IsValidLanguageTag(ok)) << ok;
  for (const char* bad : {"", "e", "english", "en-", "-en", "en us", "en-x"})
    EXPECT_FALSE(IsValidLanguageTag(bad)) << bad;
  EXPECT_EQ(CanonicalLanguageTag("ZH-hans-cn"), "zh-Hans-CN");
}

TEST(Sdp, CarriesTheKeyAndPlaysAsOpus) {
  ListenerView l;
  l.channel = "ru";
  l.endpoint = {"127.0.0.1", 5004};
  l.ssrc = 42;
  l.srtp.master_key = std::vector<uint8_t>(30, 7);
  l.send = SendInfo{{"127.0.0.1", 9000}, 111, 48000, 10};
  const auto sdp = ListenerSdp("Plenary", l);
  EXPECT_NE(sdp.find("m=audio 5004 RTP/SAVP 111\r\n"), std::string::npos);
  EXPECT_NE(sdp.find("a=rtpmap:111 opus/48000/2\r\n"), std::string::npos);
  EXPECT_NE(sdp.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + Base64Encode(l.srtp.master_key)),
            std::string::npos);
  EXPECT_EQ(Base64Decode(Base64Encode(l.srtp.master_key)).value(), l.srtp.master_key);
}

TEST(Base64, RoundTripsAllLengths) {
  for (std::size_t len = 0; len < 40; ++len) {
    std::vector<uint8_t> d(len);
    for (std::size_t i = 0; i < len; ++i) d[i] = uint8_t(i * 37 + 1);
    auto back = Base64Decode(Base64Encode(d));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(Base64Encode(std::vector<uint8_t>{'M', 'a', 'n'}), "TWFu");
  EXPECT_FALSE(Base64Decode("TW*u"));
}

}  // namespace
}  // namespace tilmash::domain
