// The state store seen from the domain: every change is written before the call answers, a
// failed write is the caller's error (and a new listener, console or session that cannot be
// saved does not start), shutdown keeps what EndSession forgets, and a registry restored from
// the records has the same sessions, consoles and listeners, each stream resumed forward.
#include <gtest/gtest.h>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using namespace std::chrono_literals;
using testing::FakeKeys;
using testing::FakeMedia;
using testing::FakeStore;
using testing::RecordingEvents;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry = std::make_unique<SessionRegistry>(SessionPorts{&media, &keys, &events, nullptr, nullptr, &store},
                                                 kDefaultFloorDuckDb, ListenerPolicy{});
    SessionSpec spec;
    spec.id = "plenary";
    spec.name = "Plenary";
    spec.languages = {"en", "ru"};
    spec.floor_source = RtpSource{true};
    ASSERT_TRUE(registry->Create(spec).ok());
    s = registry->Find("plenary").value();
  }
  ListenerView Join(const std::string& channel) {
    ListenerRequest r;
    r.channel = channel;
    r.endpoint = {"127.0.0.1", uint16_t(40000 + ++joined)};
    auto l = s->Subscribe(r);
    EXPECT_TRUE(l.ok()) << l.status().message();
    return l.ok() ? l.value() : ListenerView{};
  }
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  FakeStore store;
  std::unique_ptr<SessionRegistry> registry;
  std::shared_ptr<Session> s;
  int joined = 0;
};

TEST_F(StoreTest, EveryChangeIsInTheStoreWhenTheCallReturns) {
  ASSERT_EQ(store.sessions.count("plenary"), 1u);
  EXPECT_EQ(store.sessions["plenary"].channels.size(), 2u);
  ASSERT_TRUE(store.sessions["plenary"].floor_ingest.has_value());
  EXPECT_TRUE(store.sessions["plenary"].floor_ingest->srtp.has_value()) << "the floor's ingest key is kept";

  ConsoleRequest c;
  c.booth = "ru";
  c.return_endpoint = Endpoint{"127.0.0.1", 39000};
  auto joined_console = s->JoinConsole(c);
  ASSERT_TRUE(joined_console.ok());
  const ConsoleId console = joined_console->console.id;
  ASSERT_TRUE(s->SetMic(console, true).ok());
  ASSERT_EQ(store.sessions["plenary"].consoles.size(), 1u);
  const StoredConsole& saved = store.sessions["plenary"].consoles[0];
  EXPECT_EQ(saved.view.id, console);
  EXPECT_EQ(saved.view.mic, MicState::kLive);
  EXPECT_EQ(saved.ingest.endpoint.port, joined_console->ingest.endpoint.port);
  ASSERT_TRUE(saved.return_stream.has_value());
  EXPECT_EQ(saved.return_stream->ssrc, joined_console->return_feed->ssrc);

  const ListenerView l = Join("en");
  ASSERT_EQ(store.listeners.count(l.id), 1u);
  EXPECT_EQ(store.listeners[l.id].view.ssrc, l.ssrc);
  EXPECT_EQ(store.listeners[l.id].view.srtp.master_key, l.srtp.master_key);
  EXPECT_GT(store.listeners[l.id].anchor.since_unix_ms, 0);
  ASSERT_TRUE(s->SwitchChannel(l.id, "ru").ok());
  EXPECT_EQ(store.listeners[l.id].view.channel, "ru");
  ASSERT_TRUE(s->Unsubscribe(l.id).ok());
  EXPECT_EQ(store.listeners.count(l.id), 0u);

  ASSERT_TRUE(s->SetBroadcastState(true, true).ok());
  EXPECT_TRUE(store.sessions["plenary"].on_air);
  ASSERT_TRUE(s->SetInterlockMode(InterlockMode::kOverride).ok());
  EXPECT_EQ(store.sessions["plenary"].interlock, InterlockMode::kOverride);
}

TEST_F(StoreTest, AFailedWriteIsTheCallersErrorAndNothingNewStartsUnsaved) {
  store.fail = true;
  ListenerRequest r;
  r.channel = "en";
  r.endpoint = {"127.0.0.1", 41000};
  auto l = s->Subscribe(r);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(l.status().message().find("not saved"), std::string::npos) << l.status().message();
  EXPECT_NE(l.status().message().find("disk full"), std::string::npos) << l.status().message();
  EXPECT_TRUE(media.listener_channel.empty()) << "its stream stopped";
  EXPECT_EQ(s->View().channels[1].listener_count, 0u);

  ConsoleRequest c;
  c.booth = "ru";
  auto console = s->JoinConsole(c);
  ASSERT_FALSE(console.ok());
  EXPECT_NE(console.status().message().find("did not join"), std::string::npos) << console.status().message();
  EXPECT_TRUE(s->View().consoles.empty());

  SessionSpec spec;
  spec.id = "side-hall";
  spec.languages = {"en"};
  auto created = registry->Create(spec);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("not created"), std::string::npos) << created.status().message();
  EXPECT_FALSE(registry->Find("side-hall").ok());

  // A change to what exists: live, and the caller hears that it is not saved.
  auto duck = s->SetChannelDucking("en", -12);
  ASSERT_FALSE(duck.ok());
  EXPECT_NE(duck.status().message().find("live but was not saved"), std::string::npos) << duck.status().message();
  // The next change that can be saved saves everything (the record is the whole session).
  store.fail = false;
  ASSERT_TRUE(s->SetFloorLanguage("en").ok());
  EXPECT_DOUBLE_EQ(store.sessions["plenary"].channels[0].duck_db, -12);
}

