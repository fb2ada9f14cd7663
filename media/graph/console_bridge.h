// A console in the browser (the booth page, web/booth.html): one WebRTC connection carries the
// interpreter's microphone up and the console's return feed down. The daemon bridges it to a
// console of the session exactly as an RTP console is (JoinConsole's ingest port, SSRC and
// SRTP key; its return feed to a loopback socket), so the console's ingest guard, jitter
// buffer, decoder, limiter, gain ramps, link-loss rule and state are the same code for both.
//
//   browser mic --WebRTC--> webrtcbin (adaptive WAN jitter buffer) -> appsink
//        -> ConsoleLink::Forward: our SSRC, continuous sequence and timestamps, SRTP -> the console's ingest
//   the console's return feed (SRTP) -> udpsrc (ConsoleLink's socket) -> unprotect -> webrtcbin -> browser
//
// A ConsoleLink lives as long as the console; a ConsoleBridge is one WebRTC connection to it
// (a page that reconnects gets a new bridge on the same link: the console's stream continues).
#pragma once
#include <gio/gio.h>
#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "domain/status.h"
#include "fanout/port_range.h"
#include "graph/webrtc_viewer.h"
#include "gst/gst_ptr.h"
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
  // reconnects, protected and sent to the ingest.
  void Forward(const uint8_t* rtp, std::size_t len);
  // A new connection: its first packet continues the console's stream after the time elapsed.
  void Restart();
  // In place: the return feed's packet as plain RTP with `payload_type`; its new length, or -1.
  int Unprotect(uint8_t* buf, std::size_t len, uint8_t payload_type);
  GSocket* return_socket() const { return return_socket_.get(); }

  struct Counters {
    std::atomic<uint64_t> up{0}, up_lost{0}, up_bad{0}, down{0}, down_bad{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  ConsoleLink() = default;
  std::mutex mu_;
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
  // Sizes the jitter buffer from what the network did since the last call (any thread but
  // webrtcbin's; called every few hundred ms). Returns the latency now, ms.
  int Adapt();
  int jitter_ms() const { return jitter_ms_.load(); }
  double network_jitter_ms() const { return network_jitter_ms_.load(); }

 private:
  ConsoleBridge() = default;
  static void OnPadAdded(GstElement* webrtc, GstPad* pad, gpointer self);
  static void OnNewJitterBuffer(GstElement* rtpbin, GstElement* jitterbuffer, guint session, guint ssrc,
                                gpointer self);
  static GstFlowReturn OnSample(GstElement* sink, gpointer self);
  static GstPadProbeReturn OnReturnPacket(GstPad* pad, GstPadProbeInfo* info, gpointer self);

  std::shared_ptr<ConsoleLink> link_;
  ConsoleBridgeOptions options_;
  uint8_t opus_pt_ = 111;
  gst::ElementPtr pipeline_;
  std::unique_ptr<ViewerContext> context_;
  std::vector<gst::SignalConnection> signals_;
  std::mutex jb_mu_;
  gst::ElementPtr jitterbuffer_;  // webrtcbin's, once the browser's stream has one
  std::atomic<int> jitter_ms_{0};
  std::atomic<double> network_jitter_ms_{0};
  uint64_t last_late_ = 0, last_lost_ = 0;
  int calm_ticks_ = 0;
};

}  // namespace tilmash::graph
