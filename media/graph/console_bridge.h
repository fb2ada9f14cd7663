// A console in the browser (the booth page, web/booth.html): one WebRTC connection carries the
// interpreter's microphone up and the console's return feed down. The daemon bridges it to a
// console of the session exactly as an RTP console is (JoinConsole's ingest port, SSRC and
// SRTP key; its return feed to a loopback socket), so the console's ingest guard, jitter
// buffer, decoder, limiter, gain ramps, link-loss rule and state are the same code for both.
//
//   browser mic --WebRTC--> webrtcbin (ICE, DTLS-SRTP, RTCP) -> a probe before its jitter buffer
//        -> ConsoleLink::Forward: our SSRC, continuous sequence and timestamps -> playout queue
//        -> its thread sends each packet at its RTP time + the playout delay, SRTP -> the console's ingest
//   the console's return feed (SRTP) -> udpsrc (ConsoleLink's socket) -> unprotect -> webrtcbin -> browser
//
// A ConsoleLink lives as long as the console; a ConsoleBridge is one WebRTC connection to it
// (a page that reconnects gets a new bridge on the same link: the console's stream continues).
//
// Why a playout queue of our own: a jitter buffer (rtpjitterbuffer, webrtcbin's and the
// ingest's) passes an in-order packet on as soon as it arrives and only waits for a missing
// one, so a WAN's jitter would reach the mixer as it is (a console 30 ms late is a hole in the
// mix, and 60 ms without packets trips the link-loss rule). Here packets leave on their own
// clock: their RTP time after the earliest arrival seen lately (the network's fastest path),
// plus the playout delay the network's jitter asks for (Adapt), in sequence order, so the
// ingest sees a LAN console. A packet whose turn has passed is dropped: the ingest's decoder
// conceals the gap.
#pragma once
#include <gio/gio.h>
#include <gst/gst.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "domain/status.h"
#include "fanout/port_range.h"
#include "graph/webrtc_viewer.h"
#include "gst/gst_ptr.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "rtp/srtp_receiver.h"

namespace tilmash::graph {

struct SrtpKey {
  rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> master_key;
};

// The console's two RTP legs inside the daemon. Thread-safe.
class ConsoleLink {
 public:
  // Binds the return feed's socket on 127.0.0.1 (a port of `ports`); its port goes into
  // JoinConsoleRequest.return_endpoint. nullptr with *error.
  static std::unique_ptr<ConsoleLink> Create(fanout::PortAllocator& ports, std::string* error);
  ~ConsoleLink();
  uint16_t return_port() const { return return_port_; }
  // What JoinConsole answered: where the ingest is and how to key it; how the return feed is keyed.
  bool Attach(const std::string& ingest_host, uint16_t ingest_port, uint32_t ssrc, uint8_t payload_type,
              const SrtpKey& ingest, uint32_t return_ssrc, const SrtpKey& back, std::string* error);

  // One RTP packet from the browser (plain, after webrtcbin's jitter buffer): rewritten to the
  // console's SSRC and payload type with a sequence and timestamps that continue across
  // reconnects, queued, then protected and sent to the ingest when its time comes.
  void Forward(const uint8_t* rtp, std::size_t len);
  // Sizes the playout delay from the last two seconds of arrivals: the 99th percentile of how
  // much later than the fastest each packet came, plus `margin_ms`, within [min_ms, max_ms].
  // Up at once in a stream's first three seconds, then by at most 5 ms a call (each step is a
  // hole of its size); down by 1 ms per call once it has been 20 ms more than needed for 20
  // calls (five seconds at the gateway's pace). Returns it (ms).
  int Adapt(int min_ms, int max_ms, int margin_ms = 10);
  void SetPlayoutDelay(int ms);
  int playout_delay_ms() const { return int(playout_delay_us_.load() / 1000); }
  // The spread the last Adapt saw (99th percentile over the fastest, ms).
  double spread_ms() const { return spread_us_.load() / 1000.0; }
  // A new connection: its first packet continues the console's stream after the time elapsed.
  void Restart();
  // In place: the return feed's packet as plain RTP with `payload_type`; its new length, or -1.
  int Unprotect(uint8_t* buf, std::size_t len, uint8_t payload_type);
  GSocket* return_socket() const { return return_socket_.get(); }
  // When the browser's last packet was forwarded (g_get_monotonic_time, us); 0: none yet.
  int64_t last_up_us() const { return last_up_us_.load(std::memory_order_relaxed); }

