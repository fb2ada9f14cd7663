// Audio helpers shared by the tools and the tests: Opus (libopus), tones, measurement, WAV.
// No GStreamer: the tools are independent peers of the daemon, as a real console or headset is.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tilmash::audio {

inline constexpr int kRate = 48000;

// Mono 48 kHz Opus encoder, fullband. frame_samples: 120/240/480/960.
class OpusEncoder {
 public:
  static std::unique_ptr<OpusEncoder> Create(int bitrate = 64000, std::string* error = nullptr);
  ~OpusEncoder();
  // Encodes exactly one frame of float samples in [-1, 1]. Returns bytes written or -1.
  int Encode(std::span<const float> frame, uint8_t* out, int capacity);

 private:
  explicit OpusEncoder(void* enc) : enc_(enc) {}
  void* enc_;
};

// Mono 48 kHz Opus decoder (decodes stereo streams down-mixed to mono).
class OpusDecoder {
 public:
  static std::unique_ptr<OpusDecoder> Create(std::string* error = nullptr);
  ~OpusDecoder();
  // Decodes one packet into `out` (room for 5760 samples). Returns samples or -1.
  // data == nullptr conceals one lost frame of `lost_samples`.
  int Decode(const uint8_t* data, int size, float* out, int capacity, int lost_samples = 0);

 private:
  explicit OpusDecoder(void* dec) : dec_(dec) {}
  void* dec_;
};

// Continuous sine generator (phase kept across calls).
class ToneGenerator {
 public:
  ToneGenerator(double frequency_hz, double level_dbfs) : freq_(frequency_hz), amp_(DbToLinear(level_dbfs)) {}
  void Fill(std::span<float> out);
  static double DbToLinear(double db);

 private:
  double freq_, amp_, phase_ = 0;
};

// Level of `freq` in `x`, in dBFS of a full-scale sine (Goertzel).
double ToneLevelDb(std::span<const float> x, double freq_hz, int rate = kRate);
// RMS level in dBFS (full-scale sine = -3.01 dBFS). Silence returns -200.
double RmsDb(std::span<const float> x);
// Peak |x| in dBFS.
double PeakDb(std::span<const float> x);
// Strongest frequency between 50 Hz and 20 kHz (Hann window + FFT on the first power of two
// <= x.size(), refined by parabolic interpolation). Returns 0 for silence.
double DominantFrequency(std::span<const float> x, int rate = kRate);

// 16-bit PCM WAV.
bool WriteWav(const std::string& path, std::span<const float> samples, int rate = kRate);
// Reads a 16-bit PCM WAV (mono or stereo, down-mixed) at any rate; returns samples and rate.
std::optional<std::vector<float>> ReadWav(const std::string& path, int* rate, std::string* error = nullptr);
// Linear resampler, good enough for feeding speech files to the encoder.
std::vector<float> Resample(std::span<const float> x, int from_rate, int to_rate);

}  // namespace tilmash::audio
