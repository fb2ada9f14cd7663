#include "audio/audio.h"

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <fstream>
#include <numbers>

namespace tilmash::audio {

namespace {

constexpr double kSilenceDb = -200.0;

// Anything below -200 dBFS (denormals from a decoder fading out) is reported as silence.
double ToDb(double linear) { return linear > 0 ? std::max(kSilenceDb, 20.0 * std::log10(linear)) : kSilenceDb; }

std::string OpusErrorText(int code) { return opus_strerror(code); }

}  // namespace

// ---------------------------------------------------------------- Opus

std::unique_ptr<OpusEncoder> OpusEncoder::Create(int bitrate, std::string* error) {
  int err = OPUS_OK;
  // RESTRICTED_LOWDELAY: CELT only, 2.5 ms look-ahead; interpreters hear every millisecond twice.
  ::OpusEncoder* enc = opus_encoder_create(kRate, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY, &err);
  if (err != OPUS_OK || enc == nullptr) {
    if (error) *error = "opus_encoder_create: " + OpusErrorText(err);
    return nullptr;
  }
  // ISO 24019/20109 want 125 Hz - 15 kHz, so fullband is a requirement, not a preference.
  int rc = opus_encoder_ctl(enc, OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_FULLBAND));
  if (rc == OPUS_OK) rc = opus_encoder_ctl(enc, OPUS_SET_BITRATE(bitrate));
  if (rc != OPUS_OK) {
    if (error) *error = "opus_encoder_ctl: " + OpusErrorText(rc);
    opus_encoder_destroy(enc);
    return nullptr;
  }
  return std::unique_ptr<OpusEncoder>(new OpusEncoder(enc));
}

OpusEncoder::~OpusEncoder() { opus_encoder_destroy(static_cast<::OpusEncoder*>(enc_)); }

int OpusEncoder::Encode(std::span<const float> frame, uint8_t* out, int capacity) {
  const int n = opus_encode_float(static_cast<::OpusEncoder*>(enc_), frame.data(), int(frame.size()), out, capacity);
  return n < 0 ? -1 : n;
}

std::unique_ptr<OpusDecoder> OpusDecoder::Create(std::string* error) {
  int err = OPUS_OK;
  // A mono decoder down-mixes stereo packets itself, so listeners never care what was sent.
  ::OpusDecoder* dec = opus_decoder_create(kRate, 1, &err);
  if (err != OPUS_OK || dec == nullptr) {
    if (error) *error = "opus_decoder_create: " + OpusErrorText(err);
    return nullptr;
  }
  return std::unique_ptr<OpusDecoder>(new OpusDecoder(dec));
}

OpusDecoder::~OpusDecoder() { opus_decoder_destroy(static_cast<::OpusDecoder*>(dec_)); }

int OpusDecoder::Decode(const uint8_t* data, int size, float* out, int capacity, int lost_samples) {
  auto* dec = static_cast<::OpusDecoder*>(dec_);
  int n;
  if (data == nullptr) {
    // PLC needs the exact lost duration as frame_size (a multiple of 2.5 ms).
    if (lost_samples <= 0 || lost_samples > capacity) return -1;
    n = opus_decode_float(dec, nullptr, 0, out, lost_samples, 0);
  } else {
    n = opus_decode_float(dec, data, size, out, std::min(capacity, 5760), 0);
  }
  return n < 0 ? -1 : n;
}

// ---------------------------------------------------------------- tones and levels

double ToneGenerator::DbToLinear(double db) { return std::pow(10.0, db / 20.0); }

void ToneGenerator::Fill(std::span<float> out) {
  const double step = 2.0 * std::numbers::pi * freq_ / kRate;
  for (float& s : out) {
    s = float(amp_ * std::sin(phase_));
    phase_ += step;
    // Wrapping keeps sin() accurate over hours of generated audio.
    if (phase_ >= 2.0 * std::numbers::pi) phase_ -= 2.0 * std::numbers::pi;
  }
}

double ToneLevelDb(std::span<const float> x, double freq_hz, int rate) {
  if (x.empty()) return kSilenceDb;
  // Generalised Goertzel (any frequency, not only bin centres) on a Hann-windowed block:
  // the window keeps the negative-frequency image and neighbouring tones from leaking in.
  const std::size_t n = x.size();
  const double w = 2.0 * std::numbers::pi * freq_hz / rate;
  const double coeff = 2.0 * std::cos(w);
  double s1 = 0, s2 = 0, window_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double win = n > 1 ? 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * double(i) / double(n - 1)) : 1.0;
    window_sum += win;
    const double s0 = win * x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double re = s1 - s2 * std::cos(w);
  const double im = s2 * std::sin(w);
  const double amplitude = 2.0 * std::sqrt(re * re + im * im) / window_sum;
  return ToDb(amplitude);
}

double RmsDb(std::span<const float> x) {
  if (x.empty()) return kSilenceDb;
  double sum = 0;
  for (float s : x) sum += double(s) * s;
  return ToDb(std::sqrt(sum / double(x.size())));
}

double PeakDb(std::span<const float> x) {
  double peak = 0;
  for (float s : x) peak = std::max(peak, double(std::fabs(s)));
  return ToDb(peak);
}

namespace {

// In-place iterative radix-2 FFT; size must be a power of two.
void Fft(std::vector<std::complex<double>>& a) {
  const std::size_t n = a.size();
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2.0 * std::numbers::pi / double(len);
    const std::complex<double> wlen(std::cos(angle), std::sin(angle));
    for (std::size_t i = 0; i < n; i += len) {
      std::complex<double> w(1.0, 0.0);
      for (std::size_t k = 0; k < len / 2; ++k) {
        const std::complex<double> u = a[i + k];
        const std::complex<double> v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
        w *= wlen;
      }
    }
  }
}

}  // namespace

