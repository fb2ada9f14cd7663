// Control-plane benchmarks against a running tilmashd (tools/bench-control starts one):
//  - watchers: N listeners each holding WatchKeys open (spread over a number of connections, as
//    devices would be): the daemon's threads and memory per open stream, its CPU while they are
//    idle, and how long a key change of the whole audience (a member leaving the venue group)
//    takes to reach every stream;
//  - mic latency: SetMic(live) -> the interpreter's tone at a real SRTP listener, p50/p99 over
//    many presses, alone and while another session adds and removes channels and consoles in a
//    loop (the control plane must never wait on that session's media work).
#pragma once
#include <sys/types.h>
#include <string>

#include "stats.h"

namespace tilmash::bench {

struct WatchersResult {
  bool ok = false;
  std::string error;
  int streams = 0, connections = 0;
  int threads_before = 0, threads_open = 0;  // the daemon's threads with the listeners, then with their streams open
  double rss_per_stream_kib = 0;             // (RSS with the streams open - RSS without) / streams
  double idle_cpu_percent = 0;               // the daemon's CPU (of one core) while the streams are open and idle
  Percentiles rotation_ms;                   // Unsubscribe of one member -> the new group key at each stream
  int rotation_received = 0;
  double subscribe_s = 0;  // wall time of the N Subscribe calls
};
WatchersResult RunWatchersBench(const std::string& server, pid_t daemon, int streams, int connections);
void PrintWatchers(const WatchersResult& r);

struct MicLatencyResult {
  bool ok = false;
  std::string error;
  Percentiles quiet_ms, churn_ms;      // SetMic sent -> first listener packet with the interpreter at full level
  int churn_cycles = 0;                // add channel + join console + leave + remove channel, in the other session
  int churn_refused = 0;               // changes refused because the media thread was behind (RESOURCE_EXHAUSTED)
  std::string quiet_list, churn_list;  // every press, sorted
};
MicLatencyResult RunMicLatencyBench(const std::string& server, int presses);
void PrintMicLatency(const MicLatencyResult& r);

// Fills a daemon's state for tools/bench-restart: `sessions` sessions ("fill-0", ...) of
// `channels` language channels, one console joined per channel, and `listeners` venue
// multicast members per session spread over its channels (the fan-out carries one stream per
// channel). Returns "" or what failed.
std::string FillState(const std::string& server, int sessions, int channels, int listeners);

}  // namespace tilmash::bench
