#include "graph/media_session_gst.h"

#include <arpa/inet.h>

#include <algorithm>
#include <filesystem>

#include "graph/aes67_input.h"
#include "graph/fanout_listener_stream.h"
#include "graph/graph_parts.h"
#include "graph/lite_viewer.h"
#include "graph/media_engine_gst.h"
#include "graph/sound_card_input.h"
#include "log/log.h"
#include "sdp/whep_sdp.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;

namespace {

constexpr uint8_t kIngestPayloadType = 96;

rtp::SrtpSuite ToRtp(domain::CryptoSuite s) {
  return s == domain::CryptoSuite::kAeadAes128Gcm ? rtp::SrtpSuite::kAeadAes128Gcm
                                                  : rtp::SrtpSuite::kAesCm128HmacSha1_80;
}

domain::IngestCounters CountersOf(const IngestGuard& g) {
  const auto& a = g.counters();
  domain::IngestCounters c{g.source(),
                           a.accepted.load(std::memory_order_relaxed),
                           a.malformed.load(std::memory_order_relaxed),
                           a.oversized.load(std::memory_order_relaxed),
                           a.unknown_ssrc.load(std::memory_order_relaxed),
                           a.wrong_payload_type.load(std::memory_order_relaxed),
                           a.srtp_auth.load(std::memory_order_relaxed),
                           g.roc()};
  c.lost = a.lost.load(std::memory_order_relaxed);
  c.late = a.late.load(std::memory_order_relaxed);
  c.jitter_s = a.jitter_s.load(std::memory_order_relaxed);
  const InputReading r = g.monitor().reading();
  auto db = [](double v) { return v <= -200 ? domain::kSilenceDb : v; };
  c.rms_dbfs = db(r.rms_dbfs);
  c.peak_dbfs = db(r.peak_dbfs);
  c.noise_floor_dbfs = db(r.noise_floor_dbfs);
  c.above_7khz_db = db(r.above_7khz_db);
  c.clipping = r.clipping;
  c.narrowband = r.narrowband;
  return c;
}

// ------------------------------------------------------------------ handles

class ConsoleInputGst : public domain::ConsoleInput {
 public:
  ConsoleInputGst(std::shared_ptr<SessionCore> core, std::string id, domain::IngestInfo ingest,
                  std::shared_ptr<IngestGuard> guard, ConsoleGains gains)
      : core_(std::move(core)),
        id_(std::move(id)),
        ingest_(std::move(ingest)),
        guard_(std::move(guard)),
        gains_(std::move(gains)) {}
  ~ConsoleInputGst() override {
    SessionCore::Post(core_, "remove a console", [id = id_](SessionGraph& g) {
      g.RemoveConsole(id);
      return Status::Ok();
    });
  }
  const domain::IngestInfo& ingest() const override { return ingest_; }
  void SetOutputs(const std::vector<domain::ChannelName>& outputs) override {
    ConsoleGains next;
    for (const auto& ch : outputs) {
      auto it = gains_.find(ch);
      next[ch] = it != gains_.end() ? it->second : std::make_shared<GainRamp>(nullptr, 0.0);  // silent until mixed
    }
    gains_ = std::move(next);
    SessionCore::Post(core_, "change a console's outputs",
                      [id = id_, gains = gains_](SessionGraph& g) { return g.SetConsoleOutputs(id, gains); });
  }
  domain::IngestCounters Counters() const override { return CountersOf(*guard_); }
  GainRamp* Gain(const domain::ChannelName& channel) const {
    auto it = gains_.find(channel);
    return it == gains_.end() ? nullptr : it->second.get();
  }

 private:
  const std::shared_ptr<SessionCore> core_;
  const std::string id_;
  const domain::IngestInfo ingest_;
  const std::shared_ptr<IngestGuard> guard_;
  ConsoleGains gains_;  // the domain's thread only
};

class ListenerStreamGst : public FanoutListenerStream {
 public:
  ListenerStreamGst(std::shared_ptr<SessionCore> core, std::unique_ptr<fanout::ListenerHandle> fanout,
                    domain::SendInfo send)
      : FanoutListenerStream(std::move(fanout), std::move(send)), core_(std::move(core)) {}
  ~ListenerStreamGst() override {
    const fanout::ListenerKey key = fanout_->key();
    fanout_.reset();                         // the sender stops at once
    if (route_.Mixed()) Move(Route{}, key);  // and its mix, if it was the last listener of it
  }
  void Switch(const domain::ChannelName& channel) override {
    Route next = route_;
    next.channel = channel;  // the balance stays
    Move(next, fanout_->key());
  }
  void SetBalance(uint32_t percent) override {
    Route next = route_;
    next.percent = std::min<uint32_t>(percent, 100);
    Move(next, fanout_->key());
  }

