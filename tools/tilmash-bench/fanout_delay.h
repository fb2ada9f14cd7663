// Fan-out delay to the last listener, measured exactly: FanoutEngine's own histogram (Push ->
// return of the last sendmmsg carrying the packet; tilmashd exports the same histogram in
// GetSessionStats). This runs the daemon's FanoutEngine in this process with a controlled shape
// of load: K channels whose packets arrive together each frame (mixers on one clock), N
// listeners with their own keys, sent to a LoopbackSink, or (dummy_prefix) to addresses behind
// a tap device nobody reads: the send side alone. The previous designs, for comparison in the
// same run: kLibsrtpHmac, the listeners' contexts use libsrtp's own HMAC-SHA1 glue instead of
// the precomputed one; kNoPrefetch, the sender threads do not prefetch listeners' contexts;
// kOrdinary, the sender threads run with ordinary scheduling instead of SCHED_FIFO (tilmashd's
// fanout_realtime_priority, 10 by default).
#pragma once
#include <cstdint>
#include <string>

#include "stats.h"

namespace tilmash::bench {

enum class DelayDesign { kCurrent, kLibsrtpHmac, kNoPrefetch, kOrdinary };

struct DelayResult {
  bool ok = false;
  std::string error;
  int listeners = 0, channels = 0, frame_ms = 0, sender_threads = 0;
  bool gcm = false, send_side = false;
  DelayDesign design = DelayDesign::kCurrent;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::string realtime_problem;       // the sender threads could not be made SCHED_FIFO (why)
  double us_per_listener_packet = 0;  // this process's CPU over the window / listener packets sent
  uint64_t samples = 0, lost = 0, ring_overflows = 0;
};

DelayResult RunFanoutDelay(int listeners, int channels, int frame_ms, int sender_threads, int window_s,
                           const std::string& dummy_prefix = "", bool gcm = false,
                           DelayDesign design = DelayDesign::kCurrent);
void PrintDelay(const DelayResult& r);

}  // namespace tilmash::bench