  struct Counters {
    std::atomic<uint64_t> up{0}, up_lost{0}, up_late{0}, up_bad{0}, down{0}, down_bad{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  ConsoleLink() = default;
  struct Queued {
    int64_t due_us;
    std::size_t len;
    std::array<uint8_t, rtp::kMaxPacket> data;
  };
  void Run();  // the playout thread
  void Send(Queued& q);
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  std::map<uint64_t, std::unique_ptr<Queued>> queue_;  // by extended sequence number
  uint64_t released_seq_ = 0;                          // extended; 0: none yet
  bool released_ = false;
  // The earliest arrival over the last two seconds, as arrival minus RTP time (us), for the
  // schedule's anchor: a running minimum per half second, the last four kept.
  std::array<int64_t, 4> min_transit_{};
  int64_t min_transit_since_us_ = 0;
  int min_slot_ = 0;
  uint64_t ext_seq_ = 0;  // extended sequence of the latest packet mapped
  uint64_t ext_ts_ = 0;   // extended RTP timestamp of the latest packet mapped
  std::atomic<int64_t> playout_delay_us_{20000};
  std::atomic<int64_t> spread_us_{0};
  std::deque<std::pair<int64_t, int64_t>> transits_;  // (arrival, transit) of the last 2 s
  int calm_ = 0;
  int64_t stream_start_us_ = 0;  // the browser stream's first packet
  gst::GObjectPtr<GSocket> return_socket_;
  uint16_t return_port_ = 0;
  int up_fd_ = -1;
  rtp::SrtpContextPtr up_srtp_;
  std::unique_ptr<rtp::SrtpReceiver> down_srtp_;
  uint32_t ssrc_ = 0;
  uint8_t payload_type_ = 96;
  // The browser's stream -> ours.
  bool mapped_ = false;
  uint32_t in_ssrc_ = 0;
  uint16_t in_last_seq_ = 0;
  uint16_t seq_offset_ = 0;
  uint32_t ts_offset_ = 0;
  bool sent_ = false;
  uint16_t out_seq_ = 0;
  uint32_t out_ts_ = 0;
  int64_t out_at_us_ = 0;
  Counters counters_;
  std::atomic<int64_t> last_up_us_{0};
};

struct ConsoleBridgeOptions {
  std::string id;  // the console's (logs)
  int jitter_min_ms = 20, jitter_max_ms = 200, jitter_start_ms = 60;
};

// One WebRTC connection of a browser console: its own pipeline (webrtcbin's negotiation and
// threads never touch a session's).
class ConsoleBridge {
 public:
  // Answers `offer` (its Opus payload type given); the handshake completes with the answer.
  static domain::Result<std::unique_ptr<ConsoleBridge>> Start(std::shared_ptr<ConsoleLink> link,
                                                              const ConsoleBridgeOptions& options,
                                                              const std::string& offer, int opus_payload_type,
                                                              const fanout::PortRange& ice_ports,
                                                              std::shared_ptr<WebrtcHandshake> handshake);
  ~ConsoleBridge();
  // The peer connection failed or closed.
  bool over() const { return context_->handshake->over(); }
  int64_t started_us() const { return started_us_; }
  // Sizes the playout delay from what the network did lately (any thread; called every few
  // hundred ms). Returns it, ms.
  int Adapt();

 private:
  ConsoleBridge() = default;
  static void OnNewJitterBuffer(GstElement* rtpbin, GstElement* jitterbuffer, guint session, guint ssrc, gpointer self);
  // On the jitter buffer's sink pad: every packet of the browser goes to the link, none further.
  static GstPadProbeReturn OnBrowserPacket(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  static GstPadProbeReturn OnReturnPacket(GstPad* pad, GstPadProbeInfo* info, gpointer self);

  std::shared_ptr<ConsoleLink> link_;
  ConsoleBridgeOptions options_;
  uint8_t opus_pt_ = 111;
  gst::ElementPtr pipeline_;
  std::unique_ptr<ViewerContext> context_;
  std::vector<gst::SignalConnection> signals_;
  int last_delay_ms_ = 0;
  int64_t started_us_ = 0;
};

}  // namespace tilmash::graph