double DominantFrequency(std::span<const float> x, int rate) {
  // 2^17 samples (2.7 s) already resolve 0.37 Hz per bin; more only costs time.
  std::size_t n = 1;
  while (n * 2 <= x.size() && n * 2 <= (std::size_t(1) << 17)) n *= 2;
  if (n < 64) return 0;
  std::vector<std::complex<double>> spectrum(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double win = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * double(i) / double(n - 1));
    spectrum[i] = win * x[i];
  }
  Fft(spectrum);
  const double bin_hz = double(rate) / double(n);
  const std::size_t lo = std::max<std::size_t>(1, std::size_t(std::ceil(50.0 / bin_hz)));
  const std::size_t hi = std::min(n / 2 - 1, std::size_t(20000.0 / bin_hz));
  std::size_t best = 0;
  double best_mag = 0;
  for (std::size_t k = lo; k <= hi; ++k) {
    const double mag = std::abs(spectrum[k]);
    if (mag > best_mag) {
      best_mag = mag;
      best = k;
    }
  }
  // Below ~-120 dBFS there is nothing but rounding noise: call it silence.
  if (best == 0 || best_mag / (0.5 * double(n)) < 1e-6) return 0;
  // Parabolic interpolation on log magnitude is close to exact for a Hann main lobe.
  const double a = std::log(std::abs(spectrum[best - 1]) + 1e-300);
  const double b = std::log(best_mag);
  const double c = std::log(std::abs(spectrum[best + 1]) + 1e-300);
  const double denom = a - 2.0 * b + c;
  const double offset = denom != 0 ? 0.5 * (a - c) / denom : 0.0;
  return (double(best) + std::clamp(offset, -0.5, 0.5)) * bin_hz;
}

// ---------------------------------------------------------------- WAV

namespace {

void PutU16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
void PutU32(std::string& s, uint32_t v) {
  PutU16(s, uint16_t(v & 0xffff));
  PutU16(s, uint16_t(v >> 16));
}
uint16_t GetU16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t GetU32(const unsigned char* p) { return uint32_t(GetU16(p)) | uint32_t(GetU16(p + 2)) << 16; }

}  // namespace

bool WriteWav(const std::string& path, std::span<const float> samples, int rate) {
  const uint32_t data_bytes = uint32_t(samples.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  PutU32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  PutU32(out, 16);
  PutU16(out, 1);  // PCM
  PutU16(out, 1);  // mono
  PutU32(out, uint32_t(rate));
  PutU32(out, uint32_t(rate) * 2);
  PutU16(out, 2);
  PutU16(out, 16);
  out += "data";
  PutU32(out, data_bytes);
  for (float s : samples) {
    const long v = std::lround(std::clamp(double(s), -1.0, 1.0) * 32767.0);
    PutU16(out, uint16_t(int16_t(v)));
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f.write(out.data(), std::streamsize(out.size()));
  return bool(f);
}

std::optional<std::vector<float>> ReadWav(const std::string& path, int* rate, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<std::vector<float>> {
    if (error) *error = path + ": " + why;
    return std::nullopt;
  };
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail("cannot open");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 || std::memcmp(bytes.data() + 8, "WAVE", 4) != 0)
    return fail("not a RIFF/WAVE file");
  int channels = 0, bits = 0, sample_rate = 0;
  std::size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const unsigned char* chunk = bytes.data() + pos;
    const std::size_t size = GetU32(chunk + 4);
    const std::size_t body = pos + 8;
    const std::size_t available = std::min(size, bytes.size() - body);  // tolerate truncated files
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      if (available < 16) return fail("short fmt chunk");
      const uint16_t format = GetU16(bytes.data() + body);
      // 0xFFFE is WAVE_FORMAT_EXTENSIBLE; its sub-format is PCM in every file we care about.
      if (format != 1 && format != 0xFFFE) return fail("only PCM WAV is supported");
      channels = GetU16(bytes.data() + body + 2);
      sample_rate = int(GetU32(bytes.data() + body + 4));
      bits = GetU16(bytes.data() + body + 14);
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (channels <= 0 || sample_rate <= 0) return fail("data before fmt");
      if (bits != 16) return fail("only 16-bit PCM is supported (got " + std::to_string(bits) + ")");
      const std::size_t frames = available / (2 * std::size_t(channels));
      std::vector<float> out(frames);
      for (std::size_t i = 0; i < frames; ++i) {
        double sum = 0;
        for (int c = 0; c < channels; ++c)
          sum += int16_t(GetU16(bytes.data() + body + (i * channels + c) * 2)) / 32768.0;
        out[i] = float(sum / channels);
      }
      if (rate) *rate = sample_rate;
      return out;
    }
    pos = body + size + (size & 1);  // chunks are word-aligned
  }
  return fail("no data chunk");
}

std::vector<float> Resample(std::span<const float> x, int from_rate, int to_rate) {
  if (from_rate == to_rate || x.empty() || from_rate <= 0 || to_rate <= 0) return {x.begin(), x.end()};
  const std::size_t out_size = std::size_t(double(x.size()) * to_rate / from_rate);
  std::vector<float> out(out_size);
  const double step = double(from_rate) / to_rate;
  for (std::size_t i = 0; i < out_size; ++i) {
    const double pos = double(i) * step;
    const std::size_t j = std::size_t(pos);
    const double frac = pos - double(j);
    const float a = x[std::min(j, x.size() - 1)];
    const float b = x[std::min(j + 1, x.size() - 1)];
    out[i] = float(a + (b - a) * frac);
  }
  return out;
}

}  // namespace tilmash::audio
