// Loudness leveling end to end: two interpreters speaking 10 dB apart (espeak-ng speech over
// real consoles) reach delegates' SRTP listeners at about the same loudness, measured with
// ffmpeg's ebur128; a session with leveling off is the reference.
#include <cstdio>

#include "../support/ffmpeg_decode.h"
#include "../support/ffmpeg_measure.h"
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

// A sentence of espeak-ng at 48 kHz, normalised to a -3 dBFS peak (empty if espeak-ng fails).
std::vector<float> Speech() {
  const std::string cmd =
      "espeak-ng --stdout 'Distinguished delegates, the session is open. We now turn to the second item on the "
      "agenda, the report of the committee.' 2>/dev/null | ffmpeg -v error -nostdin -i - -ar 48000 -ac 1 -f f32le - "
      "2>/dev/null";
  std::vector<float> out = ReadFloatsFrom(cmd);
  float peak = 0;
  for (float v : out) peak = std::max(peak, std::abs(v));
  if (peak > 0)
    for (float& v : out) v *= 0.708f / peak;
  return out;
}

class LoudnessE2eTest : public E2eTest {
 protected:
  struct Booths {
    v1::Session session;
    v1::JoinConsoleResponse en, ru;
    std::unique_ptr<RtpSender> en_voice, ru_voice;
    std::unique_ptr<ListenerClient> en_ear, ru_ear;
  };
  // en speaks the sentence at its level, ru 10 dB quieter; both mics live.
  Booths Start(std::optional<double> loudness_target, const std::vector<float>& speech) {
    Booths b;
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_name("loudness");
    req.add_languages("en");
    req.add_languages("ru");
    req.set_floor_duck_db(-60);
    if (loudness_target) req.set_loudness_target_lufs(*loudness_target);
    auto st = daemon_.sessions().CreateSession(&ctx, req, &b.session);
    EXPECT_TRUE(st.ok()) << st.error_message();
    b.en = Join(b.session.id(), "en");
    b.ru = Join(b.session.id(), "ru");
    std::vector<float> quiet = speech;
    for (float& v : quiet) v *= 0.316f;  // -10 dB
    b.en_voice = Speak(b.en.ingest(), 440, -60);
    b.ru_voice = Speak(b.ru.ingest(), 440, -60);
    b.en_voice->SetSamples(speech, true);
    b.ru_voice->SetSamples(quiet, true);
    EXPECT_TRUE(SetMic(b.session.id(), b.en.console().id(), true).ok());
    EXPECT_TRUE(SetMic(b.session.id(), b.ru.console().id(), true).ok());
    b.en_ear = Listen(b.session.id(), "en");
    b.ru_ear = Listen(b.session.id(), "ru");
    return b;
  }
};

TEST_F(LoudnessE2eTest, InterpretersSpeaking10dBApartReachListenersWithin2LU) {
  const std::vector<float> speech = Speech();
  ASSERT_GT(speech.size(), 48000u * 3) << "espeak-ng and ffmpeg make the speech sample";
  Booths leveled = Start(std::nullopt, speech);  // the daemon's default: -23 LUFS
  Booths plain = Start(0.0, speech);             // leveling off
  ASSERT_TRUE(leveled.en_ear && leveled.ru_ear && plain.en_ear && plain.ru_ear);
  EXPECT_EQ(leveled.session.loudness_target_lufs(), -23);
  EXPECT_EQ(plain.session.loudness_target_lufs(), 0);

  // The leveler's 3 s window fills and its gain (2 dB/s up, 4 dB/s down) gets there; then a
  // sentence is measured on every listener.
  const std::size_t settle = 48000 * 8, measure = speech.size();
  auto loudness = [&](ListenerClient& l) {
    EXPECT_TRUE(l.WaitForSamples(settle + measure, 30s));
    return MeasureWithFfmpeg(l.Samples(settle, measure)).integrated_lufs;
  };
  const double en = loudness(*leveled.en_ear), ru = loudness(*leveled.ru_ear);
  const double en_plain = loudness(*plain.en_ear), ru_plain = loudness(*plain.ru_ear);
  std::cout << "[ measured ] interpreters 10 dB apart, integrated loudness at the listeners (ffmpeg ebur128): leveled "
            << en << " / " << ru << " LUFS (spread " << en - ru << " LU), not leveled " << en_plain << " / " << ru_plain
            << " LUFS (spread " << en_plain - ru_plain << " LU)\n";
  EXPECT_NEAR(en - ru, 0, 2) << "within +-2 LU";
  EXPECT_NEAR(en, -23, 3) << "near the target";
  EXPECT_GT(en_plain - ru_plain, 8) << "without leveling the 10 dB stay";
}

TEST_F(LoudnessE2eTest, ATargetOutsideTheRangeIsRefusedNamingTheField) {
  grpc::ClientContext ctx;
  v1::CreateSessionRequest req;
  req.add_languages("en");
  req.set_loudness_target_lufs(-5);
  v1::Session s;
  auto st = daemon_.sessions().CreateSession(&ctx, req, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("loudness_target_lufs"), std::string::npos) << st.error_message();
}

}  // namespace
}  // namespace tilmash::testing