 private:
  // Routes change on the media thread (a balance may need a mix built first), in call order.
  void Move(const Route& next, fanout::ListenerKey key) {
    SessionCore::Post(core_, "route a listener", [key, from = route_, next](SessionGraph& g) {
      g.RouteListener(key, from, next);
      return Status::Ok();
    });
    route_ = next;
  }

  const std::shared_ptr<SessionCore> core_;
  Route route_;  // what it hears (the domain's thread only)
};

class ChannelRecordingGst : public domain::ChannelRecording {
 public:
  ChannelRecordingGst(std::string label, std::shared_ptr<RecordTap> tap,
                      std::shared_ptr<record::ChannelRecorder> recorder)
      : label_(std::move(label)), tap_(std::move(tap)), recorder_(std::move(recorder)) {}
  ~ChannelRecordingGst() override {
    tap_->Attach(nullptr);  // no packet reaches it from here on
    const std::string file = recorder_->file();
    const bool failed = recorder_->failed();
    recorder_.reset();  // writes what is queued, ends the file
    if (!failed) log::Get("record")->info("{}: recording stopped, last file {}", label_, file);
  }
  domain::RecordingStatus Status() const override {
    domain::RecordingStatus s;
    s.failed = recorder_->failed();
    if (s.failed) {
      s.error = recorder_->error();
      if (!logged_failure_.exchange(true)) log::Get("record")->error("{}: recording failed: {}", label_, s.error);
    }
    s.file = recorder_->file();
    s.bytes = recorder_->bytes();
    s.dropped = recorder_->dropped();
    s.segments = recorder_->segments();
    return s;
  }

 private:
  const std::string label_;
  const std::shared_ptr<RecordTap> tap_;
  std::shared_ptr<record::ChannelRecorder> recorder_;
  mutable std::atomic<bool> logged_failure_{false};
};

class ViewerStreamGst : public domain::ViewerStream {
 public:
  ViewerStreamGst(std::shared_ptr<SessionCore> core, std::string id, std::shared_ptr<WebrtcHandshake> handshake)
      : core_(std::move(core)), id_(std::move(id)), handshake_(std::move(handshake)) {}
  ~ViewerStreamGst() override {
    handshake_->Cancel();
    SessionCore::Post(core_, "end a viewer", [id = id_](SessionGraph& g) {
      g.RemoveWebrtcViewer(id);
      return Status::Ok();
    });
  }
  bool over() const override { return handshake_->over(); }

 private:
  const std::shared_ptr<SessionCore> core_;
  const std::string id_;
  const std::shared_ptr<WebrtcHandshake> handshake_;
};

}  // namespace

// ------------------------------------------------------------------ SessionCore

void SessionCore::Post(const std::shared_ptr<SessionCore>& core, const char* what,
                       std::function<Status(SessionGraph&)> fn) {
  core->thread->Post([core, what, fn = std::move(fn)] {
    if (!core->graph) return;  // never built, or already ended
    if (Status s = fn(*core->graph); !s.ok())
      log::Get("mix")->error("session {}: cannot {}: {}", core->session, what, s.message());
  });
}

std::string RecordingDir(const std::string& root, const std::string& session, const std::string& channel) {
  return root + "/" + session + "/" + channel;
}

Status CheckMediaBacklog(const gst::MediaThread& thread, const std::string& what) {
  const std::size_t waiting = thread.backlog();
  if (waiting <= kMaxMediaBacklog) return Status::Ok();
  return domain::ResourceExhausted(what + ": the media thread has " + std::to_string(waiting) +
                                   " graph changes waiting; try again shortly");
}

// ------------------------------------------------------------------ MediaSessionGst

MediaSessionGst::MediaSessionGst(std::shared_ptr<SessionCore> core) : core_(std::move(core)) {}

