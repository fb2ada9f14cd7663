// What a shell command writes to stdout, for tests that run real tools (ffmpeg, ffprobe).
#pragma once
#include <cstdio>
#include <string>

namespace tilmash::testing {

// "" when the command cannot run.
inline std::string ShellOutput(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace tilmash::testing
