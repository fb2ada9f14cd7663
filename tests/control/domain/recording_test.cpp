// Recording per channel in the domain: which channels, the API's refusals, events, the booths'
// "recorded" indicator following the recorder, a failed recorder, and what a restart resumes.
#include <gtest/gtest.h>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using testing::FakeKeys;
using testing::FakeMedia;
using testing::FakeStore;
using testing::RecordingEvents;

class RecordingTest : public ::testing::Test {
 protected:
  std::shared_ptr<Session> Make(std::vector<std::string> langs = {"en", "ru"}) {
    SessionSpec spec;
    spec.name = "Plenary";
    spec.languages = std::move(langs);
    auto v = registry.Create(spec);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return registry.Find(v->id).value();
  }
  static bool Recorded(const SessionView& v, const std::string& channel) {
    for (const auto& c : v.channels)
      if (c.name == channel) return c.recording;
    return false;
  }
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  FakeStore store;
  testing::ManualClock clock;
  SessionRegistry registry{SessionPorts{&media, &keys, &events, &clock, nullptr, &store}};
};

TEST_F(RecordingTest, NoChannelsMeansEveryChannelFloorIncluded) {
  auto s = Make();
  auto started = s->StartRecording({}, 0);
  ASSERT_TRUE(started.ok()) << started.status().message();
  ASSERT_EQ(started->size(), 3u);
  EXPECT_EQ(media.recording.size(), 3u);
  EXPECT_TRUE(media.recording.count("floor"));
  const auto v = s->View();
  for (const char* c : {"floor", "en", "ru"}) EXPECT_TRUE(Recorded(v, c)) << c;
  EXPECT_EQ(events.Of<RecordingChanged>().size(), 3u);
  // Again with no channels: nothing new to start, nothing refused.
  auto again = s->StartRecording({}, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  auto stopped = s->StopRecording({});
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->size(), 3u);
  EXPECT_TRUE(media.recording.empty());
  EXPECT_FALSE(Recorded(s->View(), "ru"));
}

TEST_F(RecordingTest, RefusalsNameTheField) {
  auto s = Make();
  auto unknown = s->StartRecording({"ru", "de"}, 0);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("channel_ids[1]"), std::string::npos) << unknown.status().message();
  EXPECT_TRUE(media.recording.empty()) << "nothing starts when a channel is refused";
  auto bad = s->StartRecording({"not a tag!"}, 0);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("channel_ids[0]"), std::string::npos);
  auto segment = s->StartRecording({"ru"}, kMaxSegmentSeconds + 1);
  EXPECT_EQ(segment.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(segment.status().message().find("segment_seconds"), std::string::npos);
  ASSERT_TRUE(s->StartRecording({"RU"}, 2).ok());
  EXPECT_EQ(media.recording.at("ru"), 2u);
  auto twice = s->StartRecording({"ru"}, 0);
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  auto not_recorded = s->StopRecording({"en"});
  EXPECT_EQ(not_recorded.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(not_recorded.status().message().find("channel_ids[0]"), std::string::npos);
  media.can_record = false;
  auto nowhere = s->StartRecording({"en"}, 0);
  EXPECT_EQ(nowhere.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(nowhere.status().message().find("--record-dir"), std::string::npos);
}

TEST_F(RecordingTest, BoothIndicatorFollowsTheRecorderOfItsChannel) {
  auto s = Make();
  EXPECT_FALSE(s->Booth("ru")->recorded);
  ASSERT_TRUE(s->StartRecording({"ru"}, 0).ok());
  EXPECT_TRUE(s->Booth("ru")->recorded);
  EXPECT_FALSE(s->Booth("en")->recorded) << "another booth's channel is not recorded";
  // The recorder fails (disk full): the next tick stops it, says why, and the indicator goes off.
  media.recorders_failed.insert("ru");
  s->Tick();
  EXPECT_FALSE(s->Booth("ru")->recorded);
  EXPECT_FALSE(Recorded(s->View(), "ru"));
  auto changes = events.Of<RecordingChanged>();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_FALSE(changes.back().recording);
  EXPECT_NE(changes.back().reason.find("No space left"), std::string::npos) << changes.back().reason;
  EXPECT_FALSE(s->View().channels.empty()) << "the session goes on";
  // The technician's flag (an outside recorder) still lights every booth.
  ASSERT_TRUE(s->SetBroadcastState(false, true).ok());
  EXPECT_TRUE(s->Booth("en")->recorded);
}

TEST_F(RecordingTest, RecordingsAreSavedAndResumedByARestore) {
  auto s = Make();
  ASSERT_TRUE(s->StartRecording({"floor", "ru"}, 5).ok());
  ASSERT_EQ(store.Sessions().size(), 1u);
  const SessionRecord saved = store.Sessions()[0];
  ASSERT_EQ(saved.recordings.size(), 2u);
  // The process ends (shutdown keeps the record); a new one restores it.
  registry.EndAll();
  EXPECT_TRUE(media.recording.empty()) << "every file is finished at shutdown";
  FakeMedia media2;
  SessionRegistry again{SessionPorts{&media2, &keys, &events, &clock, nullptr, &store}};
  const RestoreReport report = again.Restore(store.Sessions(), store.Listeners());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(media2.recording.size(), 2u);
  EXPECT_EQ(media2.recording.at("ru"), 5u);
  auto restored = again.Find(saved.id).value();
  EXPECT_TRUE(Recorded(restored->View(), "floor"));
  EXPECT_TRUE(restored->Booth("ru")->recorded);
}

}  // namespace
}  // namespace tilmash::domain
