#include "metrics/session_metrics.h"

#include <string>

namespace tilmash::metrics {

namespace {

using domain::ChannelView;
using domain::ConsoleView;
using domain::IngestCounters;

// Runs fn(session, channel) over every channel of every session (one family at a time).
template <class Fn>
void EachChannel(const std::vector<SessionSample>& sessions, Fn fn) {
  for (const auto& s : sessions)
    for (const auto& c : s.view.channels) fn(s, c);
}
template <class Fn>
void EachIngest(const std::vector<SessionSample>& sessions, Fn fn) {
  for (const auto& s : sessions)
    for (const auto& i : s.stats.ingest) fn(s.view.id, i);
}

}  // namespace

std::vector<SessionSample> CollectSessions(const domain::SessionRegistry& registry) {
  std::vector<SessionSample> sessions;
  for (auto& view : registry.List()) {
    auto session = registry.Find(view.id);
    if (!session.ok()) continue;  // ended meanwhile
    sessions.push_back(SessionSample{std::move(view), session.value()->Stats()});
  }
  return sessions;
}

bool AutoFloor(const domain::SessionView& v, const ChannelView& c) {
  if (!c.live_console) return true;
  for (const auto& con : v.consoles)
    if (con.id == *c.live_console) return con.link_lost;
  return false;
}

void WriteSessionMetrics(MetricsText& out, const std::vector<SessionSample>& sessions) {
  out.Family("tilmash_sessions", "gauge", "Sessions on this node.");
  out.Sample("tilmash_sessions", {}, double(sessions.size()));

  out.Family("tilmash_channel_listeners", "gauge",
             "Listeners of a channel by transport: srtp (unicast SRTP), multicast (venue group members), webrtc "
             "(browser viewers).");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    const std::pair<const char*, uint32_t> by[] = {
        {"srtp", c.unicast_listeners}, {"multicast", c.multicast_listeners}, {"webrtc", c.webrtc_viewers}};
    for (const auto& [transport, n] : by)
      out.Sample("tilmash_channel_listeners", {{"session", s.view.id}, {"channel", c.name}, {"transport", transport}},
                 double(n));
  });

  out.Family("tilmash_edge_listeners", "gauge",
             "Listeners an edge node serves a channel to (edge: the subject of its token), as it last reported; the "
             "edge itself is one srtp listener of the channel here.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    for (const auto& [edge, n] : c.relayed)
      out.Sample("tilmash_edge_listeners", {{"session", s.view.id}, {"channel", c.name}, {"edge", edge}}, double(n));
  });

  out.Family("tilmash_channel_auto_floor", "gauge",
             "1 when a language channel carries the floor (no live console, or its link is lost), 0 when an "
             "interpreter is on air.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    if (c.name == domain::kFloorChannel) return;
    out.Sample("tilmash_channel_auto_floor", {{"session", s.view.id}, {"channel", c.name}},
               AutoFloor(s.view, c) ? 1 : 0);
  });
  out.Family("tilmash_channel_live_console", "gauge", "1 for the console whose mic is live on the channel.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    if (c.live_console)
      out.Sample("tilmash_channel_live_console",
                 {{"session", s.view.id}, {"channel", c.name}, {"console", *c.live_console}}, 1);
  });
  out.Family("tilmash_channel_relay_generation", "gauge",
             "0: the channel is interpreted from the floor, 1: from a relay, 2: from a relay of a relay.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    out.Sample("tilmash_channel_relay_generation", {{"session", s.view.id}, {"channel", c.name}},
               double(c.relay_generation));
  });

  out.Family("tilmash_recording_active", "gauge",
             "1 while a recorder writes the channel to Ogg Opus files (RecordingService), else 0.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    out.Sample("tilmash_recording_active", {{"session", s.view.id}, {"channel", c.name}}, c.recording ? 1 : 0);
  });
  out.Family("tilmash_recording_written_bytes_total", "counter",
             "Bytes the channel's running recorder wrote (starts at 0 with each recording).");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    if (c.recording)
      out.Sample("tilmash_recording_written_bytes_total", {{"session", s.view.id}, {"channel", c.name}},
                 double(c.record_bytes));
  });
  out.Family("tilmash_recording_dropped_packets_total", "counter",
             "Packets the channel's running recorder dropped because its disk writes fell 5 s behind.");
  EachChannel(sessions, [&](const SessionSample& s, const ChannelView& c) {
    if (c.recording)
      out.Sample("tilmash_recording_dropped_packets_total", {{"session", s.view.id}, {"channel", c.name}},
                 double(c.record_dropped));
  });
  out.Family("tilmash_channel_level_dbfs", "gauge",
             "RMS level of the channel's mix over the last 100 ms, dBFS (channel floor: the floor); -Inf: silence.");
  for (const auto& s : sessions)
    for (const auto& l : s.stats.levels)
      out.Sample("tilmash_channel_level_dbfs", {{"session", s.view.id}, {"channel", l.channel}}, l.rms_dbfs);
  out.Family("tilmash_channel_peak_dbfs", "gauge", "Peak sample of the channel's mix over the last 100 ms, dBFS.");
  for (const auto& s : sessions)
    for (const auto& l : s.stats.levels)
      out.Sample("tilmash_channel_peak_dbfs", {{"session", s.view.id}, {"channel", l.channel}}, l.peak_dbfs);

  out.Family("tilmash_ingest_packets_total", "counter",
             "RTP packets accepted from a source (floor, floor-backup or a console id).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_ingest_packets_total", {{"session", session}, {"source", i.source}}, double(i.accepted));
  });
  out.Family("tilmash_ingest_rejected_packets_total", "counter", "Packets from a source refused, by reason.");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    const std::pair<const char*, uint64_t> by[] = {{"malformed", i.malformed},
                                                   {"oversized", i.oversized},
                                                   {"unknown_ssrc", i.unknown_ssrc},
                                                   {"wrong_payload_type", i.wrong_payload_type},
                                                   {"srtp_auth", i.srtp_auth}};
    for (const auto& [reason, n] : by)
      out.Sample("tilmash_ingest_rejected_packets_total",
                 {{"session", session}, {"source", i.source}, {"reason", reason}}, double(n));
  });
  // The speaker-input monitor: what each source sounds like once decoded.
  const std::pair<const char*, const char*> input_db[] = {
      {"tilmash_input_level_dbfs", "RMS level of a source (floor or console) after decoding, last 100 ms, dBFS."},
      {"tilmash_input_peak_dbfs", "Peak sample of a source after decoding, last 100 ms, dBFS."},
      {"tilmash_input_noise_floor_dbfs", "Noise floor of a source: its quietest 100 ms of the last 5 s, dBFS."},
      {"tilmash_input_above_7khz_db",
       "Energy of a source above 7 kHz relative to all of it, last 100 ms, dB (telephone band: under -45)."}};
  for (const auto& [name, help] : input_db) {
    out.Family(name, "gauge", help);
    EachIngest(sessions, [&, name = name](const std::string& session, const IngestCounters& i) {
      const std::string n(name);
      const double v = n == "tilmash_input_level_dbfs"         ? i.rms_dbfs
                       : n == "tilmash_input_peak_dbfs"        ? i.peak_dbfs
                       : n == "tilmash_input_noise_floor_dbfs" ? i.noise_floor_dbfs
                                                               : i.above_7khz_db;
      out.Sample(name, {{"session", session}, {"source", i.source}}, v);
    });
  }
  out.Family("tilmash_input_clipping", "gauge", "1 while a source's decoded audio reaches full scale (last 100 ms).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_input_clipping", {{"session", session}, {"source", i.source}}, i.clipping ? 1 : 0);
  });
  out.Family("tilmash_input_narrowband", "gauge",
             "1 while a source's speech has nothing above 7 kHz (a telephone-band speaker; ISO 24019).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_input_narrowband", {{"session", session}, {"source", i.source}}, i.narrowband ? 1 : 0);
  });
  // RFC 3550's cumulative loss goes down when a late packet fills its gap: a gauge, not a counter.
  out.Family("tilmash_ingest_lost_packets", "gauge",
             "Packets of a source never received (RFC 3550 cumulative loss: expected minus received).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_ingest_lost_packets", {{"session", session}, {"source", i.source}}, double(i.lost));
  });
  out.Family("tilmash_ingest_late_packets_total", "counter",
             "Packets of a source that arrived after a later one (reordered or duplicated).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_ingest_late_packets_total", {{"session", session}, {"source", i.source}}, double(i.late));
  });
  out.Family("tilmash_ingest_jitter_seconds", "gauge", "Interarrival jitter of a source (RFC 3550 A.8).");
  EachIngest(sessions, [&](const std::string& session, const IngestCounters& i) {
    out.Sample("tilmash_ingest_jitter_seconds", {{"session", session}, {"source", i.source}}, i.jitter_s);
  });

  out.Family("tilmash_console_link_lost", "gauge",
             "1 while a console's packets have stopped (its channel is on the floor), else 0.");
  for (const auto& s : sessions)
    for (const ConsoleView& c : s.view.consoles)
      out.Sample("tilmash_console_link_lost", {{"session", s.view.id}, {"console", c.id}, {"booth", c.booth}},
                 c.link_lost ? 1 : 0);
  out.Family("tilmash_console_mic_live", "gauge", "1 while a console's mic is live (on, not coughing).");
  for (const auto& s : sessions)
    for (const ConsoleView& c : s.view.consoles)
      out.Sample("tilmash_console_mic_live", {{"session", s.view.id}, {"console", c.id}, {"booth", c.booth}},
                 c.mic == domain::MicState::kLive ? 1 : 0);

  out.Family("tilmash_floor_backup_active", "gauge", "1 while the floor's backup source is on air.");
  for (const auto& s : sessions)
    out.Sample("tilmash_floor_backup_active", {{"session", s.view.id}},
               s.view.floor_active == domain::FloorActive::kBackup ? 1 : 0);
  out.Family("tilmash_floor_primary_lost", "gauge", "1 while the floor primary's packets have stopped.");
  for (const auto& s : sessions)
    out.Sample("tilmash_floor_primary_lost", {{"session", s.view.id}}, s.view.floor_primary_lost ? 1 : 0);
}

