#include "graph/media_engine_gst.h"

#include "graph/media_session_gst.h"
#include "graph/mirror_session.h"
#include "log/log.h"

namespace tilmash::graph {

void AddFanoutStats(const fanout::FanoutStats& f, domain::MediaStats* stats) {
  stats->listener_packets_sent = f.packets_sent;
  stats->listener_send_errors = f.send_errors;
  stats->listener_packets_dropped = f.packets_dropped;
  stats->fanout_ring_overflows = f.ring_overflows;
  stats->fanout_backlog_drops = f.backlog_drops;
  stats->listener_packets_late = f.late_dropped;
  stats->channel_packets_in = f.packets_in;
  stats->fanout_delay_p50_us = f.delay.p50_us;
  stats->fanout_delay_p99_us = f.delay.p99_us;
  stats->fanout_delay_max_us = f.delay.max_us;
  stats->fanout_delay_samples = f.delay.samples;
  stats->fanout_delay_over_range = f.delay.over_range;
  stats->fanout_delay_buckets = f.delay.buckets;
  stats->fanout_delay_sum_s = f.delay.sum_s;
}

void AddWebrtcStats(const MediaEngineGst& media, domain::MediaStats* stats) {
  const webrtc::WebrtcServer* w = media.webrtc();
  if (!w) return;
  const webrtc::WebrtcServerStats s = w->Stats();
  stats->webrtc_peers = s.peers;
  stats->webrtc_checks_answered = s.checks_answered;
  stats->webrtc_checks_refused = s.checks_refused;
  stats->webrtc_handshakes = s.handshakes;
  stats->webrtc_handshakes_failed = s.handshakes_failed;
  stats->webrtc_rtcp = s.rtcp_packets;
  stats->webrtc_rtcp_refused = s.rtcp_refused;
  stats->webrtc_dropped = s.dropped;
}

std::unique_ptr<MediaEngineGst> MediaEngineGst::Create(const GraphConfig& config, std::string* error) {
  std::vector<std::string> extra;
  if (!config.hls_dir.empty()) extra = {"voaacenc", "aacparse", "hlssink2"};
  auto missing = gst::MissingPlugins(extra);
  if (!missing.empty()) {
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    if (error)
      *error = "missing GStreamer elements: " + names +
               " (install gstreamer1.0-plugins-base, gstreamer1.0-plugins-good and gstreamer1.0-plugins-bad)";
    return nullptr;
  }
  log::RouteGStreamerDebug();
  fanout::FanoutOptions fo;
  fo.bind_host = config.media_host;
  fo.sender_threads = config.fanout_threads;
  fo.multicast_ttl = config.multicast_ttl;
  fo.rekey_after_packets = config.rekey_after_packets;
  fo.max_backlog_ms = config.fanout_max_backlog_ms;
  fo.realtime_priority = config.fanout_realtime_priority;
  fo.ports = config.ports;
  // On a sender thread, at most once a second per thread while it drops.
  fo.on_overload = [](const fanout::OverloadReport& r) {
    log::Get("fanout")->warn(
        "sender {} is behind (past its capacity): dropped {} channel packets older than {} ms (oldest {} ms) and "
        "{} its full ring refused, {} listener packets in all, since its last report; receivers conceal them",
        r.sender, r.stale_packets, r.backlog_bound_ms, r.oldest_ms, r.ring_packets, r.listener_packets);
  };
  std::unique_ptr<webrtc::WebrtcServer> webrtc;
  if (config.webrtc_mode == "fanout") {
    webrtc::WebrtcServerOptions wo;
    wo.bind_host = config.media_host;
    wo.port = uint16_t(config.webrtc_port);
    wo.ports = config.ports;
    wo.public_ip = config.webrtc_public_ip;
    webrtc = webrtc::WebrtcServer::Create(wo, error);
    if (!webrtc) return nullptr;
    log::Get("whep")->info("WebRTC viewers on udp {}:{} (ICE-lite, DTLS-SRTP), candidate {}", config.media_host,
                           webrtc->port(), webrtc->candidate_ip());
  } else if (config.webrtc_mode != "webrtcbin") {
    if (error) *error = "webrtc_mode must be fanout or webrtcbin, not '" + config.webrtc_mode + "'";
    return nullptr;
  }
  auto fanout = fanout::FanoutEngine::Create(fo, error);
  if (!fanout) return nullptr;
  return std::unique_ptr<MediaEngineGst>(new MediaEngineGst(config, std::move(fanout), std::move(webrtc)));
}

MediaEngineGst::MediaEngineGst(GraphConfig config, std::unique_ptr<fanout::FanoutEngine> fanout,
                               std::unique_ptr<webrtc::WebrtcServer> webrtc)
    : config_(std::move(config)),
      webrtc_(std::move(webrtc)),
      fanout_(std::move(fanout)),
      thread_(std::make_unique<gst::MediaThread>()),
      heartbeat_us_(g_get_monotonic_time()) {}

bool MediaEngineGst::Responsive(std::chrono::milliseconds stall) {
  if (!heartbeat_pending_.exchange(true, std::memory_order_acq_rel)) {
    thread_->Post([this] {
      heartbeat_us_.store(g_get_monotonic_time(), std::memory_order_relaxed);
      heartbeat_pending_.store(false, std::memory_order_release);
    });
  }
  return g_get_monotonic_time() - heartbeat_us_.load(std::memory_order_relaxed) < stall.count() * 1000;
}

MediaEngineGst::~MediaEngineGst() {
  thread_.reset();  // runs what is still posted (the last graphs' teardown), then joins
}

domain::Result<std::unique_ptr<domain::MediaSession>> MediaEngineGst::CreateSession(const domain::SessionId& session,
                                                                                    const domain::MediaTiming& timing) {
  if (config_.mirrors)
    if (std::string origin = config_.mirrors->OriginOf(session); !origin.empty())
      return std::unique_ptr<domain::MediaSession>(std::make_unique<MirrorMediaSession>(
          session, origin, config_.mirrors, fanout_.get(), int(timing.frame_us), webrtc_.get()));
  if (domain::Status busy = CheckMediaBacklog(*thread_, "session " + session); !busy.ok()) return busy;
  auto core = std::make_shared<SessionCore>();
  core->session = session;
  core->config = config_;
  core->config.frame_us = int(timing.frame_us);
  core->config.jitter_ms = int(timing.jitter_ms);
  core->fanout = fanout_.get();
  core->webrtc = webrtc_.get();
  core->thread = thread_.get();
  // The pipeline is built on the media thread; whatever the domain asks meanwhile queues behind it.
  thread_->Post([core] {
    auto g = SessionGraph::Create(core->session, core->config, core->fanout, core->thread);
    if (!g.ok()) {
      log::Get("mix")->error("session {}: its pipeline could not be built: {}", core->session, g.status().message());
      return;
    }
    core->graph = std::move(g).value();
  });
  return std::unique_ptr<domain::MediaSession>(std::make_unique<MediaSessionGst>(core));
}

}  // namespace tilmash::graph
