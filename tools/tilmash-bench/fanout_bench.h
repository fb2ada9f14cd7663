// Fan-out at scale against the real daemon: K language channels, listeners subscribed through
// ListenerService (each its own key and SSRC) onto a LoopbackSink, the daemon's CPU and memory
// read from /proc/<pid>. Steps through listener counts in one session (e.g. 2,000 then
// 10,000), measuring a window at each.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "stats.h"
#include "tilmash/v1/tilmash.pb.h"

namespace grpc {
class Channel;
}

namespace tilmash::bench {

struct FanoutConfig {
  std::string server;
  pid_t daemon_pid = 0;
  int frame_ms = 20;  // what the daemon was started with (--frame-ms)
  int channels = 10;
  std::vector<int> listener_steps{2000, 10000};
  int window_s = 5;
  int join_callers = 8;  // concurrent Subscribe callers (delegates arriving together)
  // Send side only: listeners at PREFIX.0.2, a port each, behind a tap device nobody reads
  // (tools/bench makes one in a network namespace), which frees every packet. Loss is then
  // what the daemon itself dropped or failed to send. "": the loopback sink.
  std::string dummy_prefix;
  v1::CryptoSuite suite = v1::AES_CM_128_HMAC_SHA1_80;
};

struct FanoutStep {
  int listeners = 0;
  double window_s = 0;
  double daemon_cores = 0;            // CPU of the daemon during the window, in cores
  double added_cores = 0;             // minus the daemon with no listeners
  double sent_per_s = 0;              // listener packets the daemon sent per second
  double delivered_per_s = 0;         // listener packets the sink received per second
  double us_per_listener_packet = 0;  // added CPU per sent listener packet
  double listeners_per_core = 0;      // listener streams one core carries at that cost
  uint64_t received = 0, lost = 0, silent = 0;
  Percentiles burst_ms;  // first to last listener copy of one channel packet
  double copies_per_burst = 0;
  double rss_kib = 0;
  double mem_per_listener_kib = 0;  // RSS growth / listeners since the session had none
  uint64_t daemon_send_errors = 0;
  uint64_t daemon_dropped = 0;  // listener packets the daemon dropped (socket buffer, ring)
  double expected_per_s = 0;    // listeners x packets per second
};

struct FanoutResult {
  bool ok = false;
  std::string error;
  int frame_ms = 0;
  bool send_side = false;
  std::string suite;
  double idle_cores = 0;   // the daemon with the session running and no listeners
  double join_1500_s = 0;  // wall time for the first 1,500 Subscribe RPCs
  double join_all_s = 0;
  std::vector<FanoutStep> steps;
};

FanoutResult RunFanoutBench(const FanoutConfig& config, const std::shared_ptr<grpc::Channel>& channel);
void PrintFanout(const FanoutResult& r);

}  // namespace tilmash::bench
