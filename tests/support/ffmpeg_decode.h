// A file as Debian's ffmpeg decodes it, for tests that check what a player would hear.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace tilmash::testing {

// The float samples (f32le) a shell command writes to its standard output.
inline std::vector<float> ReadFloatsFrom(const std::string& cmd) {
  std::vector<float> out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  float buf[4096];
  std::size_t n;
  while ((n = fread(buf, sizeof(float), 4096, f)) > 0) out.insert(out.end(), buf, buf + n);
  pclose(f);
  return out;
}

// The file decoded to 48 kHz mono float samples (empty when ffmpeg cannot read it).
inline std::vector<float> DecodeWithFfmpeg(const std::string& path) {
  return ReadFloatsFrom("ffmpeg -v error -nostdin -i '" + path + "' -f f32le -ac 1 -ar 48000 - 2>/dev/null");
}

}  // namespace tilmash::testing
