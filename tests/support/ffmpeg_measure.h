// Levels of decoded audio as ffmpeg's own filters measure them (a meter the project did not
// write): true peak and loudness (ebur128, EBU R128 / ITU-R BS.1770) and RMS (astats).
#pragma once
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <span>
#include <string>

#include "shell_output.h"

namespace tilmash::testing {

struct FfmpegMeasure {
  double true_peak_dbtp = std::numeric_limits<double>::quiet_NaN();  // ebur128=peak=true
  double integrated_lufs = std::numeric_limits<double>::quiet_NaN();
  double rms_db = std::numeric_limits<double>::quiet_NaN();               // astats, whole signal
  double rms_without_tone_db = std::numeric_limits<double>::quiet_NaN();  // with `notch_hz` notched out
  // THD+N: what is left with the fundamental notched out, relative to the whole (0..1).
  double thd_n() const { return std::pow(10.0, (rms_without_tone_db - rms_db) / 20.0); }
};

namespace ffmpeg_detail {
// The number after the last occurrence of `label` in `text`.
inline double LastNumberAfter(const std::string& text, const std::string& label) {
  const auto at = text.rfind(label);
  if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(text.c_str() + at + label.size(), nullptr);
}
}  // namespace ffmpeg_detail

// 48 kHz mono float samples (unclipped) measured by ffmpeg; notch_hz > 0 also measures THD+N
// of a tone at that frequency (two notches of Q 5 in series, then astats' RMS).
inline FfmpegMeasure MeasureWithFfmpeg(std::span<const float> samples, double notch_hz = 0) {
  FfmpegMeasure m;
  char path[] = "/tmp/tilmash-measure-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return m;
  close(fd);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(samples.data()), std::streamsize(samples.size_bytes()));
  }
  const std::string in = std::string("ffmpeg -hide_banner -nostats -nostdin -f f32le -ar 48000 -ac 1 -i ") + path;
  const std::string loud = ShellOutput(in + " -af ebur128=peak=true -f null - 2>&1");
  m.true_peak_dbtp = ffmpeg_detail::LastNumberAfter(loud, "Peak:");
  m.integrated_lufs = ffmpeg_detail::LastNumberAfter(loud, "I:");
  // The notches ring for a moment at the start: both RMS figures skip the first 200 ms.
  const std::string stats = "atrim=start=0.2,astats=measure_overall=RMS_level -f null - 2>&1";
  const std::string all = ShellOutput(in + " -af " + stats);
  m.rms_db = ffmpeg_detail::LastNumberAfter(all, "RMS level dB:");
  if (notch_hz > 0) {
    const std::string notch = "bandreject=f=" + std::to_string(notch_hz) + ":t=q:w=5";
    const std::string rest = ShellOutput(in + " -af " + notch + "," + notch + "," + stats);
    m.rms_without_tone_db = ffmpeg_detail::LastNumberAfter(rest, "RMS level dB:");
  }
  unlink(path);
  return m;
}

}  // namespace tilmash::testing