MediaSessionGst::~MediaSessionGst() {
  core_->thread->Post([core = core_] { core->graph.reset(); });
}

Status MediaSessionGst::AddChannel(const domain::ChannelName& channel) {
  if (Status busy = CheckMediaBacklog(*core_->thread, "channel " + channel); !busy.ok()) return busy;
  std::shared_ptr<GainRamp> floor_gain;
  gst::ElementPtr limiter;
  if (channel != domain::kFloorChannel) {
    std::string missing;
    limiter = parts::MakeLimiter(&missing);
    if (!limiter) return parts::Missing(missing);
    limiters_[channel] = limiter;
    floor_gain = floor_gains_[channel] = std::make_shared<GainRamp>(nullptr, 1.0);
  }
  auto level = levels_[channel] = std::make_shared<LevelMeter>();
  auto tap = record_taps_[channel] = std::make_shared<RecordTap>();
  SessionCore::Post(core_, "add a channel", [channel, floor_gain, level, tap, limiter](SessionGraph& g) {
    return g.AddChannel(channel, floor_gain, level, tap, limiter);
  });
  return Status::Ok();
}

void MediaSessionGst::RemoveChannel(const domain::ChannelName& channel) {
  floor_gains_.erase(channel);
  limiters_.erase(channel);
  levels_.erase(channel);
  record_taps_.erase(channel);
  SessionCore::Post(core_, "remove a channel", [channel](SessionGraph& g) {
    g.RemoveChannel(channel);
    return Status::Ok();
  });
}

Result<IngestPlan> MediaSessionGst::PrepareIngest(const std::string& source,
                                                  const std::optional<domain::SrtpKeying>& key, uint32_t ssrc,
                                                  uint16_t want_port, domain::IngestInfo* info) {
  const std::string& host = core_->config.media_host;
  gst::ErrorPtr err;
  auto socket = gst::GObjectPtr<GSocket>::Adopt(
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, err.out()));
  if (!socket) return domain::Internal("ingest socket: " + err.message());
  // A port of --media-ports (the one asked for when it is in the range: a restored ingest keeps
  // its port). No SO_REUSEADDR: two sockets on one port would split the sender's packets.
  in_addr ip{};
  if (inet_pton(AF_INET, host.c_str(), &ip) != 1) return domain::Internal("media address " + host + " is not IPv4");
  std::string bind_error;
  const uint16_t port = core_->config.ports->Bind(g_socket_get_fd(socket.get()), ip, want_port, &bind_error);
  if (port == 0) {
    const std::string text = "ingest bind " + host + ": " + bind_error;
    return bind_error.rfind("no free port", 0) == 0 ? domain::ResourceExhausted(text) : domain::Unavailable(text);
  }
  rtp::SrtpContextPtr srtp;
  if (key) {
    std::string error;
    srtp = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, ToRtp(key->suite), key->master_key, ssrc,
                                    key->roc, &error);
    if (!srtp) return domain::Internal("ingest SRTP: " + error);
  }
  const uint32_t roc = key ? key->roc : 0;
  info->endpoint = {host, port};
  info->payload_type = kIngestPayloadType;
  info->ssrc = ssrc;
  info->srtp = key;
  return IngestPlan{std::move(socket),
                    std::make_shared<IngestGuard>(source, kIngestPayloadType, ssrc, std::move(srtp), roc)};
}

