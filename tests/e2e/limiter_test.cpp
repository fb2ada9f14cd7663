// Hearing protection end to end (ISO 20109 §4.5): what real SRTP listeners and a console's
// return feed decode (the receivers' own -1 dBFS clamp off), measured with ffmpeg's ebur128
// (true peak) and a notch + astats (THD+N), and per sample, while the sound desk and an
// interpreter overload the floor and a channel.
#include <algorithm>
#include <cstdlib>

#include "../support/ffmpeg_measure.h"
#include "client/stream_receiver.h"
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

using client::StreamReceiver;

constexpr double kCeilingDbtp = -1.0;  // what a listener may decode, at most
constexpr double kToneHz = 1000;

// 48 kHz samples: `seconds` of a sine at `dbfs`.
std::vector<float> Sine(double seconds, double dbfs, double hz = kToneHz) {
  const double a = std::pow(10.0, dbfs / 20.0);
  std::vector<float> x(std::size_t(seconds * 48000));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(a * std::sin(2 * M_PI * hz * double(i) / 48000));
  return x;
}

// THD+N as the project measures it: per 100 ms block (100 periods of `hz`), the RMS of what
// is left after the best-fitting sine and DC are subtracted, over the block's RMS; the median
// of the blocks (a block with a frame the mixer realigned does not decide).
double ThdPlusNByFit(std::span<const float> x, double hz) {
  std::vector<double> blocks;
  for (std::size_t at = 0; at + 4800 <= x.size(); at += 4800) {
    double ss = 0, sc = 0, dc = 0, total = 0, rest = 0;
    for (std::size_t i = at; i < at + 4800; ++i) {
      const double t = 2 * M_PI * hz * double(i) / 48000;
      ss += x[i] * std::sin(t);
      sc += x[i] * std::cos(t);
      dc += x[i];
    }
    const double a = ss / 2400, b = sc / 2400;
    dc /= 4800;
    for (std::size_t i = at; i < at + 4800; ++i) {
      const double t = 2 * M_PI * hz * double(i) / 48000;
      const double r = x[i] - a * std::sin(t) - b * std::cos(t) - dc;
      rest += r * r;
      total += double(x[i]) * x[i];
    }
    if (total > 0) blocks.push_back(std::sqrt(rest / total));
  }
  if (blocks.empty()) return 1;
  std::nth_element(blocks.begin(), blocks.begin() + long(blocks.size() / 2), blocks.end());
  return blocks[blocks.size() / 2];
}

