// The GStreamer-only way to do the same fan-out, for comparison: one pipeline in this process,
// audiotestsrc ! opusenc ! rtpopuspay ! tee ! N x (queue ! srtpenc ! udpsink), each srtpenc
// with its own key (what a per-listener srtpenc design costs: one thread and one libsrtp
// context, Debian's NSS build, per listener).
#pragma once
#include <string>

namespace tilmash::bench {

struct BaselineResult {
  bool ok = false;
  std::string error;
  int listeners = 0;
  int frame_ms = 0;
  double cores = 0;                   // this process during the window, N branches
  double cores_one = 0;               // the same pipeline with one branch
  double us_per_listener_packet = 0;  // (cores - cores_one) / (N - 1) per packet
};

BaselineResult RunGstBaseline(int listeners, int frame_ms, int window_s);
void PrintBaseline(const BaselineResult& r);

}  // namespace tilmash::bench
