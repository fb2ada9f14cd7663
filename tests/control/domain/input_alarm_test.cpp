// The speaker-input monitor's alarms as session events: raised on the first tick that sees a
// source clip or sound telephone-band, held for kInputAlarmHold after the condition ends (no
// flapping at the monitor's 100 ms windows), forgotten with a console that leaves.
#include <gtest/gtest.h>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using namespace std::chrono_literals;
using testing::FakeKeys;
using testing::FakeMedia;
using testing::RecordingEvents;

class InputAlarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SessionSpec spec;
    spec.languages = {"ru"};
    auto v = registry.Create(spec);
    ASSERT_TRUE(v.ok());
    s = registry.Find(v->id).value();
  }
  void Read(const std::string& source, bool clipping, bool narrowband) {
    std::lock_guard l(media.mu);
    IngestCounters& c = media.inputs[source];
    c.clipping = clipping;
    c.narrowband = narrowband;
    c.peak_dbfs = clipping ? 0.0 : -12.0;
    c.rms_dbfs = -20;
    c.above_7khz_db = narrowband ? -60.0 : -25.0;
  }
  void Tick(std::chrono::milliseconds after = 250ms) {
    clock.now += after;
    s->Tick();
  }
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  testing::ManualClock clock;
  SessionRegistry registry{SessionPorts{&media, &keys, &events, &clock}};
  std::shared_ptr<Session> s;
};

TEST_F(InputAlarmTest, AClippingFloorIsOneAlarmUntilItHasBeenCleanForTheHold) {
  Read("floor", false, false);
  Tick();
  EXPECT_TRUE(events.Of<InputAlarm>().empty()) << "a clean source is no event";
  Read("floor", true, false);
  Tick();
  auto alarms = events.Of<InputAlarm>();
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].source, "floor");
  EXPECT_TRUE(alarms[0].clipping);
  EXPECT_FALSE(alarms[0].narrowband);
  EXPECT_EQ(alarms[0].peak_dbfs, 0.0);
  // Clipping on and off at every window (a speaker at the limit): still the one alarm.
  for (int i = 0; i < 12; ++i) {
    Read("floor", i % 2 == 0, false);
    Tick();
  }
  EXPECT_EQ(events.Of<InputAlarm>().size(), 1u);
  Read("floor", false, false);
  Tick(kInputAlarmHold - 300ms);
  EXPECT_EQ(events.Of<InputAlarm>().size(), 1u) << "not cleared within the hold";
  Tick(300ms);
  alarms = events.Of<InputAlarm>();
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_FALSE(alarms[1].clipping) << "cleared after the hold";
}

TEST_F(InputAlarmTest, ATelephoneBandConsoleIsNamedAndForgottenWhenItLeaves) {
  ConsoleRequest r{"ru", "", std::nullopt};
  auto j = s->JoinConsole(r);
  ASSERT_TRUE(j.ok()) << j.status().message();
  const ConsoleId id = j->console.id;
  Read(id, false, true);
  Read("floor", false, false);
  Tick();
  auto alarms = events.Of<InputAlarm>();
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].source, id);
  EXPECT_TRUE(alarms[0].narrowband);
  EXPECT_EQ(alarms[0].above_7khz_db, -60.0);
  ASSERT_TRUE(s->LeaveConsole(id).ok());
  Tick();
  // A new console with the same readings is a new alarm (nothing left of the old state).
  auto again = s->JoinConsole(r);
  ASSERT_TRUE(again.ok());
  Read(again->console.id, false, true);
  Tick();
  alarms = events.Of<InputAlarm>();
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_EQ(alarms[1].source, again->console.id);
}

}  // namespace
}  // namespace tilmash::domain
