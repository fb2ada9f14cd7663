// The technician page's JSON (what each alarm and field is made of) and its feed thread: it
// samples nothing while no page watches, and a domain event reaches the page at once rather
// than at the next tick.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes.h"
#include "metrics/tech_feed.h"
#include "metrics/tech_snapshot.h"

namespace tilmash::metrics {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

SessionSample Plenary() {
  SessionSample s;
  s.view.id = "plenary";
  s.view.name = "Plenary";
  s.view.channels.resize(3);
  s.view.channels[0].name = "floor";
  s.view.channels[1].name = "ru";
  s.view.channels[2].name = "kk";
  s.view.channels[1].live_console = "c-ru";
  s.view.channels[1].unicast_listeners = 2;
  s.view.channels[1].multicast_listeners = 1;
  s.view.channels[1].relay_generation = 1;
  domain::ConsoleView ru;
  ru.id = "c-ru";
  ru.booth = "ru";
  ru.output_channel = "ru";
  ru.mic = domain::MicState::kLive;
  s.view.consoles.push_back(ru);
  s.stats.ingest.push_back(domain::IngestCounters{.source = "floor", .accepted = 100, .lost = 0});
  s.stats.ingest.push_back(domain::IngestCounters{
      .source = "c-ru", .accepted = 90, .lost = 7, .late = 1, .noise_floor_dbfs = -61.5, .narrowband = true});
  s.stats.levels.push_back(domain::ChannelLevel{"floor", -23, -20, false});
  s.stats.levels.push_back(domain::ChannelLevel{"ru", -5.5, -3.0, true});
  return s;
}

json Row(const json& state, const std::string& channel) {
  for (const auto& c : state["sessions"][0]["channels"])
    if (c["channel"] == channel) return c;
  ADD_FAILURE() << "no row " << channel;
  return {};
}

TEST(TechState, ALiveConsolesChannelShowsItsSourceAudienceLossAndClipping) {
  const json state = json::parse(TechState({Plenary()}));
  const json ru = Row(state, "ru");
  EXPECT_EQ(ru["live_console"], "c-ru");
  EXPECT_EQ(ru["auto_floor"], false);
  EXPECT_EQ(ru["audience"], (json{{"srtp", 2}, {"multicast", 1}, {"webrtc", 0}}));
  EXPECT_EQ(ru["relay_generation"], 1);
  EXPECT_EQ(ru["ingest"]["source"], "c-ru") << "the loss shown is the on-air source's";
  EXPECT_EQ(ru["ingest"]["lost"], 7);
  EXPECT_EQ(ru["alarms"]["clipping"], true);
  EXPECT_EQ(ru["alarms"]["link_lost"], json::array());
  EXPECT_EQ(ru["level"]["peak_dbfs"], -3.0);
  EXPECT_EQ(ru["alarms"]["narrowband"], true) << "the speaker on air is on a telephone line";
  EXPECT_EQ(ru["alarms"]["input_clipping"], false);
  EXPECT_EQ(ru["ingest"]["noise_floor_dbfs"], -61.5);
  const json kk = Row(state, "kk");
  EXPECT_EQ(kk["auto_floor"], true);
  EXPECT_TRUE(kk["live_console"].is_null());
  EXPECT_TRUE(kk["level"].is_null()) << "no meter yet: silence, not a number";
  EXPECT_EQ(kk["ingest"]["source"], "floor");
  EXPECT_EQ(Row(state, "floor")["alarms"]["clipping"], false);
}

TEST(TechState, ALostLinkAndTheFloorsBackupAreAlarmsOnTheirRows) {
  SessionSample s = Plenary();
  s.view.consoles[0].link_lost = true;
  s.view.floor_active = domain::FloorActive::kBackup;
  s.view.floor_active_reason = "primary lost";
  s.stats.ingest.push_back(domain::IngestCounters{.source = "floor-backup", .accepted = 5});
  const json state = json::parse(TechState({s}));
  const json ru = Row(state, "ru");
  EXPECT_EQ(ru["auto_floor"], true) << "a live console whose link is lost leaves its channel on the floor";
  EXPECT_EQ(ru["alarms"]["link_lost"], json::array({"c-ru"}));
  EXPECT_EQ(ru["ingest"]["source"], "floor-backup");
  EXPECT_EQ(ru["alarms"]["floor_backup"], true);
  EXPECT_EQ(Row(state, "floor")["alarms"]["floor_backup"], true);
  EXPECT_EQ(state["sessions"][0]["floor"]["active"], "backup");
  EXPECT_EQ(state["sessions"][0]["floor"]["reason"], "primary lost");
}

TEST(TechState, RecordingFollowsTheChannelsRecorder) {
  SessionSample s = Plenary();
  EXPECT_EQ(Row(json::parse(TechState({s})), "ru")["recording"], false);
  s.view.recorded = true;  // the booths' manual indicator alone records nothing
  EXPECT_EQ(Row(json::parse(TechState({s})), "ru")["recording"], false);
  for (auto& c : s.view.channels) c.recording = c.name == "ru";
  const json state = json::parse(TechState({s}));
  EXPECT_EQ(Row(state, "ru")["recording"], true);
  EXPECT_EQ(Row(state, "floor")["recording"], false);
}

TEST(TechLevels, MetersBySessionAndChannelSilenceAsNull) {
  SessionSample s = Plenary();
  s.stats.levels.push_back(domain::ChannelLevel{"kk"});
  const json j = json::parse(TechLevels({s}));
  EXPECT_EQ(j["levels"]["plenary"]["ru"], json::array({-5.5, -3.0, true}));
  EXPECT_EQ(j["levels"]["plenary"]["kk"], json::array({nullptr, nullptr, false}));
  EXPECT_GT(j["time_ms"].get<int64_t>(), 0);
}

class TechFeedTest : public ::testing::Test {
 protected:
  struct Published {
    std::string event, data;
    std::chrono::steady_clock::time_point at;
  };
  // The first frame of `event` at or after index `from`, waiting up to `limit`.
  std::optional<Published> WaitFor(std::size_t from, const std::string& event, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    std::optional<Published> found;
    cv.wait_for(lock, limit, [&] {
      for (std::size_t i = from; i < published.size(); ++i)
        if (published[i].event == event) {
          found = published[i];
          return true;
        }
      return false;
    });
    return found;
  }
  std::size_t Count() {
    std::lock_guard lock(mu);
    return published.size();
  }
  void Start() {
    feed.Start(
        registry,
        [this] {
          std::lock_guard lock(mu);
          ++watched_calls;
          cv.notify_all();
          return watching;
        },
        [this](const std::string& event, std::string data) {
          std::lock_guard lock(mu);
          published.push_back({event, std::move(data), std::chrono::steady_clock::now()});
          cv.notify_all();
        });
  }

