// The console's return feed (what the interpreter hears): a StreamReceiver bound before
// JoinConsole, split into periods by what the console was hearing (its effective input), each
// measured for its dominant frequency and level at the end of the run.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/stream_receiver.h"
#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::booth {

class ReturnFeedMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  struct Period {
    std::string input;  // the effective input while it lasted: "floor" or a channel
    double from_s = 0;  // wall-clock seconds since Attach()
    double to_s = 0;
    uint64_t packets = 0;      // packets that arrived during the period; 0: the console heard nothing
    double dominant_hz = 0;    // of the period's audio without its first 100 ms (the switch itself)
    double level_dbfs = -200;  // RMS, same span
  };

  static std::unique_ptr<ReturnFeedMonitor> Bind(const std::string& host, std::string* error);
  // For JoinConsoleRequest.return_endpoint.
  v1::UdpEndpoint endpoint() const;
  bool Attach(const v1::ReturnFeed& feed, std::string* error);
  // The console now hears `effective_input`; starts a new period if that differs from the last one.
  void Mark(const std::string& effective_input);

  // Stops receiving and measures every period.
  std::vector<Period> Finish();
  client::StreamReceiver& receiver() { return *receiver_; }
  const v1::ReturnFeed& feed() const { return feed_; }

 private:
  std::unique_ptr<client::StreamReceiver> receiver_;
  v1::ReturnFeed feed_;
  Clock::time_point attached_at_;
  std::mutex mutex_;  // Mark() comes from the main and the booth-watch threads
  struct Boundary {
    Clock::time_point at;
    std::string input;
  };
  std::vector<Boundary> boundaries_;
};

}  // namespace tilmash::booth