Result<domain::FloorIngests> MediaSessionGst::SetFloorSource(const domain::FloorSpec& primary,
                                                             const domain::FloorSpec& backup,
                                                             domain::FloorLinkCallback on_primary) {
  if (Status busy = CheckMediaBacklog(*core_->thread, "floor source"); !busy.ok()) return busy;
  domain::FloorIngests ingests;
  auto input = [&](const domain::FloorSpec& spec, const char* label,
                   std::optional<domain::IngestInfo>* info) -> Result<FloorInput> {
    FloorInput in{spec.source, std::nullopt, std::nullopt, {}};
    if (auto* card = std::get_if<domain::SoundCardSource>(&spec.source)) {
      const std::string field = std::string(label == std::string("floor") ? "source" : "backup") + ".sound_card";
      if (Status s = CheckSoundCard(*card, field); !s.ok()) return s;
      return in;
    }
    if (auto* aes67 = std::get_if<domain::Aes67Source>(&spec.source)) {
      const std::string field = std::string(label == std::string("floor") ? "source" : "backup") + ".aes67";
      domain::Aes67Source resolved = *aes67;
      if (!aes67->sap_name.empty()) {  // the SDP the venue announced under that name
        auto found = core_->config.sap ? core_->config.sap->Find(aes67->sap_name) : std::nullopt;
        // Not announced (yet): a restored source starts from the SDP it was found with before.
        if (!found && !aes67->sdp.empty()) found = aes67->sdp;
        if (!found) {
          std::string known;
          if (core_->config.sap)
            for (const auto& n : core_->config.sap->Names()) known += (known.empty() ? "" : ", ") + ("'" + n + "'");
          return domain::NotFound(
              field + ".sap_name: no AES67 stream named '" + aes67->sap_name +
              "' has been announced (SAP on the venue network" +
              (core_->config.sap ? "; announced now: " + (known.empty() ? "none" : known) : ": discovery is off") +
              ")");
        }
        resolved.sdp = *found;
        (label == std::string("floor") ? ingests.primary_sdp : ingests.backup_sdp) = *found;
      }
      auto stream = domain::ParseAes67Sdp(resolved.sdp, field + ".sdp");
      if (!stream.ok()) return stream.status();
      if (resolved.channel > stream->channels)
        return domain::InvalidArgument(field + ".channel " + std::to_string(resolved.channel) + ": '" + stream->name +
                                       "' has " + std::to_string(stream->channels) + " channel(s) (0 mixes them)");
      in.source = resolved;
      auto socket = BindAes67(stream.value(), core_->config.aes67_interface);
      if (!socket.ok()) return socket.status();
      in.aes67 = stream.value();  // the graph builds from it, not from the text again
      in.aes67_socket = std::move(socket).value();
      return in;
    }
    if (!std::holds_alternative<domain::RtpSource>(spec.source)) return in;
    info->emplace();
    auto prepared = PrepareIngest(label, spec.key, spec.ssrc, spec.port, &**info);
    if (!prepared.ok()) return prepared.status();
    in.ingest = std::move(prepared).value();
    return in;
  };
  FloorPlan plan;
  auto p = input(primary, "floor", &ingests.primary);
  if (!p.ok()) return p.status();
  plan.primary = std::move(p).value();
  if (!std::holds_alternative<domain::NoSource>(backup.source)) {
    auto b = input(backup, "floor-backup", &ingests.backup);
    if (!b.ok()) return b.status();
    plan.backup = std::move(b).value();
    plan.primary_gain = std::make_shared<GainRamp>(nullptr, 1.0);  // new sources start on the primary
    plan.backup_gain = std::make_shared<GainRamp>(nullptr, 0.0);
    plan.on_primary = std::move(on_primary);
  }
  floor_guard_ = plan.primary.ingest ? plan.primary.ingest->guard : nullptr;
  floor_backup_guard_ = plan.backup && plan.backup->ingest ? plan.backup->ingest->guard : nullptr;
  floor_primary_gain_ = plan.primary_gain;
  floor_backup_gain_ = plan.backup_gain;
  SessionCore::Post(core_, "change the floor source",
                    [plan = std::move(plan)](SessionGraph& g) mutable { return g.SetFloorSource(std::move(plan)); });
  if (ingests.primary)
    log::Get("floor")->info("session {}: floor RTP ingest port={}", core_->session, ingests.primary->endpoint.port);
  if (ingests.backup)
    log::Get("floor")->info("session {}: floor backup RTP ingest port={}", core_->session,
                            ingests.backup->endpoint.port);
  return ingests;
}

void MediaSessionGst::SelectFloor(domain::FloorActive active) {
  if (!floor_primary_gain_ || !floor_backup_gain_) return;
  const bool backup = active == domain::FloorActive::kBackup;
  // To the backup at once (every millisecond there is dead air); back to the primary as a
  // crossfade, both ramps from one instant.
  const GstClockTime fade = backup ? kRampDuration : kFloorReturnFade;
  const GstClockTime at =
      std::max(RunningTimeNow(floor_primary_gain_->element()), RunningTimeNow(floor_backup_gain_->element()));
  floor_primary_gain_->RampTo(backup ? 0.0 : 1.0, at, fade);
  floor_backup_gain_->RampTo(backup ? 1.0 : 0.0, at, fade);
  log::Get("floor")->info("session {}: floor on air source={}", core_->session, backup ? "backup" : "primary");
}

