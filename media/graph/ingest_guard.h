// Guards one ingest port: every packet is validated (RTP shape, payload type, SSRC) and,
// for SRTP, authenticated and decrypted in place before the jitter buffer sees it.
// Anything else is counted and dropped - never a crash, never a glitch downstream.
// Runs on the udpsrc streaming thread only; the counters are read from anywhere.
#pragma once
#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "graph/input_monitor.h"
#include "gst/gst_ptr.h"
#include "rtp/srtp_context.h"

namespace tilmash::graph {

struct IngestCountersAtomic {
  std::atomic<uint64_t> accepted{0}, malformed{0}, oversized{0}, unknown_ssrc{0}, wrong_payload_type{0}, srtp_auth{0};
  // RFC 3550 receiver statistics of the accepted packets (see domain::IngestCounters).
  std::atomic<uint64_t> lost{0}, late{0};
  std::atomic<double> jitter_s{0};
};

class IngestGuard {
 public:
  // expected_ssrc 0: latch the first valid packet's SSRC (documented latching rule).
  // roc: the SRTP rollover counter the sender is at (0 for a new sender).
  IngestGuard(std::string source, uint8_t payload_type, uint32_t expected_ssrc, rtp::SrtpContextPtr srtp,
              uint32_t roc = 0);
  // Installs the probe on a udpsrc's src pad. The guard must outlive the pad.
  void Attach(GstPad* pad);

  const std::string& source() const { return source_; }
  const IngestCountersAtomic& counters() const { return counters_; }
  // When the last valid packet arrived (g_get_monotonic_time, us); 0 before the first.
  int64_t last_accepted_us() const { return last_accepted_us_.load(std::memory_order_relaxed); }
  // The rollover counter of the latest packet accepted (counted from the sequence's wraps).
  uint32_t roc() const { return roc_.load(std::memory_order_relaxed); }
  // What the source sounds like once decoded (attached after the decoder by the graph).
  InputMonitor& monitor() { return monitor_; }
  const InputMonitor& monitor() const { return monitor_; }

 private:
  static GstPadProbeReturn OnBuffer(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  // Returns false when the buffer must be dropped; may replace *buffer (made writable).
  bool Check(GstBuffer** buffer);

  const std::string source_;
  const uint8_t payload_type_;
  uint32_t ssrc_;  // streaming thread only
  rtp::SrtpContextPtr srtp_;
  IngestCountersAtomic counters_;
  std::atomic<int64_t> last_accepted_us_{0};
  std::atomic<uint32_t> roc_;
  // RFC 3550 statistics (streaming thread only; published in counters_).
  void Account(uint16_t seq, uint32_t timestamp);

  uint16_t last_seq_ = 0;  // streaming thread only
  bool seen_ = false;
  uint64_t base_ext_ = 0, highest_ext_ = 0, received_ = 0;  // extended sequence numbers
  int64_t last_transit_ = 0;
  double jitter_ = 0;  // in RTP clock units (48 kHz)
  gst::PadProbe probe_;
  InputMonitor monitor_;
};

}  // namespace tilmash::graph
