// The receiving end of the fan-out benchmark: thousands of listener streams on a few loopback
// sockets (one per `per_socket` listeners), drained by one thread with recvmmsg every couple
// of milliseconds, so the sink does not wake per packet and costs the machine little. Arrival
// times are the kernel's (SO_TIMESTAMPNS), so batching does not blur them.
//
// Listeners are told apart by SSRC (clear text in SRTP). Per listener the sink counts packets
// against the RTP timestamp span (a packet the fan-out never sent leaves no sequence gap, but
// its frame is missing from the timeline); per channel packet it measures the burst: first
// to last listener copy.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "stats.h"

namespace tilmash::bench {

class LoopbackSink {
 public:
  static std::unique_ptr<LoopbackSink> Create(int sockets, std::string* error);
  ~LoopbackSink();

  uint16_t port(int socket) const { return ports_[std::size_t(socket)]; }
  int sockets() const { return int(fds_.size()); }
  // Any thread, any time: packets of unknown SSRCs are only counted.
  void Expect(uint32_t ssrc, int channel);

  struct Window {
    double seconds = 0;
    uint64_t received = 0;
    uint64_t lost = 0;  // frames missing from each timeline, a full window if never heard
    uint64_t silent_listeners = 0;
    uint64_t unknown = 0;         // packets of SSRCs not (yet) expected
    Percentiles burst_ms;         // first to last listener copy of one channel packet
    double copies_per_burst = 0;  // median (should equal the listeners of a channel)
  };
  // Starts a measurement window (clears counters and arrivals).
  void BeginWindow();
  // Ends it; frame_ms: the stream's packet duration (a gap of half of it ends a burst).
  Window EndWindow(int frame_ms);

 private:
  struct Listener {
    int channel = 0;
    bool seen = false;
    uint16_t last_seq = 0;
    uint32_t first_ts = 0, last_ts = 0;
    uint64_t received = 0;
  };
  struct Arrival {
    int channel;
    int64_t ns;
  };
  LoopbackSink() = default;
  void Run();

  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // taken once per recvmmsg batch
  std::unordered_map<uint32_t, Listener> listeners_;
  std::vector<Arrival> arrivals_;
  uint64_t unknown_ = 0;
  int64_t window_start_ns_ = 0;
  std::thread thread_;
};

}  // namespace tilmash::bench
