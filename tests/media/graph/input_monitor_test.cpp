// The speaker-input monitor on its own: level, clipping, noise floor, and a telephone-band
// speaker told from a full-band one by the energy above 7 kHz.
#include "graph/input_monitor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tilmash::graph {
namespace {

void Feed(InputMonitor& m, const std::vector<float>& x) {
  for (std::size_t i = 0; i + 480 <= x.size(); i += 480) m.Add(x.data() + i, 480);
}

std::vector<float> Noise(double seconds, float amplitude, unsigned seed = 24019) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-amplitude, amplitude);
  std::vector<float> x(std::size_t(seconds * 48000));
  for (float& v : x) v = u(rng);
  return x;
}

// Noise band-limited to 300-3400 Hz by summing sines (a telephone line's band).
std::vector<float> TelephoneBand(double seconds, double amplitude) {
  std::vector<float> x(std::size_t(seconds * 48000));
  for (double hz = 300; hz <= 3400; hz += 100)
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] += float(amplitude / 10 * std::sin(2 * M_PI * hz * double(i) / 48000 + hz));
  return x;
}

TEST(InputMonitorTest, AFullBandSpeakerIsNotNarrowbandATelephoneOneIs) {
  InputMonitor full, phone;
  Feed(full, Noise(1, 0.3f));
  Feed(phone, TelephoneBand(1, 0.3));
  std::cout << "[ measured ] above 7 kHz: full band " << full.reading().above_7khz_db << " dB, telephone band "
            << phone.reading().above_7khz_db << " dB\n";
  EXPECT_FALSE(full.reading().narrowband);
  EXPECT_GT(full.reading().above_7khz_db, -10);
  EXPECT_TRUE(phone.reading().narrowband);
  EXPECT_LT(phone.reading().above_7khz_db, InputMonitor::kNarrowbandDb);
}

TEST(InputMonitorTest, LevelClippingAndNoiseFloor) {
  InputMonitor m;
  Feed(m, Noise(1, 0.001f));  // a quiet room: about -65 dBFS
  std::vector<float> loud(48000);
  for (std::size_t i = 0; i < loud.size(); ++i)
    loud[i] = std::sin(2 * M_PI * 1000 * double(i) / 48000) >= 0 ? 1.0f : -1.0f;
  Feed(m, loud);
  const InputReading r = m.reading();
  EXPECT_NEAR(r.rms_dbfs, 0, 0.1);
  EXPECT_NEAR(r.peak_dbfs, 0, 0.1);
  EXPECT_TRUE(r.clipping);
  EXPECT_NEAR(r.noise_floor_dbfs, -64.8, 1) << "the quietest 100 ms of the last 5 s";
  Feed(m, Noise(0.2, 0.1f));
  EXPECT_FALSE(m.reading().clipping);
}

}  // namespace
}  // namespace tilmash::graph