void WriteFanoutMetrics(MetricsText& out, const domain::MediaStats& n) {
  out.Family("tilmash_webrtc_viewers", "gauge", "WebRTC viewers the shared WebRTC port knows (all sessions).");
  out.Sample("tilmash_webrtc_viewers", {}, double(n.webrtc_peers));
  out.Family("tilmash_webrtc_ice_checks_total", "counter",
             "ICE connectivity checks (STUN) on the shared WebRTC port: answered, or refused (unknown ufrag, bad "
             "integrity, malformed).");
  out.Sample("tilmash_webrtc_ice_checks_total", {{"result", "answered"}}, double(n.webrtc_checks_answered));
  out.Sample("tilmash_webrtc_ice_checks_total", {{"result", "refused"}}, double(n.webrtc_checks_refused));
  out.Family("tilmash_webrtc_dtls_handshakes_total", "counter",
             "DTLS-SRTP handshakes of viewers: done, or failed (a certificate not matching the offer's "
             "fingerprint, no common SRTP profile, a timeout).");
  out.Sample("tilmash_webrtc_dtls_handshakes_total", {{"result", "done"}}, double(n.webrtc_handshakes));
  out.Sample("tilmash_webrtc_dtls_handshakes_total", {{"result", "failed"}}, double(n.webrtc_handshakes_failed));
  out.Family("tilmash_webrtc_rtcp_packets_total", "counter",
             "SRTCP packets from viewers (receiver reports): accepted, or refused (authentication).");
  out.Sample("tilmash_webrtc_rtcp_packets_total", {{"result", "accepted"}}, double(n.webrtc_rtcp));
  out.Sample("tilmash_webrtc_rtcp_packets_total", {{"result", "refused"}}, double(n.webrtc_rtcp_refused));
  out.Family("tilmash_webrtc_dropped_datagrams_total", "counter",
             "Datagrams on the shared WebRTC port from no known viewer, or neither STUN, DTLS nor RTCP.");
  out.Sample("tilmash_webrtc_dropped_datagrams_total", {}, double(n.webrtc_dropped));
  out.Family("tilmash_fanout_channel_packets_total", "counter",
             "Encoded channel packets into the fan-out (all sessions). A channel is encoded only while something "
             "takes it: listeners, viewers, edges, a recorder.");
  out.Sample("tilmash_fanout_channel_packets_total", {}, double(n.channel_packets_in));
  out.Family("tilmash_fanout_packets_total", "counter", "Listener packets handed to the kernel (all sessions).");
  out.Sample("tilmash_fanout_packets_total", {}, double(n.listener_packets_sent));
  out.Family("tilmash_fanout_send_errors_total", "counter", "Listener packets the kernel refused (not a full buffer).");
  out.Sample("tilmash_fanout_send_errors_total", {}, double(n.listener_send_errors));
  out.Family("tilmash_fanout_dropped_packets_total", "counter",
             "Listener packets dropped: socket_full (a listener's socket buffer), late (a sender that fell behind "
             "skipped them or its ring refused them).");
  out.Sample("tilmash_fanout_dropped_packets_total", {{"reason", "socket_full"}}, double(n.listener_packets_dropped));
  out.Sample("tilmash_fanout_dropped_packets_total", {{"reason", "late"}}, double(n.listener_packets_late));
  out.Family("tilmash_fanout_ring_overflows_total", "counter",
             "Channel packets a full sender ring refused (a fan-out sender fell behind).");
  out.Sample("tilmash_fanout_ring_overflows_total", {}, double(n.fanout_ring_overflows));
  out.Family("tilmash_fanout_backlog_drops_total", "counter",
             "Channel packets a sender skipped as older than fanout_max_backlog_ms.");
  out.Sample("tilmash_fanout_backlog_drops_total", {}, double(n.fanout_backlog_drops));
  out.Family("tilmash_fanout_delay_seconds", "histogram",
             "Fan-out delay: a channel packet in to its last listener's packet handed to the kernel.");
  out.Histogram("tilmash_fanout_delay_seconds", {}, n.fanout_delay_buckets, n.fanout_delay_samples,
                n.fanout_delay_sum_s);
}

}  // namespace tilmash::metrics
