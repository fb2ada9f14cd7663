// Service-added latency = time from the floor packet that carries a tone onset leaving the
// desk to the first listener packet that carries it arriving, on loopback.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "stats.h"

namespace grpc {
class Channel;
}

namespace tilmash::bench {

struct LatencyResult {
  Percentiles floor, mixed, booth;
  uint64_t lost = 0;
  bool ok = false;
};

// The session's own timing (CreateSessionRequest.frame_ms / jitter_ms; 0: the daemon's) and
// the desk's and console's packet duration.
struct LatencyTiming {
  double frame_ms = 0;
  uint32_t jitter_ms = 0;
  int sender_frame_ms = 10;
};

// Creates its own session, measures for `seconds`, prints its table, ends the session.
LatencyResult RunLatencyBench(const std::string& server, const std::shared_ptr<grpc::Channel>& channel, int seconds,
                              int period_ms, const LatencyTiming& timing = {});

}  // namespace tilmash::bench