TEST_F(StoreTest, EndSessionForgetsAndShutdownKeeps) {
  Join("en");
  registry->EndAll();
  EXPECT_EQ(store.sessions.count("plenary"), 1u) << "shutdown keeps the session for the next start";
  EXPECT_EQ(store.listeners.size(), 1u);

  SessionSpec spec;
  spec.id = "side-hall";
  spec.languages = {"en"};
  ASSERT_TRUE(registry->Create(spec).ok());
  ASSERT_TRUE(registry->End("side-hall").ok());
  EXPECT_EQ(store.sessions.count("side-hall"), 0u);
}

TEST_F(StoreTest, ARestoredRegistryHasEverythingBackWithStreamsResumedForward) {
  ConsoleRequest c;
  c.booth = "ru";
  c.return_endpoint = Endpoint{"127.0.0.1", 39000};
  auto joined_console = s->JoinConsole(c);
  ASSERT_TRUE(joined_console.ok());
  ASSERT_TRUE(s->SetMic(joined_console->console.id, true).ok());
  const ListenerView l = Join("en");

  // A new process: new media, new keys (ids that cannot collide), the same store.
  FakeMedia media2;
  FakeKeys keys2;
  keys2.ids = 1000;
  SessionRegistry again(SessionPorts{&media2, &keys2, nullptr, nullptr, nullptr, &store}, kDefaultFloorDuckDb,
                        ListenerPolicy{});
  const RestoreReport report = again.Restore(store.Sessions(), store.Listeners());
  EXPECT_TRUE(report.problems.empty()) << report.problems[0];
  EXPECT_EQ(report.consoles, 1u);
  EXPECT_EQ(report.listeners, 1u);
  auto back = again.Find("plenary");
  ASSERT_TRUE(back.ok());
  const SessionView v = back.value()->View();
  ASSERT_EQ(v.channels.size(), 3u);
  ASSERT_EQ(v.consoles.size(), 1u);
  EXPECT_EQ(v.consoles[0].id, joined_console->console.id);
  EXPECT_EQ(v.consoles[0].mic, MicState::kLive);
  EXPECT_EQ(v.channels[2].live_console, joined_console->console.id) << "the live mic stays live";
  EXPECT_EQ(v.channels[1].listener_count, 1u);
  EXPECT_DOUBLE_EQ(media2.ConsoleGain("ru", joined_console->console.id).value_or(-1), 0.0) << "on air again";
  ASSERT_TRUE(v.floor_ingest.has_value());
  EXPECT_EQ(v.floor_ingest->srtp->master_key, s->View().floor_ingest->srtp->master_key) << "the desk's key";
  // The listener's stream resumes past where it was (a margin ahead), with its own SSRC and key.
  ASSERT_EQ(media2.listener_first.count(l.id), 1u);
  EXPECT_GE(media2.listener_first[l.id].first, kResumeMarginPackets);
  EXPECT_LT(media2.listener_first[l.id].first, kResumeMarginPackets + 200);
  auto keys_now = back.value()->OpenKeyStream(l.id);
  ASSERT_TRUE(keys_now.ok());
  EXPECT_EQ(keys_now->ssrc, l.ssrc);
  EXPECT_EQ(keys_now->srtp.master_key, l.srtp.master_key);
  // The return feed too.
  EXPECT_EQ(media2.listener_first.count("r-" + joined_console->console.id), 1u);
  // And changes go on being saved.
  ASSERT_TRUE(back.value()->Unsubscribe(l.id).ok());
  EXPECT_EQ(store.listeners.count(l.id), 0u);
}

TEST(ResumePoint, IsTimeDerivedPlusAMarginAndCarriesTheRoc) {
  StreamAnchor a{1'000'000, (uint64_t(3) << 16) | 65000, 123456, 10};
  auto [index, ts] = ResumePoint(a, 1'000'000 + 20'000);  // 20 s later: 2,000 packets
  EXPECT_EQ(index, a.index + 2000 + 1 + kResumeMarginPackets);
  EXPECT_EQ(index >> 16, 4u) << "the sequence wrapped: ROC 4";
  EXPECT_EQ(ts, uint32_t(a.timestamp + (2000 + 1 + kResumeMarginPackets) * 480));
  auto [early, early_ts] = ResumePoint(a, a.since_unix_ms - 5000);  // a clock that stepped back
  EXPECT_EQ(early, a.index + 1 + kResumeMarginPackets);
  (void)early_ts;
}

}  // namespace
}  // namespace tilmash::domain
