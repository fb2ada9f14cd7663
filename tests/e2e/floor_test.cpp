// Floor backup end to end: a desk sends the primary floor (Opus over SRTP), a second output
// or a tone slate is the backup, and a real SRTP listener measures per 10 ms frame what it
// hears when the primary's packets stop, when they come back, and under the technician's
// override.
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

constexpr int kReturnMs = 600;  // shorter than the 2 s default, so the test stays short
constexpr double kPrimary = 440, kBackup = 660;

class FloorE2eTest : public E2eTest {
 protected:
  FloorE2eTest() : E2eTest({"--floor-return-ms", std::to_string(kReturnMs)}) {}

  grpc::Status SetFloor(const std::string& session, const v1::FloorSource* source, const v1::FloorSource* backup,
                        v1::FloorSelect select, v1::Session* out) {
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(session);
    if (source) *req.mutable_source() = *source;
    if (backup) *req.mutable_backup() = *backup;
    req.set_floor_select(select);
    return daemon_.sessions().SetFloorSource(&ctx, req, out);
  }

  static v1::FloorSource Srtp() {
    v1::FloorSource s;
    s.mutable_rtp()->set_srtp(true);
    return s;
  }
  static v1::FloorSource Tone(double hz) {
    v1::FloorSource s;
    s.mutable_tone()->set_frequency_hz(hz);
    return s;
  }

  // Frame by frame over `ms` from sample `from`: the longest run of frames with neither source
  // at full level, the first frame of each at full level, and frames with both audible (a
  // crossfade).
  struct Run {
    int longest_gap = 0, primary = 0, backup = 0, first_primary = -1, first_backup = -1, last_primary = -1, both = 0;
  };
  static Run Measure(ListenerClient& l, std::size_t from, int ms) {
    EXPECT_TRUE(l.WaitForSamples(from + 48 * std::size_t(ms), 10s));
    auto x = l.Samples(from, 48 * std::size_t(ms));
    Run r;
    int gap = 0, frame = 0;
    for (std::size_t i = 0; i + 480 <= x.size(); i += 480, ++frame) {
      std::span<const float> f(x.data() + i, 480);
      const double a = audio::ToneLevelDb(f, kPrimary), b = audio::ToneLevelDb(f, kBackup);
      const bool p = a > -23, k = b > -23;
      gap = p || k ? 0 : gap + 1;
      r.longest_gap = std::max(r.longest_gap, gap);
      r.primary += p;
      r.backup += k;
      if (p && r.first_primary < 0) r.first_primary = frame;
      if (k && r.first_backup < 0) r.first_backup = frame;
      if (p) r.last_primary = frame;
      r.both += a > -40 && b > -40;
    }
    return r;
  }
};

TEST_F(FloorE2eTest, PrimaryLossGoesToTheBackupWithin200msAndTheStablePrimaryReturnsCrossfaded) {
  auto session = CreateSession({"ru"}, kPrimary);
  v1::Session s;
  const auto primary = Srtp(), backup = Srtp();
  ASSERT_TRUE(SetFloor(session.id(), &primary, &backup, v1::FLOOR_SELECT_AUTO, &s).ok());
  ASSERT_TRUE(s.has_floor_ingest() && s.has_floor_backup_ingest());
  EXPECT_NE(s.floor_ingest().endpoint().port(), s.floor_backup_ingest().endpoint().port());
  EXPECT_EQ(s.floor_backup_ingest().srtp().master_key().size(), 30u);
  auto desk = Speak(s.floor_ingest(), kPrimary);
  auto desk2 = Speak(s.floor_backup_ingest(), kBackup);  // the desk's second output
  auto floor = Listen(session.id(), "floor");
  auto ru = Listen(session.id(), "ru");  // auto-floor: nobody interprets into ru
  ASSERT_TRUE(floor && ru);
  auto levels = NextLevels(*floor, {kPrimary, kBackup}, 300);
  EXPECT_GT(levels[0], -23) << "the primary is on air";
  EXPECT_LT(levels[1], -50) << "the backup is not";
  EXPECT_EQ(GetSession(session.id()).floor_active(), v1::FLOOR_ACTIVE_PRIMARY);

  // The primary's packets stop.
  const std::size_t down_at = floor->SampleCount(), ru_down_at = ru->SampleCount();
  desk->SetLinkDown(true);
  const Run down = Measure(*floor, down_at, 800);
  const Run ru_down = Measure(*ru, ru_down_at, 800);
  const v1::Session lost = GetSession(session.id());
  EXPECT_EQ(lost.floor_active(), v1::FLOOR_ACTIVE_BACKUP);
  EXPECT_TRUE(lost.floor_primary_lost());
  EXPECT_EQ(lost.floor_active_reason(), "primary lost");

  // It comes back: the backup stays until the primary has been stable for kReturnMs.
  const std::size_t up_at = floor->SampleCount();
  desk->SetLinkDown(false);
  const Run up = Measure(*floor, up_at, kReturnMs + 900);
  EXPECT_EQ(GetSession(session.id()).floor_active(), v1::FLOOR_ACTIVE_PRIMARY);

  std::cout << "[ measured ] floor loss: " << down.longest_gap * 10
            << " ms with neither source at full level at the floor listener (" << ru_down.longest_gap * 10
            << " ms on the auto-floor ru channel); last primary frame " << down.last_primary
            << ", backup at full level from frame " << down.first_backup << " after the primary's last packet; "
            << "primary back at full level " << up.first_primary * 10 << " ms after its packets returned (return "
            << kReturnMs << " ms), crossfade " << up.both << " frame(s) with both audible, longest gap "
            << up.longest_gap * 10 << " ms\n";
  EXPECT_LE(down.longest_gap * 10, Sanitized() ? 500 : 200) << "backup audible within 200 ms of the loss";
  EXPECT_LE(ru_down.longest_gap * 10, Sanitized() ? 500 : 200);
  EXPECT_LE(down.first_backup * 10, Sanitized() ? 600 : 250);
  EXPECT_GT(down.backup, 50) << "the backup carries the floor while the primary is lost";
  EXPECT_GT(ru_down.backup, 50) << "and every auto-floor channel";
  EXPECT_GE(up.first_primary * 10, kReturnMs - 50) << "not before the primary was stable";
  EXPECT_LE(up.first_primary * 10, kReturnMs + (Sanitized() ? 600 : 250));
  EXPECT_LE(up.longest_gap * 10, Sanitized() ? 200 : 40) << "the return is a crossfade, not a gap";
  EXPECT_GE(up.both, 1) << "both sources audible for a moment: crossfaded";
  auto tail = NextLevels(*floor, {kPrimary, kBackup}, 200);
  EXPECT_GT(tail[0], -23);
  EXPECT_LT(tail[1], -50) << "the backup is off air again";
}

