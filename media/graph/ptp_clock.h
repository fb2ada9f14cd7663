// The venue's PTP time as the sessions' clock (--ptp-domain N): GStreamer's PTP client
// (GstPtpClock, IEEE 1588-2008 over UDP, its privileged gst-ptp-helper on ports 319/320) follows
// the grandmaster of domain N on the AES67 interface. Every session pipeline then runs on it,
// so AES67 packets carry RTP timestamps of PTP time (RFC 7273 a=mediaclk:direct=0) that Dante
// and RAVENNA receivers align to. Waits for the first sync: a clock that has none has no time.
#pragma once
#include <chrono>
#include <string>

#include "gst/gst_ptr.h"

namespace tilmash::graph {

struct PtpClockStatus {
  gst::GstPtr<GstClock> clock;  // null: not synced within the wait (the caller decides)
  std::string grandmaster;      // "DA-81-DE-FF-FE-EE-3C-1E" (RFC 7273's EUI-64 form)
  std::chrono::milliseconds waited{0};
  std::string error;  // why there is no clock
};

// Starts PTP on the interface with IPv4 address `interface_ip` ("": every interface) and waits
// up to `wait` for the clock of `domain` (0..127) to sync.
PtpClockStatus StartPtpClock(int domain, const std::string& interface_ip, std::chrono::milliseconds wait);

// The grandmaster `clock` follows now, in RFC 7273's form; "" before the first sync.
std::string PtpGrandmaster(GstClock* clock);

}  // namespace tilmash::graph
