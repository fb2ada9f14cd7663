// The fixed cost of sessions nobody listens to: N sessions, each a floor (a test tone made in the
// daemon) and one language channel with an interpreter's console joined but silent, 10 ms frames
// as the daemon runs them; the daemon's CPU from /proc over a window with them and without them,
// and its threads. Per channel: the floor and the language channel each count (each is mixed or
// passed and limited whether or not anyone listens; encoded only while someone does). Then the
// same sessions with one listener on each channel (a socket nobody reads): every channel encodes,
// as all did before the encoder gate, so the two windows of one run compare the designs.
#pragma once
#include <sys/types.h>

#include <memory>

namespace grpc {
class Channel;
}

namespace tilmash::bench {

struct IdleResult {
  bool ok = false;
  int sessions = 0, channels = 0;
  double frame_ms = 0;                           // the sessions' frame (0: the daemon's)
  double cpu_pct_without = 0, cpu_pct_with = 0;  // % of one core
  double cpu_pct_heard = 0;                      // with one listener per channel (all encoding)
  int threads_without = 0, threads_with = 0;
  double pct_per_channel() const { return channels > 0 ? (cpu_pct_with - cpu_pct_without) / channels : 0; }
  double heard_pct_per_channel() const {
    return channels > 0 && cpu_pct_heard > 0 ? (cpu_pct_heard - cpu_pct_without) / channels : 0;
  }
  double threads_per_session() const { return ok ? double(threads_with - threads_without) / sessions : 0; }
};

// frame_ms: the sessions' own frame (0: the daemon's).
IdleResult RunIdleBench(const std::shared_ptr<grpc::Channel>& channel, pid_t daemon, int sessions, int window_s,
                        double frame_ms = 0);
void PrintIdle(const IdleResult& r);

}  // namespace tilmash::bench
