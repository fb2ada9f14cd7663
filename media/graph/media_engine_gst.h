// The GStreamer implementation of the domain's MediaEngine port: one media thread (which owns
// the GLib context of every session's pipeline) and one fan-out for every session of the node.
// Sessions are handles (media_session_gst.h); the engine keeps no table of them.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"
#include "graph/session_graph.h"
#include "gst/media_thread.h"
#include "webrtc/webrtc_server.h"

namespace tilmash::graph {

// The node's fan-out counters in the domain's terms (GetSessionStats, /metrics).
void AddFanoutStats(const fanout::FanoutStats& f, domain::MediaStats* stats);
class MediaEngineGst;
// The shared WebRTC port's counters (node-wide), when the engine has one.
void AddWebrtcStats(const MediaEngineGst& media, domain::MediaStats* stats);

class MediaEngineGst : public domain::MediaEngine {
 public:
  // Fails (with the reason) when a plugin is missing or the media address cannot be bound.
  static std::unique_ptr<MediaEngineGst> Create(const GraphConfig& config, std::string* error);
  ~MediaEngineGst() override;  // every media session must be gone first

  domain::Result<std::unique_ptr<domain::MediaSession>> CreateSession(const domain::SessionId& session,
                                                                      const domain::MediaTiming& timing) override;
  gst::MediaThread& thread() { return *thread_; }
  std::size_t Backlog() const override { return thread_->backlog(); }
  // Whether the media thread ran a heartbeat within `stall` (health: a stuck media thread is
  // NOT_SERVING). Never waits: posts the next heartbeat when none is pending. Call it often
  // (the daemon's tick): the first calls after start answer true.
  bool Responsive(std::chrono::milliseconds stall);
  const fanout::FanoutEngine& fanout() const { return *fanout_; }
  // The shared WebRTC port (webrtc_mode "fanout"); null with webrtcbin.
  const webrtc::WebrtcServer* webrtc() const { return webrtc_.get(); }

 private:
  MediaEngineGst(GraphConfig config, std::unique_ptr<fanout::FanoutEngine> fanout,
                 std::unique_ptr<webrtc::WebrtcServer> webrtc);
  const GraphConfig config_;
  std::unique_ptr<webrtc::WebrtcServer> webrtc_;  // its socket outlives the fan-out's viewers
  std::unique_ptr<fanout::FanoutEngine> fanout_;
  std::unique_ptr<gst::MediaThread> thread_;
  std::atomic<int64_t> heartbeat_us_;  // g_get_monotonic_time() of the last heartbeat run
  std::atomic<bool> heartbeat_pending_{false};
};

}  // namespace tilmash::graph