class LimiterE2eTest : public E2eTest {
 protected:
  struct Ear {
    v1::JoinConsoleResponse join;
    std::unique_ptr<StreamReceiver> feed;
  };
  Ear JoinWithReturn(const std::string& session, const std::string& booth) {
    Ear e;
    std::string error;
    e.feed = StreamReceiver::Bind("127.0.0.1", &error);
    EXPECT_TRUE(e.feed) << error;
    if (!e.feed) return e;
    e.feed->SetHearingProtection(false);  // what the daemon sent, not the receiver's own clamp
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id(session);
    req.set_booth(booth);
    req.mutable_return_endpoint()->set_host("127.0.0.1");
    req.mutable_return_endpoint()->set_port(e.feed->local_port());
    auto st = daemon_.booths().JoinConsole(&ctx, req, &e.join);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(e.feed->Attach(e.join.return_feed().ssrc(), e.join.return_feed().srtp(), &error)) << error;
    return e;
  }
  // A session whose floor is RTP from the desk and whose language channels are not leveled:
  // what is measured is the limiters alone.
  v1::Session CreateUnleveled(const std::vector<std::string>& languages, std::optional<double> floor_duck_db = {}) {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_name("limiter");
    for (const auto& l : languages) req.add_languages(l);
    if (floor_duck_db) req.set_floor_duck_db(*floor_duck_db);
    req.set_loudness_target_lufs(0);
    req.mutable_floor_source()->mutable_rtp();
    v1::Session s;
    auto st = daemon_.sessions().CreateSession(&ctx, req, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }
  std::unique_ptr<ListenerClient> RawListen(const std::string& session, const std::string& channel) {
    auto l = Listen(session, channel);
    if (l) l->SetHearingProtection(false);
    return l;
  }
};

TEST_F(LimiterE2eTest, A20dBBurstIsHeldUnderTheCeilingFromItsFirstMillisecond) {
  auto session = CreateUnleveled({"ru"});
  auto floor = RawListen(session.id(), "floor");
  auto ru = RawListen(session.id(), "ru");        // auto-floor: through the channel's mixer and limiter
  auto ear = JoinWithReturn(session.id(), "ru");  // its return feed: the floor
  ASSERT_TRUE(floor && ru && ear.feed);

  // Speech level (-20 dBFS), then 50 ms of a full-scale 2.5 kHz tone starting at its peak (a
  // feedback squeal: +20 dB in one sample), then speech level again.
  std::vector<float> desk = Sine(1.0, -20);
  const std::vector<float> burst = Sine(0.05, 0, 2500);
  for (std::size_t i = 0; i < burst.size(); ++i) desk.push_back(float(std::cos(2 * M_PI * 2500 * double(i) / 48000)));
  const auto after = Sine(1.0, -20);
  desk.insert(desk.end(), after.begin(), after.end());
  auto sender = Speak(session.floor_ingest(), kToneHz, -20);
  NextLevels(*ru, {kToneHz}, 1500);  // the floor is flowing everywhere, the shock guard knows its level
  const std::size_t floor_from = floor->SampleCount(), ru_from = ru->SampleCount(), ear_from = ear.feed->SampleCount();
  sender->SetSamples(desk, false);
  const std::size_t n = desk.size() + 48000 / 4;
  ASSERT_TRUE(floor->WaitForSamples(floor_from + n, 10s));
  ASSERT_TRUE(ru->WaitForSamples(ru_from + n, 10s));
  ASSERT_TRUE(ear.feed->WaitForSamples(ear_from + n, 10s));

  const std::vector<std::pair<const char*, std::vector<float>>> heard = {
      {"floor", floor->Samples(floor_from, n)},
      {"ru", ru->Samples(ru_from, n)},
      {"return feed", ear.feed->Samples(ear_from, n)}};
  for (const auto& [who, x] : heard) {
    // The burst's onset: the first sample far above speech level.
    std::size_t onset = 0;
    while (onset < x.size() && std::abs(x[onset]) < 0.3f) ++onset;
    ASSERT_LT(onset + 48 * 60, x.size()) << who << ": the burst never arrived";
    const std::span<const float> all(x);
    const FfmpegMeasure m = MeasureWithFfmpeg(all);
    const double first_ms = audio::PeakDb(all.subspan(onset, 48)), sample_peak = audio::PeakDb(all);
    std::cout << "[ measured ] 50 ms full-scale burst on -20 dBFS speech level, at the " << who << ": true peak "
              << m.true_peak_dbtp << " dBTP (ffmpeg ebur128), sample peak " << sample_peak
              << " dBFS, first ms of the burst " << first_ms << " dBFS\n";
    EXPECT_LE(m.true_peak_dbtp, kCeilingDbtp) << who;
    EXPECT_LE(sample_peak, kCeilingDbtp) << who << ": per sample, the burst's first millisecond included";
    EXPECT_GT(first_ms, kCeilingDbtp - 4) << who << ": the burst is heard at once (limited, not muted)";
  }
}

// The acoustic-shock guard at the interpreter's ear: in a quiet passage (-40 dBFS), the same
// squeal may come in no louder than the guard's floor (-12 dBFS), per millisecond from its
// first, where the ceiling alone would let it reach -2.5 dBTP.
TEST_F(LimiterE2eTest, AJumpInAQuietPassageIsHeldByTheShockGuardAtTheReturnFeed) {
  auto session = CreateUnleveled({"ru"});
  auto ear = JoinWithReturn(session.id(), "ru");
  ASSERT_TRUE(ear.feed);
  std::vector<float> desk = Sine(0.5, -40);
  for (std::size_t i = 0; i < 2400; ++i) desk.push_back(float(std::cos(2 * M_PI * 2500 * double(i) / 48000)));
  const auto after = Sine(1.0, -40);
  desk.insert(desk.end(), after.begin(), after.end());
  auto sender = Speak(session.floor_ingest(), kToneHz, -40);
  NextLevels(*ear.feed, {kToneHz}, 3000);  // the guard's envelope settles on the passage
  const std::size_t from = ear.feed->SampleCount();
  sender->SetSamples(desk, false);
  const std::size_t n = desk.size() + 48000 / 4;
  ASSERT_TRUE(ear.feed->WaitForSamples(from + n, 10s));
  const auto x = ear.feed->Samples(from, n);
  std::size_t onset = 0;  // the first sample far above the passage
  while (onset < x.size() && std::abs(x[onset]) < 0.05f) ++onset;
  ASSERT_LT(onset + 48 * 60, x.size()) << "the burst never arrived";
  const std::span<const float> all(x);
  double loudest = -200;
  for (std::size_t ms = 0; ms < 50; ++ms) loudest = std::max(loudest, audio::PeakDb(all.subspan(onset + ms * 48, 48)));
  const FfmpegMeasure m = MeasureWithFfmpeg(all);
  std::cout << "[ measured ] 50 ms full-scale burst in a -40 dBFS passage, at the return feed: first ms "
            << audio::PeakDb(all.subspan(onset, 48)) << " dBFS, loudest ms " << loudest << " dBFS, true peak "
            << m.true_peak_dbtp << " dBTP (ffmpeg ebur128)\n";
  EXPECT_LE(loudest, -12 + 1.0) << "held to the guard's floor (Opus may add a fraction of a dB)";
  EXPECT_LE(m.true_peak_dbtp, -12 + 1.0);
  EXPECT_GT(loudest, -12 - 4.0) << "heard at once, held down, not muted";
}

TEST_F(LimiterE2eTest, ASustainedOverloadOfAChannelStaysUnderTheCeiling) {
  // No ducking: the floor and the interpreter add up in ru's mixer, both at full scale (up to
  // +6 dBFS, 8.5 dB over the limiter), for 2 s.
  const v1::Session session = CreateUnleveled({"ru"}, 0.0);
  auto console = Join(session.id(), "ru");
  auto ru = RawListen(session.id(), "ru");
  ASSERT_TRUE(ru);
  auto desk = Speak(session.floor_ingest(), kToneHz, -0.1);
  auto voice = Speak(console.ingest(), 1500, -0.1);
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  NextLevels(*ru, {kToneHz}, 300);
  const std::size_t from = ru->SampleCount();
  ASSERT_TRUE(ru->WaitForSamples(from + 48000 * 2, 10s));
  const auto x = ru->Samples(from, 48000 * 2);
  const FfmpegMeasure m = MeasureWithFfmpeg(x);
  const auto levels = NextLevels(*ru, {kToneHz, 1500});
  std::cout << "[ measured ] floor and interpreter both at -0.1 dBFS, undocked, in ru: true peak " << m.true_peak_dbtp
            << " dBTP (ffmpeg ebur128), sample peak " << audio::PeakDb(x) << " dBFS; tones at " << levels[0] << " / "
            << levels[1] << " dBFS\n";
  EXPECT_LE(m.true_peak_dbtp, kCeilingDbtp);
  EXPECT_GT(levels[0], -12) << "both still heard";
  EXPECT_GT(levels[1], -12);
}

TEST_F(LimiterE2eTest, AFullScaleToneComesOutCleanUnderTheCeiling) {
  auto session = CreateUnleveled({"ru"});
  // At an auto-floor language channel: the floor's limiter, the channel's mixer and limiter.
  auto ru = RawListen(session.id(), "ru");
  ASSERT_TRUE(ru);
  const char* level = std::getenv("TILMASH_LIMITER_TONE_DBFS");  // to measure other levels by hand
  const double dbfs = level ? std::atof(level) : -0.1;           // as hot as the desk can send
  auto sender = Speak(session.floor_ingest(), kToneHz, dbfs);
  NextLevels(*ru, {kToneHz}, 1500);  // the gain settles (and the shock guard has opened)
  const std::size_t from = ru->SampleCount();
  ASSERT_TRUE(ru->WaitForSamples(from + 48000 * 2, 10s));
  const auto x = ru->Samples(from, 48000 * 2);
  const FfmpegMeasure m = MeasureWithFfmpeg(x, kToneHz);
  const double tone = audio::ToneLevelDb(x, kToneHz);
  std::cout << "[ measured ] 1 kHz at " << dbfs << " dBFS into the floor, at ru: THD+N " << 100 * m.thd_n()
            << " % (ffmpeg notch + astats), " << 100 * ThdPlusNByFit(x, kToneHz)
            << " % (sine fit, median of 100 ms blocks), true peak " << m.true_peak_dbtp << " dBTP, tone at " << tone
            << " dBFS\n";
  EXPECT_LE(m.thd_n(), 0.01);
  EXPECT_LE(m.true_peak_dbtp, kCeilingDbtp);
  EXPECT_GT(tone, kCeilingDbtp - 3) << "turned down to the ceiling, not further";
}

}  // namespace
}  // namespace tilmash::testing
