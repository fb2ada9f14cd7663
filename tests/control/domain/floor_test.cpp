// The floor's primary and backup: which one is on air, the technician's override, and what
// watchers are told (Session::SetFloorSources, SelectFloor, FloorPrimaryLink).
#include <gtest/gtest.h>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using testing::FakeKeys;
using testing::FakeMedia;
using testing::RecordingEvents;

class FloorTest : public ::testing::Test {
 protected:
  std::shared_ptr<Session> Make() {
    SessionSpec spec;
    spec.languages = {"en", "ru"};
    auto v = registry.Create(spec);
    EXPECT_TRUE(v.ok()) << v.status().message();
    return registry.Find(v->id).value();
  }
  std::vector<FloorActive> OnAir() {
    std::lock_guard l(media.mu);
    return media.floor_on_air;
  }
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  testing::ManualClock clock;
  SessionRegistry registry{SessionPorts{&media, &keys, &events, &clock}};
};

TEST_F(FloorTest, ABackupGetsItsOwnIngestAndStartsOnThePrimary) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSources(RtpSource{true}, RtpSource{true}, FloorSelect::kAuto).ok());
  auto v = s->View();
  ASSERT_TRUE(v.floor_ingest && v.floor_backup_ingest);
  EXPECT_NE(v.floor_ingest->endpoint.port, v.floor_backup_ingest->endpoint.port);
  ASSERT_TRUE(v.floor_ingest->srtp && v.floor_backup_ingest->srtp);
  EXPECT_NE(v.floor_ingest->srtp->master_key, v.floor_backup_ingest->srtp->master_key) << "a key each";
  EXPECT_TRUE(std::holds_alternative<RtpSource>(v.floor_backup_source));
  EXPECT_EQ(v.floor_active, FloorActive::kPrimary);
  EXPECT_EQ(v.floor_active_reason, "primary up");
  EXPECT_TRUE(OnAir().empty()) << "new sources start on the primary: nothing to switch";
  auto floors = events.Of<FloorChanged>();
  ASSERT_FALSE(floors.empty());
  EXPECT_TRUE(std::holds_alternative<RtpSource>(floors.back().backup));
  ASSERT_EQ(events.Of<FloorActiveChanged>().size(), 1u);
}

TEST_F(FloorTest, PrimaryLossGoesToTheBackupAndItsReturnBack) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSources(RtpSource{false}, ToneSource{880, -20}, FloorSelect::kAuto).ok());
  media.FloorLink(false);
  auto v = s->View();
  EXPECT_EQ(v.floor_active, FloorActive::kBackup);
  EXPECT_TRUE(v.floor_primary_lost);
  EXPECT_EQ(v.floor_active_reason, "primary lost");
  ASSERT_EQ(OnAir(), std::vector<FloorActive>{FloorActive::kBackup});
  auto changes = events.Of<FloorActiveChanged>();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].active, FloorActive::kBackup);
  EXPECT_TRUE(changes[1].primary_lost);

  media.FloorLink(false);  // a repeated report changes nothing
  EXPECT_EQ(events.Of<FloorActiveChanged>().size(), 2u);

  media.FloorLink(true);
  v = s->View();
  EXPECT_EQ(v.floor_active, FloorActive::kPrimary);
  EXPECT_FALSE(v.floor_primary_lost);
  EXPECT_EQ(OnAir(), (std::vector<FloorActive>{FloorActive::kBackup, FloorActive::kPrimary}));
  EXPECT_EQ(events.Of<FloorActiveChanged>().back().reason, "primary up");
}

TEST_F(FloorTest, TheTechniciansSelectionOverridesThePrimarysState) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSources(RtpSource{false}, RtpSource{false}, FloorSelect::kAuto).ok());
  const auto port = s->View().floor_ingest->endpoint.port;
  const int sets = media.floor_sets;

  ASSERT_TRUE(s->SelectFloor(FloorSelect::kBackup).ok());
  auto v = s->View();
  EXPECT_EQ(v.floor_active, FloorActive::kBackup);
  EXPECT_EQ(v.floor_select, FloorSelect::kBackup);
  EXPECT_EQ(v.floor_active_reason, "selected by the technician");
  EXPECT_EQ(media.floor_sets, sets) << "an override keeps the sources, their ports and keys";
  EXPECT_EQ(v.floor_ingest->endpoint.port, port);

  // Forced to the primary, a lost primary stays on air; the loss is still shown.
  ASSERT_TRUE(s->SelectFloor(FloorSelect::kPrimary).ok());
  media.FloorLink(false);
  v = s->View();
  EXPECT_EQ(v.floor_active, FloorActive::kPrimary);
  EXPECT_TRUE(v.floor_primary_lost);
  EXPECT_EQ(events.Of<FloorActiveChanged>().back().primary_lost, true);

  // Back to auto: the primary is lost, so the backup goes on air at once.
  ASSERT_TRUE(s->SelectFloor(FloorSelect::kAuto).ok());
  EXPECT_EQ(s->View().floor_active, FloorActive::kBackup);
  EXPECT_EQ(OnAir().back(), FloorActive::kBackup);
}

TEST_F(FloorTest, ASelectionAtSetTimeApplies) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSources(RtpSource{false}, ToneSource{440, -20}, FloorSelect::kBackup).ok());
  EXPECT_EQ(s->View().floor_active, FloorActive::kBackup);
  EXPECT_EQ(OnAir(), std::vector<FloorActive>{FloorActive::kBackup});
}

TEST_F(FloorTest, ReportsAboutReplacedSourcesAreIgnored) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSources(RtpSource{false}, ToneSource{440, -20}, FloorSelect::kAuto).ok());
  FloorLinkCallback old;
  {
    std::lock_guard l(media.mu);
    old = media.floor_link;
  }
  ASSERT_TRUE(s->SetFloorSources(RtpSource{false}, ToneSource{660, -20}, FloorSelect::kAuto).ok());
  old(false);
  EXPECT_EQ(s->View().floor_active, FloorActive::kPrimary);
  EXPECT_FALSE(s->View().floor_primary_lost);
}

TEST_F(FloorTest, BadRequestsNameTheField) {
  auto s = Make();
  auto r = s->SetFloorSources(RtpSource{false}, ToneSource{5, -20}, FloorSelect::kAuto);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.message().find("backup.tone.frequency_hz"), std::string::npos) << r.message();
  r = s->SetFloorSources(NoSource{}, ToneSource{440, -20}, FloorSelect::kAuto);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.message().find("backup"), std::string::npos) << r.message();
  r = s->SetFloorSources(RtpSource{false}, NoSource{}, FloorSelect::kBackup);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.message().find("floor_select"), std::string::npos) << r.message();
  r = s->SelectFloor(FloorSelect::kBackup);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.message().find("floor_select"), std::string::npos) << r.message();
}

TEST_F(FloorTest, AFloorWithoutBackupSaysNothingAboutIt) {
  auto s = Make();
  ASSERT_TRUE(s->SetFloorSource(RtpSource{false}).ok());
  EXPECT_TRUE(events.Of<FloorActiveChanged>().empty());
  auto v = s->View();
  EXPECT_EQ(v.floor_active, FloorActive::kPrimary);
  EXPECT_EQ(v.floor_active_reason, "no backup");
  ASSERT_TRUE(s->SelectFloor(FloorSelect::kPrimary).ok());  // allowed, changes nothing on air
  EXPECT_TRUE(OnAir().empty());
}

}  // namespace
}  // namespace tilmash::domain