Result<std::unique_ptr<domain::ConsoleInput>> MediaSessionGst::AddConsole(
    const domain::ConsoleId& id, const std::vector<domain::ChannelName>& outputs, const domain::SrtpKeying& key,
    uint32_t ssrc, domain::LinkCallback on_link, uint16_t port) {
  if (Status busy = CheckMediaBacklog(*core_->thread, "console"); !busy.ok()) return busy;
  domain::IngestInfo info;
  auto plan = PrepareIngest(id, key, ssrc, port, &info);
  if (!plan.ok()) return plan.status();
  ConsoleGains gains;
  for (const auto& ch : outputs) gains[ch] = std::make_shared<GainRamp>(nullptr, 0.0);  // silent until mixed
  auto guard = plan.value().guard;
  SessionCore::Post(core_, "add a console",
                    [id, plan = std::move(plan).value(), gains, on_link = std::move(on_link)](SessionGraph& g) {
                      return g.AddConsole(id, plan, gains, on_link);
                    });
  return std::unique_ptr<domain::ConsoleInput>(
      std::make_unique<ConsoleInputGst>(core_, id, std::move(info), std::move(guard), std::move(gains)));
}

void MediaSessionGst::SetChannelMix(const domain::ChannelName& channel, const domain::ChannelMix& mix) {
  auto floor = floor_gains_.find(channel);
  if (floor == floor_gains_.end()) return;
  if (auto limiter = limiters_.find(channel); limiter != limiters_.end()) {
    double now = 0;
    g_object_get(limiter->second.get(), "level-target", &now, nullptr);
    if (now != mix.loudness_target_lufs)
      g_object_set(limiter->second.get(), "level-target", mix.loudness_target_lufs, nullptr);
  }
  // One instant for every ramp of the change: a handover's two ramps cross exactly.
  std::vector<std::pair<GainRamp*, double>> ramps{{floor->second.get(), mix.floor_gain_db}};
  for (const auto& [console, db] : mix.console_gain_db)
    if (auto* gain = console ? static_cast<const ConsoleInputGst*>(console)->Gain(channel) : nullptr)
      ramps.emplace_back(gain, db);
  GstClockTime at = 0;
  for (const auto& [ramp, db] : ramps) at = std::max(at, RunningTimeNow(ramp->element()));
  for (const auto& [ramp, db] : ramps) ramp->RampTo(DbToLinear(db), at);
  log::Get("mix")->debug("session {}: channel {} floor {:.1f} dB", core_->session, channel, mix.floor_gain_db);
}

Result<std::unique_ptr<domain::ListenerStream>> MediaSessionGst::AddListener(const domain::ListenerStreamSpec& spec) {
  auto added = AddFanoutListener(*core_->fanout, spec, core_->config.frame_us);
  if (!added.ok()) return added.status();
  auto stream = std::make_unique<ListenerStreamGst>(core_, std::move(added.value().handle), added.value().send);
  stream->Switch(spec.channel);
  return std::unique_ptr<domain::ListenerStream>(std::move(stream));
}

Result<std::unique_ptr<domain::ViewerStream>> MediaSessionGst::AddViewer(const std::string& id,
                                                                         const domain::ChannelName& channel,
                                                                         const std::string& offer_sdp,
                                                                         domain::AnswerCallback done) {
  if (core_->webrtc) {
    // The shared WebRTC port: the viewer is a fan-out listener, routed like a headset's.
    return AddLiteViewer(*core_->webrtc, *core_->fanout, id, channel, offer_sdp, done,
                         [core = core_, channel](std::unique_ptr<fanout::ListenerHandle> listener) {
                           auto stream =
                               std::make_unique<ListenerStreamGst>(core, std::move(listener), domain::SendInfo{});
                           stream->Switch(channel);
                           return std::unique_ptr<domain::ListenerStream>(std::move(stream));
                         });
  }
  if (Status busy = CheckMediaBacklog(*core_->thread, "viewer"); !busy.ok()) return busy;
  auto offer = sdp::ParseWhepOffer(offer_sdp);
  if (!offer.ok()) return offer.status();
  const sdp::WhepOffer parsed = offer.value();
  auto handshake = std::make_shared<WebrtcHandshake>(
      std::move(done), [parsed](const std::string& answer) { return sdp::CheckWhepAnswer(parsed, answer).message(); });
  SessionCore::Post(core_, "add a WebRTC viewer",
                    [id, channel, pt = parsed.opus_payload_type, offer_sdp, handshake](SessionGraph& g) {
                      Status s = g.AddWebrtcViewer(id, channel, pt, offer_sdp, handshake);
                      if (!s.ok()) handshake->Complete(false, s.message());
                      return s;
                    });
  return std::unique_ptr<domain::ViewerStream>(std::make_unique<ViewerStreamGst>(core_, id, handshake));
}