  domain::testing::FakeMedia media;
  domain::testing::FakeKeys keys;
  domain::testing::RecordingEvents events;
  domain::SessionRegistry registry{domain::SessionPorts{&media, &keys, &events, nullptr}};
  std::mutex mu;
  std::condition_variable cv;
  bool watching = false;
  int watched_calls = 0;
  std::vector<Published> published;
  TechFeed feed;  // last: stops before what it calls
};

TEST_F(TechFeedTest, NothingIsSampledWhileNoPageWatches) {
  Start();
  feed.OnEvent(domain::SessionEvent{"s", {}, domain::SessionEnded{}});
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return watched_calls >= 3; })) << "the feed's thread does not tick";
  EXPECT_TRUE(published.empty());
  lock.unlock();
  EXPECT_EQ(feed.samples(), 0u);
}

TEST_F(TechFeedTest, AnEventSendsTheStateAtOnceAndLevelsComeTenTimesASecond) {
  {
    std::lock_guard lock(mu);
    watching = true;
  }
  Start();
  ASSERT_TRUE(WaitFor(0, "levels", 2s));
  ASSERT_TRUE(WaitFor(0, "state", 2s)) << "the first tick sends the state";
  domain::SessionSpec spec;
  spec.id = "plenary";
  spec.languages = {"ru"};
  ASSERT_TRUE(registry.Create(spec).ok());
  const std::size_t mark = Count();
  const auto t0 = std::chrono::steady_clock::now();
  feed.OnEvent(domain::SessionEvent{"plenary", {}, domain::FloorChanged{}});
  auto state = WaitFor(mark, "state", 2s);
  ASSERT_TRUE(state);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(state->at - t0);
  // At once, or at most kMinStateGap after the last state (the periodic one may just have gone).
  EXPECT_LT(took, TechFeed::kMinStateGap + 30ms) << "an event must not wait for the next tick";
  EXPECT_NE(state->data.find("\"id\":\"plenary\""), std::string::npos) << state->data;
  // Levels: about ten a second.
  const std::size_t before = Count();
  auto first = WaitFor(before, "levels", 1s);
  ASSERT_TRUE(first);
  std::unique_lock lock(mu);
  std::vector<std::chrono::steady_clock::time_point> levels;
  ASSERT_TRUE(cv.wait_for(lock, 3s, [&] {
    levels.clear();
    for (std::size_t i = before; i < published.size(); ++i)
      if (published[i].event == "levels") levels.push_back(published[i].at);
    return levels.size() >= 11;
  }));
  const auto ten = std::chrono::duration_cast<std::chrono::milliseconds>(levels[10] - levels[0]);
  EXPECT_GE(ten, 900ms);
  EXPECT_LE(ten, 1500ms);
}

TEST_F(TechFeedTest, AStormOfEventsCostsAtMostOneStatePerGap) {
  {
    std::lock_guard lock(mu);
    watching = true;
  }
  Start();
  ASSERT_TRUE(WaitFor(0, "state", 2s));
  const std::size_t mark = Count();
  const auto t0 = std::chrono::steady_clock::now();
  int events_sent = 0;
  while (std::chrono::steady_clock::now() - t0 < 500ms) {  // the storm: an event every 1 ms for 0.5 s
    feed.OnEvent(domain::SessionEvent{"s", {}, domain::ListenerCountChanged{"ru", uint32_t(events_sent)}});
    ++events_sent;
    std::this_thread::sleep_for(1ms);
  }
  const auto storm = std::chrono::steady_clock::now() - t0;
  std::lock_guard lock(mu);
  int states = 0;
  for (std::size_t i = mark; i < published.size(); ++i)
    if (published[i].event == "state" && published[i].at - t0 <= storm) ++states;
  EXPECT_GT(events_sent, 100);
  EXPECT_GE(states, 4) << "states go on during a storm";
  EXPECT_LE(states, int(storm / TechFeed::kMinStateGap) + 2) << events_sent << " events";
}

}  // namespace
}  // namespace tilmash::metrics