TEST_F(FloorE2eTest, TheTechniciansOverrideForcesEitherSourceAndKeepsThePorts) {
  auto session = CreateSession({"ru"}, kPrimary);
  v1::Session s;
  const auto primary = Srtp(), slate = Tone(kBackup);
  ASSERT_TRUE(SetFloor(session.id(), &primary, &slate, v1::FLOOR_SELECT_AUTO, &s).ok());
  EXPECT_FALSE(s.has_floor_backup_ingest()) << "a tone backup has no ingest";
  const auto port = s.floor_ingest().endpoint().port();
  auto desk = Speak(s.floor_ingest(), kPrimary);
  auto floor = Listen(session.id(), "floor");
  ASSERT_TRUE(floor);
  EXPECT_GT(NextLevels(*floor, {kPrimary}, 300)[0], -23);

  // Forced to the backup while the primary is fine.
  ASSERT_TRUE(SetFloor(session.id(), nullptr, nullptr, v1::FLOOR_SELECT_BACKUP, &s).ok());
  EXPECT_EQ(s.floor_ingest().endpoint().port(), port) << "the override keeps the ingest";
  EXPECT_EQ(s.floor_active(), v1::FLOOR_ACTIVE_BACKUP);
  EXPECT_EQ(s.floor_active_reason(), "selected by the technician");
  NextLevels(*floor, {kBackup}, 100);  // the switch reaches the listener
  auto levels = NextLevels(*floor, {kPrimary, kBackup}, 300);
  EXPECT_GT(levels[1], -23);
  EXPECT_LT(levels[0], -50);

  // Forced to the primary: its loss does not switch.
  ASSERT_TRUE(SetFloor(session.id(), nullptr, nullptr, v1::FLOOR_SELECT_PRIMARY, &s).ok());
  NextLevels(*floor, {kPrimary}, 100);  // the crossfade back reaches the listener
  EXPECT_GT(NextLevels(*floor, {kPrimary}, 200)[0], -23);
  desk->SetLinkDown(true);
  const std::size_t from = floor->SampleCount();
  const Run forced = Measure(*floor, from, 500);
  EXPECT_EQ(forced.backup, 0) << "forced to the primary, the backup stays off air";
  EXPECT_TRUE(GetSession(session.id()).floor_primary_lost()) << "the loss is still shown";

  // Back to auto: the primary is lost, so the backup goes on air.
  ASSERT_TRUE(SetFloor(session.id(), nullptr, nullptr, v1::FLOOR_SELECT_AUTO, &s).ok());
  EXPECT_EQ(s.floor_active(), v1::FLOOR_ACTIVE_BACKUP);
  NextLevels(*floor, {kBackup}, 100);
  EXPECT_GT(NextLevels(*floor, {kBackup}, 300)[0], -23);

  // A backup without a primary, or BACKUP without a backup, is refused naming the field.
  grpc::Status bad = SetFloor(session.id(), nullptr, &slate, v1::FLOOR_SELECT_AUTO, &s);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("source"), std::string::npos) << bad.error_message();
  bad = SetFloor(session.id(), &primary, nullptr, v1::FLOOR_SELECT_BACKUP, &s);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("floor_select"), std::string::npos) << bad.error_message();
  bad = SetFloor(session.id(), nullptr, nullptr, v1::FloorSelect(7), &s);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("floor_select"), std::string::npos) << bad.error_message();
}

TEST_F(FloorE2eTest, WatchSessionTellsTheFloorSwitch) {
  auto session = CreateSession({"ru"}, kPrimary);
  v1::Session s;
  const auto primary = Srtp(), slate = Tone(kBackup);
  ASSERT_TRUE(SetFloor(session.id(), &primary, &slate, v1::FLOOR_SELECT_AUTO, &s).ok());
  auto desk = Speak(s.floor_ingest(), kPrimary);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);  // a missing event fails, never hangs
  v1::WatchSessionRequest req;
  req.set_session_id(session.id());
  auto reader = daemon_.sessions().WatchSession(&ctx, req);
  v1::SessionEvent ev;
  ASSERT_TRUE(reader->Read(&ev));  // the snapshot
  desk->SetLinkDown(true);
  bool switched = false;
  while (!switched && reader->Read(&ev))
    switched = ev.has_floor_active() && ev.floor_active().active() == v1::FLOOR_ACTIVE_BACKUP;
  EXPECT_TRUE(switched);
  EXPECT_TRUE(ev.floor_active().primary_lost());
  EXPECT_EQ(ev.floor_active().reason(), "primary lost");
  ctx.TryCancel();
}

}  // namespace
}  // namespace tilmash::testing