Result<std::unique_ptr<domain::ChannelRecording>> MediaSessionGst::StartRecording(const domain::ChannelName& channel,
                                                                                  uint32_t segment_s) {
  const GraphConfig& config = core_->config;
  if (config.record_dir.empty())
    return domain::FailedPrecondition(
        "recording needs a directory: start tilmashd with --record-dir DIR "
        "(config record_dir)");
  auto tap = record_taps_.find(channel);
  if (tap == record_taps_.end()) return domain::NotFound("channel " + channel + " has no media");
  record::RecorderConfig rc;
  rc.dir = RecordingDir(config.record_dir, core_->session, channel);
  rc.segment_s = segment_s ? segment_s : uint32_t(config.record_segment_s);
  rc.tags = {"TITLE=" + core_->session + " " + channel, "LANGUAGE=" + channel,
             "ENCODER=tilmash (the channel's own Opus)"};
  std::string error;
  auto recorder = record::ChannelRecorder::Start(rc, &error);
  if (!recorder) return domain::FailedPrecondition("cannot record channel " + channel + ": " + error);
  std::shared_ptr<record::ChannelRecorder> shared(std::move(recorder));
  tap->second->Attach(shared);
  const std::string label = "session " + core_->session + " channel " + channel;
  log::Get("record")->info("{}: recording to {} ({} s segments)", label, shared->file(), rc.segment_s);
  return std::unique_ptr<domain::ChannelRecording>(
      std::make_unique<ChannelRecordingGst>(label, tap->second, std::move(shared)));
}

std::vector<domain::RecordingFile> MediaSessionGst::Recordings() const {
  std::vector<domain::RecordingFile> out;
  if (core_->config.record_dir.empty()) return out;
  // Every file of the session, its duration from its last complete page; a file without an
  // end-of-stream page is being written (or was cut by a crash).
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::path(core_->config.record_dir) / core_->session;
  for (const auto& dir : fs::directory_iterator(root, ec)) {
    if (!dir.is_directory()) continue;
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(dir.path(), ec))
      if (f.is_regular_file() && f.path().extension() == ".opus") files.push_back(f.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      domain::RecordingFile r;
      r.channel = dir.path().filename().string();
      r.path = f.string();
      r.started_utc = f.stem().string();
      r.bytes = fs::file_size(f, ec);
      // A finished file does not change: read once (a three-day plenary has thousands).
      if (auto known = finished_files_.find(r.path); known != finished_files_.end() && known->second.bytes == r.bytes) {
        out.push_back(known->second);
        continue;
      }
      std::string error;
      if (auto info = record::ReadOggOpusInfo(r.path, &error)) {
        r.duration_s = info->duration_s();
        r.open = !info->finished;
        if (info->finished) finished_files_[r.path] = r;
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

domain::MediaStats MediaSessionGst::Stats() const {
  domain::MediaStats stats;
  if (floor_guard_) stats.ingest.push_back(CountersOf(*floor_guard_));
  if (floor_backup_guard_) stats.ingest.push_back(CountersOf(*floor_backup_guard_));
  // Fan-out counters are node-wide: one sender serves every session.
  AddFanoutStats(core_->fanout->Stats(), &stats);
  for (const auto& [channel, meter] : levels_)
    stats.levels.push_back(domain::ChannelLevel{channel, meter->rms_dbfs(), meter->peak_dbfs(),
                                                meter->peak_dbfs() >= parts::kClippingPeakDbfs});
  return stats;
}

}  // namespace tilmash::graph
