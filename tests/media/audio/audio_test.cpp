#include "audio/audio.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace tilmash::audio {
namespace {

std::vector<float> Tone(double hz, double dbfs, std::size_t samples) {
  std::vector<float> x(samples);
  ToneGenerator gen(hz, dbfs);
  gen.Fill(x);
  return x;
}

TEST(ToneGenerator, MinusTwentyDbfsSineHasExpectedLevels) {
  const auto x = Tone(1000, -20, kRate);
  // A sine's RMS is 3.01 dB below its peak.
  EXPECT_NEAR(RmsDb(x), -23.01, 0.05);
  EXPECT_NEAR(PeakDb(x), -20.0, 0.05);
  EXPECT_NEAR(ToneLevelDb(x, 1000), -20.0, 0.5);
  // A different frequency is far below the tone.
  EXPECT_LT(ToneLevelDb(x, 1500), -80.0);
}

TEST(ToneGenerator, PhaseContinuesAcrossFills) {
  ToneGenerator gen(440, -6);
  std::vector<float> a(480), b(480);
  gen.Fill(a);
  gen.Fill(b);
  std::vector<float> joined(a);
  joined.insert(joined.end(), b.begin(), b.end());
  const auto whole = Tone(440, -6, 960);
  for (std::size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(joined[i], whole[i], 1e-5) << i;
}

TEST(Levels, SilenceIsMinus200) {
  std::vector<float> zeros(1000, 0.0f);
  EXPECT_EQ(RmsDb(zeros), -200.0);
  EXPECT_EQ(PeakDb(zeros), -200.0);
  EXPECT_EQ(DominantFrequency(zeros), 0.0);
  // A decoder fading out leaves denormals; that is still silence, not -670 dBFS.
  std::vector<float> tiny(1000, 1e-36f);
  EXPECT_EQ(RmsDb(tiny), -200.0);
}

class DominantFrequencyTest : public ::testing::TestWithParam<double> {};

TEST_P(DominantFrequencyTest, WithinTwoHertz) {
  const double hz = GetParam();
  // 0.5 s: the FFT uses 16384 samples (2.9 Hz bins); interpolation does the rest.
  const auto x = Tone(hz, -20, kRate / 2);
  EXPECT_NEAR(DominantFrequency(x), hz, 2.0);
}

INSTANTIATE_TEST_SUITE_P(AudioBand, DominantFrequencyTest, ::testing::Values(125.0, 440.0, 1000.0, 8000.0, 15000.0));

TEST(DominantFrequency, StrongerOfTwoTonesWins) {
  auto x = Tone(660, -20, kRate / 2);
  const auto y = Tone(1100, -30, kRate / 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += y[i];
  EXPECT_NEAR(DominantFrequency(x), 660, 2.0);
}

// Encodes 1 s in 10 ms frames, decodes, and compares levels after the codec has settled.
struct RoundTrip {
  double input_db, output_db, output_hz;
};

RoundTrip OpusRoundTrip(double hz) {
  std::string error;
  auto enc = OpusEncoder::Create(64000, &error);
  auto dec = OpusDecoder::Create(&error);
  EXPECT_TRUE(enc && dec) << error;
  if (!enc || !dec) return {};
  constexpr int kFrame = kRate / 100;
  ToneGenerator gen(hz, -20);
  std::vector<float> input, output;
  std::vector<float> frame(kFrame), decoded(5760);
  uint8_t packet[1500];
  for (int i = 0; i < 100; ++i) {
    gen.Fill(frame);
    input.insert(input.end(), frame.begin(), frame.end());
    const int bytes = enc->Encode(frame, packet, sizeof packet);
    EXPECT_GT(bytes, 0);
    const int n = dec->Decode(packet, bytes, decoded.data(), int(decoded.size()));
    EXPECT_EQ(n, kFrame);
    if (n > 0) output.insert(output.end(), decoded.begin(), decoded.begin() + n);
  }
  const std::size_t skip = kRate / 50;  // 20 ms: encoder look-ahead and start-up transient
  std::span<const float> out(output.begin() + skip, output.end());
  return {ToneLevelDb(std::span<const float>(input).subspan(skip), hz), ToneLevelDb(out, hz), DominantFrequency(out)};
}

TEST(Opus, RoundTrip440HzKeepsLevelAndFrequency) {
  const RoundTrip r = OpusRoundTrip(440);
  EXPECT_NEAR(r.output_db, r.input_db, 1.5);
  EXPECT_NEAR(r.output_hz, 440, 2.0);
}

TEST(Opus, RoundTrip15kHzSurvivesBecauseFullband) {
  // Wideband/super-wideband would cut 15 kHz off entirely; this is the ISO 20109 check.
  const RoundTrip r = OpusRoundTrip(15000);
  EXPECT_NEAR(r.output_db, r.input_db, 1.5);
  EXPECT_NEAR(r.output_hz, 15000, 2.0);
}

TEST(Opus, PacketLossConcealmentFillsTheFrame) {
  auto dec = OpusDecoder::Create();
  ASSERT_TRUE(dec);
  std::vector<float> out(5760);
  EXPECT_EQ(dec->Decode(nullptr, 0, out.data(), int(out.size()), 480), 480);
  EXPECT_EQ(dec->Decode(nullptr, 0, out.data(), int(out.size()), 0), -1);
}

TEST(Opus, GarbageIsADecodeErrorNotACrash) {
  auto dec = OpusDecoder::Create();
  ASSERT_TRUE(dec);
  std::vector<float> out(5760);
  const uint8_t garbage[] = {0xff, 0xff, 0xff};  // code-3 packet with impossible frame count
  EXPECT_EQ(dec->Decode(garbage, sizeof garbage, out.data(), int(out.size())), -1);
}

class WavTest : public ::testing::Test {
 protected:
  std::string path_ =
      (std::filesystem::temp_directory_path() / ("tilmash_audio_test_" + std::to_string(::getpid()) + ".wav")).string();
  void TearDown() override { std::remove(path_.c_str()); }
};

TEST_F(WavTest, WriteReadRoundTripKeepsSamplesAndRate) {
  const auto x = Tone(1000, -6, 4800);
  ASSERT_TRUE(WriteWav(path_, x, 44100));
  int rate = 0;
  std::string error;
  auto y = ReadWav(path_, &rate, &error);
  ASSERT_TRUE(y) << error;
  EXPECT_EQ(rate, 44100);
  ASSERT_EQ(y->size(), x.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::fabs((*y)[i] - x[i])));
  EXPECT_LT(worst, 1.0 / 16384);  // 16-bit quantisation
  EXPECT_NEAR(RmsDb(*y), RmsDb(x), 0.01);
}

TEST_F(WavTest, MissingFileIsAnError) {
  std::string error;
  EXPECT_FALSE(ReadWav(path_ + ".missing", nullptr, &error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
}

TEST(Resample, KeepsFrequencyAndLength) {
  std::vector<float> x(44100);
  ToneGenerator(1000.0 * 48000.0 / 44100.0, -20).Fill(x);  // the generator assumes 48 kHz
  // That is a 1000 Hz tone at 44.1 kHz; resampled to 48 kHz it must still be 1000 Hz.
  const auto y = Resample(x, 44100, kRate);
  EXPECT_EQ(y.size(), std::size_t(kRate));
  EXPECT_NEAR(DominantFrequency(y), 1000, 2.0);
  EXPECT_NEAR(RmsDb(y), RmsDb(x), 0.2);
}

}  // namespace
}  // namespace tilmash::audio
