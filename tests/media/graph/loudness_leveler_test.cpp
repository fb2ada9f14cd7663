// The loudness leveler on its own: two voices 10 dB apart end up at the target, a quiet one is
// raised by at most its range, silence and pauses do not pump, off is bit-exact.
#include "graph/loudness_leveler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tilmash::graph {
namespace {

// Seconds of a 1 kHz tone at `dbfs` (peak), run through `leveler` in 10 ms buffers.
std::vector<float> Tone(LoudnessLeveler& leveler, double seconds, double dbfs) {
  const double a = std::pow(10.0, dbfs / 20.0);
  std::vector<float> x(std::size_t(seconds * 48000));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(a * std::sin(2 * M_PI * 1000 * double(i) / 48000));
  for (std::size_t i = 0; i < x.size(); i += 480) leveler.Process(x.data() + i, 480);
  return x;
}

double RmsDb(const std::vector<float>& x, std::size_t from) {
  double sum = 0;
  for (std::size_t i = from; i < x.size(); ++i) sum += double(x[i]) * x[i];
  return 10 * std::log10(sum / double(x.size() - from));
}

TEST(LoudnessLevelerTest, TwoVoices10dBApartEndUpAtTheTarget) {
  LoudnessLeveler loud, quiet;
  loud.Configure(-23, 10);
  quiet.Configure(-23, 10);
  // A 1 kHz sine at -15 dBFS peak reads -18 LUFS, at -25 dBFS -28 LUFS.
  const auto a = Tone(loud, 12, -15), b = Tone(quiet, 12, -25);
  const double la = RmsDb(a, 48000 * 10), lb = RmsDb(b, 48000 * 10);
  std::cout << "[ measured ] after 10 s: gains " << loud.gain_db() << " / " << quiet.gain_db() << " dB, RMS " << la
            << " / " << lb << " dB (input short-term " << loud.short_term_lufs() << " / " << quiet.short_term_lufs()
            << " LUFS)\n";
  EXPECT_NEAR(la, lb, 0.5) << "the same loudness on both";
  EXPECT_NEAR(loud.short_term_lufs() + loud.gain_db(), -23, 0.5);
}

TEST(LoudnessLevelerTest, AWhisperIsRaisedByItsRangeAtMostAndSilenceHolds) {
  LoudnessLeveler leveler;
  leveler.Configure(-23, 10);
  Tone(leveler, 15, -40);  // about -42 LUFS: would need +19 dB
  EXPECT_NEAR(leveler.gain_db(), 10, 0.01);
  Tone(leveler, 5, -120);  // a pause: below the gate, the gain holds
  EXPECT_NEAR(leveler.gain_db(), 10, 0.01);
}

TEST(LoudnessLevelerTest, TheGainMovesSlowly) {
  LoudnessLeveler leveler;
  leveler.Configure(-23, 10);
  Tone(leveler, 3, -35);  // the 3 s window fills
  const double before = leveler.gain_db();
  Tone(leveler, 1, -35);
  EXPECT_LE(leveler.gain_db() - before, 2.01) << "at most 2 dB a second up";
}

TEST(LoudnessLevelerTest, OffLeavesTheSamplesAsTheyAre) {
  LoudnessLeveler leveler;
  leveler.Configure(0, 10);
  std::vector<float> x(4800, 0.25f), y = x;
  leveler.Process(y.data(), y.size());
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace tilmash::graph
