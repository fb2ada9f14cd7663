#include "grpc/convert.h"

#include <cmath>

namespace tilmash::grpcapi {

grpc::Status ToGrpc(const domain::Status& s) {
  using domain::StatusCode;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case StatusCode::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
    case StatusCode::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
  }
  // Messages quote outside values short (domain::Quoted); this bounds the rest, so an error
  // always fits in the trailers a client accepts (grpc's default limit is 8 KiB).
  std::string message = s.message();
  if (message.size() > kMaxErrorMessage) message = message.substr(0, kMaxErrorMessage) + "...";
  return grpc::Status(code, message);
}

v1::MicState ToProto(domain::MicState s) {
  switch (s) {
    case domain::MicState::kOff:
      return v1::MIC_OFF;
    case domain::MicState::kLive:
      return v1::MIC_LIVE;
    case domain::MicState::kMuted:
      return v1::MIC_MUTED;
  }
  return v1::MIC_STATE_UNSPECIFIED;
}

v1::CryptoSuite ToProto(domain::CryptoSuite s) {
  return s == domain::CryptoSuite::kAeadAes128Gcm ? v1::AEAD_AES_128_GCM : v1::AES_CM_128_HMAC_SHA1_80;
}

domain::Result<domain::CryptoSuite> FromProto(v1::CryptoSuite s, const char* field) {
  switch (s) {
    case v1::CRYPTO_SUITE_UNSPECIFIED:
    case v1::AES_CM_128_HMAC_SHA1_80:
      return domain::CryptoSuite::kAesCm128HmacSha1_80;
    case v1::AEAD_AES_128_GCM:
      return domain::CryptoSuite::kAeadAes128Gcm;
    default:
      return domain::InvalidArgument(std::string(field) + " is not a supported crypto suite");
  }
}

void ToProto(const domain::FloorSource& in, v1::FloorSource* out) {
  out->Clear();
  if (auto* t = std::get_if<domain::ToneSource>(&in)) {
    out->mutable_tone()->set_frequency_hz(t->frequency_hz);
    out->mutable_tone()->set_level_dbfs(t->level_dbfs);
  } else if (auto* r = std::get_if<domain::RtpSource>(&in)) {
    out->mutable_rtp()->set_srtp(r->srtp);
  } else if (auto* a = std::get_if<domain::Aes67Source>(&in)) {
    out->mutable_aes67()->set_sdp(a->sdp);
    out->mutable_aes67()->set_channel(a->channel);
    out->mutable_aes67()->set_sap_name(a->sap_name);
  } else if (auto* c = std::get_if<domain::SoundCardSource>(&in)) {
    out->mutable_sound_card()->set_device(c->device);
    out->mutable_sound_card()->set_channel(c->channel);
  }
}

v1::FloorSelect ToProto(domain::FloorSelect s) {
  switch (s) {
    case domain::FloorSelect::kPrimary:
      return v1::FLOOR_SELECT_PRIMARY;
    case domain::FloorSelect::kBackup:
      return v1::FLOOR_SELECT_BACKUP;
    default:
      return v1::FLOOR_SELECT_AUTO;
  }
}

v1::FloorActive ToProto(domain::FloorActive a) {
  return a == domain::FloorActive::kBackup ? v1::FLOOR_ACTIVE_BACKUP : v1::FLOOR_ACTIVE_PRIMARY;
}

domain::Result<domain::FloorSelect> FromProto(v1::FloorSelect s, const char* field) {
  switch (s) {
    case v1::FLOOR_SELECT_AUTO:
      return domain::FloorSelect::kAuto;
    case v1::FLOOR_SELECT_PRIMARY:
      return domain::FloorSelect::kPrimary;
    case v1::FLOOR_SELECT_BACKUP:
      return domain::FloorSelect::kBackup;
    default:
      return domain::InvalidArgument(std::string(field) + " must be FLOOR_SELECT_AUTO, _PRIMARY or _BACKUP");
  }
}

domain::FloorSource FromProto(const v1::FloorSource& in) {
  switch (in.kind_case()) {
    case v1::FloorSource::kTone:
      return domain::ToneSource{in.tone().frequency_hz(), in.tone().level_dbfs() == 0 ? -20.0 : in.tone().level_dbfs()};
    case v1::FloorSource::kRtp:
      return domain::RtpSource{in.rtp().srtp()};
    case v1::FloorSource::kSoundCard:
      return domain::SoundCardSource{in.sound_card().device(), in.sound_card().channel()};
    case v1::FloorSource::kAes67:
      return domain::Aes67Source{in.aes67().sdp(), in.aes67().channel(), in.aes67().sap_name()};
    default:
      return domain::NoSource{};
  }
}

void ToProto(const domain::IngestInfo& in, v1::IngestEndpoint* out) {
  out->mutable_endpoint()->set_host(in.endpoint.host);
  out->mutable_endpoint()->set_port(in.endpoint.port);
  out->set_payload_type(in.payload_type);
  out->set_ssrc(in.ssrc);
  if (in.srtp) {
    out->mutable_srtp()->set_suite(ToProto(in.srtp->suite));
    out->mutable_srtp()->set_master_key(in.srtp->master_key.data(), in.srtp->master_key.size());
    out->mutable_srtp()->set_roc(in.srtp->roc);
  }
}

void ToProto(const domain::ChannelView& in, v1::Channel* out) {
  out->set_language(in.name);
  out->set_floor_duck_db(in.floor_duck_db);
  out->set_live_console_id(in.live_console.value_or(""));
  out->set_listener_count(in.listener_count);
  out->set_relay_generation(in.relay_generation);
  out->set_used_as_relay_by(in.used_as_relay_by);
  out->set_recording(in.recording);
  out->set_recording_file(in.record_file);
  uint32_t relayed = 0;
  for (const auto& [edge, n] : in.relayed) relayed += n;
  out->set_relayed_listener_count(relayed);
}

void ToProto(const domain::RecordingFile& in, v1::RecordingFile* out) {
  out->set_language(in.channel);
  out->set_path(in.path);
  out->set_start_utc(in.started_utc);
  out->set_duration_s(in.duration_s);
  out->set_bytes(in.bytes);
  out->set_finished(!in.open);
}

void ToProto(const domain::ConsoleView& in, v1::Console* out) {
  out->set_id(in.id);
  out->set_booth(in.booth);
  out->set_name(in.name);
  out->set_mic(ToProto(in.mic));
  out->set_output_channel(in.output_channel);
  out->set_output_slot(ToProto(in.output_slot));
  ToProto(in.input, out->mutable_input());
  out->set_effective_input(in.effective_input);
  out->set_held(in.held);
  out->set_return_ssrc(in.return_ssrc);
  out->set_link_lost(in.link_lost);
}

void ToProto(const domain::InputSelection& in, v1::InputSelection* out) {
  switch (in.kind) {
    case domain::InputSelection::Kind::kAuto:
      out->set_auto_(true);
      break;
    case domain::InputSelection::Kind::kFloor:
      out->set_floor(true);
      break;
    case domain::InputSelection::Kind::kChannel:
      out->set_channel(in.channel);
      break;
  }
}

static int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

static v1::MessageKind ToProto(domain::MessageKind k) {
  switch (k) {
    case domain::MessageKind::kSlowDown:
      return v1::SLOW_DOWN;
    case domain::MessageKind::kCallTechnician:
      return v1::CALL_TECHNICIAN;
    case domain::MessageKind::kText:
      return v1::TEXT;
  }
  return v1::MESSAGE_KIND_UNSPECIFIED;
}

void ToProto(const domain::Message& in, v1::Message* out) {
  out->set_kind(ToProto(in.kind));
  out->set_from(in.from);
  out->set_to(in.to);
  out->set_text(in.text);
  out->set_unix_time_ms(UnixMs(in.time));
}

void ToProto(const domain::HandoverChanged& in, v1::HandoverEvent* out) {
  using W = domain::HandoverChanged::What;
  out->set_what(in.what == W::kRequested  ? v1::HandoverEvent::REQUESTED
                : in.what == W::kAccepted ? v1::HandoverEvent::ACCEPTED
                : in.what == W::kDeclined ? v1::HandoverEvent::DECLINED
                                          : v1::HandoverEvent::EXPIRED);
  out->set_from_console_id(in.from);
  out->set_to_console_id(in.to);
  out->set_channel(in.channel);
}

void ToProto(const domain::BoothView& in, v1::Booth* out) {
  out->set_language(in.language);
  out->set_retour_b(in.b.value_or(""));
  out->set_retour_c(in.c.value_or(""));
  for (const auto& t : in.takes) out->add_takes(t);
  for (const auto& c : in.consoles) ToProto(c, out->add_consoles());
  out->set_handover_from(in.handover_from.value_or(""));
  out->set_handover_to(in.handover_to.value_or(""));
  out->set_on_air(in.on_air);
  out->set_recorded(in.recorded);
  for (const auto& m : in.messages) ToProto(m, out->add_messages());
  for (const auto& c : in.channels) ToProto(c, out->add_channels());
  out->set_interlock_mode(ToProto(in.interlock));
}

v1::InterlockMode ToProto(domain::InterlockMode m) {
  switch (m) {
    case domain::InterlockMode::kInterlock:
      return v1::INTERLOCK;
    case domain::InterlockMode::kOverride:
      return v1::OVERRIDE;
    case domain::InterlockMode::kToggleOverride:
      return v1::TOGGLE_OVERRIDE;
  }
  return v1::INTERLOCK_MODE_UNSPECIFIED;
}

v1::OutputSlot ToProto(domain::OutputSlot s) {
  return s == domain::OutputSlot::kA ? v1::OUTPUT_A : s == domain::OutputSlot::kB ? v1::OUTPUT_B : v1::OUTPUT_C;
}

domain::Result<domain::InterlockMode> FromProto(v1::InterlockMode m, const char* field) {
  switch (m) {
    case v1::INTERLOCK:
      return domain::InterlockMode::kInterlock;
    case v1::OVERRIDE:
      return domain::InterlockMode::kOverride;
    case v1::TOGGLE_OVERRIDE:
      return domain::InterlockMode::kToggleOverride;
    default:
      return domain::InvalidArgument(std::string(field) + " must be INTERLOCK, OVERRIDE or TOGGLE_OVERRIDE");
  }
}

domain::Result<domain::OutputSlot> FromProto(v1::OutputSlot s, const char* field) {
  switch (s) {
    case v1::OUTPUT_A:
      return domain::OutputSlot::kA;
    case v1::OUTPUT_B:
      return domain::OutputSlot::kB;
    case v1::OUTPUT_C:
      return domain::OutputSlot::kC;
    default:
      return domain::InvalidArgument(std::string(field) + " must be OUTPUT_A, OUTPUT_B or OUTPUT_C");
  }
}

domain::Result<domain::InputSelection> FromProto(const v1::InputSelection& in, const char* field) {
  using K = domain::InputSelection::Kind;
  switch (in.kind_case()) {
    case v1::InputSelection::kFloor:
      return domain::InputSelection{K::kFloor, ""};
    case v1::InputSelection::kChannel:
      return domain::InputSelection{K::kChannel, in.channel()};
    case v1::InputSelection::kAuto:
      return domain::InputSelection{K::kAuto, ""};
    default:
      return domain::InvalidArgument(std::string(field) + ": set floor, channel or auto");
  }
}

domain::Result<domain::MessageKind> FromProto(v1::MessageKind k, const char* field) {
  switch (k) {
    case v1::SLOW_DOWN:
      return domain::MessageKind::kSlowDown;
    case v1::CALL_TECHNICIAN:
      return domain::MessageKind::kCallTechnician;
    case v1::TEXT:
      return domain::MessageKind::kText;
    default:
      return domain::InvalidArgument(std::string(field) + " must be SLOW_DOWN, CALL_TECHNICIAN or TEXT");
  }
}

void ToProto(const domain::SessionView& in, v1::Session* out, bool include_keys) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_floor_language(in.floor_language);
  ToProto(in.floor_source, out->mutable_floor_source());
  if (in.floor_ingest) {
    ToProto(*in.floor_ingest, out->mutable_floor_ingest());
    if (!include_keys && out->floor_ingest().has_srtp())
      out->mutable_floor_ingest()->mutable_srtp()->clear_master_key();
  }
  for (const auto& c : in.channels) ToProto(c, out->add_channels());
  for (const auto& c : in.consoles) ToProto(c, out->add_consoles());
  out->set_interlock_mode(ToProto(in.interlock));
  out->set_on_air(in.on_air);
  out->set_recorded(in.recorded);
  if (!std::holds_alternative<domain::NoSource>(in.floor_backup_source))
    ToProto(in.floor_backup_source, out->mutable_floor_backup_source());
  if (in.floor_backup_ingest) {
    ToProto(*in.floor_backup_ingest, out->mutable_floor_backup_ingest());
    if (!include_keys && out->floor_backup_ingest().has_srtp())
      out->mutable_floor_backup_ingest()->mutable_srtp()->clear_master_key();
  }
  out->set_floor_select(ToProto(in.floor_select));
  out->set_floor_active(ToProto(in.floor_active));
  out->set_floor_active_reason(in.floor_active_reason);
  out->set_floor_primary_lost(in.floor_primary_lost);
  out->set_loudness_target_lufs(in.loudness_target_lufs);
  out->set_frame_ms(in.frame_ms);
  out->set_jitter_ms(in.jitter_ms);
  out->set_mirror_of(in.mirror_of);
}

void ToProto(const domain::MediaStats& in, v1::SessionStats* out) {
  for (const auto& c : in.ingest) {
    auto* o = out->add_ingest();
    o->set_source(c.source);
    o->set_packets_accepted(c.accepted);
    o->set_dropped_malformed(c.malformed);
    o->set_dropped_oversized(c.oversized);
    o->set_dropped_unknown_ssrc(c.unknown_ssrc);
    o->set_dropped_wrong_payload_type(c.wrong_payload_type);
    o->set_dropped_srtp_auth(c.srtp_auth);
  }
  out->set_listener_packets_sent(in.listener_packets_sent);
  out->set_listener_send_errors(in.listener_send_errors);
  out->set_listener_packets_dropped(in.listener_packets_dropped);
  out->set_fanout_ring_overflows(in.fanout_ring_overflows);
  out->set_fanout_delay_p50_us(in.fanout_delay_p50_us);
  out->set_fanout_delay_p99_us(in.fanout_delay_p99_us);
  out->set_fanout_delay_max_us(in.fanout_delay_max_us);
  out->set_fanout_delay_samples(in.fanout_delay_samples);
  out->set_fanout_delay_over_range(in.fanout_delay_over_range);
  out->set_fanout_backlog_drops(in.fanout_backlog_drops);
  out->set_listener_packets_late(in.listener_packets_late);
}

namespace {
struct EventToProto {
  v1::SessionEvent* out;
  void operator()(const domain::ChannelSourceChanged& e) {
    out->mutable_channel_source()->set_language(e.channel);
    out->mutable_channel_source()->set_live_console_id(e.live_console.value_or(""));
  }
  void operator()(const domain::MicChanged& e) {
    out->mutable_mic()->set_console_id(e.console);
    out->mutable_mic()->set_channel(e.channel);
    out->mutable_mic()->set_mic(ToProto(e.mic));
  }
  void operator()(const domain::ListenerCountChanged& e) {
    out->mutable_listeners()->set_channel(e.channel);
    out->mutable_listeners()->set_count(e.count);
  }
  void operator()(const domain::FloorChanged& e) {
    out->mutable_floor()->set_floor_language(e.floor_language);
    ToProto(e.source, out->mutable_floor()->mutable_source());
    if (!std::holds_alternative<domain::NoSource>(e.backup)) ToProto(e.backup, out->mutable_floor()->mutable_backup());
  }
  void operator()(const domain::SessionEnded&) { out->mutable_ended(); }
  void operator()(const domain::MessageSent& e) { ToProto(e.message, out->mutable_message()); }
  void operator()(const domain::HandoverChanged& e) { ToProto(e, out->mutable_handover()); }
  void operator()(const domain::BoothChanged&) {}  // booth watchers get these (WatchBooth)
  void operator()(const domain::KeyChanged&) {}    // only to the listener's own WatchKeys
  void operator()(const domain::ListenerEnded& e) {
    out->mutable_listener_ended()->set_listener_id(e.listener);
    out->mutable_listener_ended()->set_language(e.channel);
    out->mutable_listener_ended()->set_reason(e.reason);
  }
  void operator()(const domain::ListenerDropped& e) {
    auto* d = out->mutable_listener_dropped();
    d->set_listener_id(e.listener);
    d->set_language(e.channel);
    d->set_dropped(e.dropped);
    d->set_total(e.total);
  }
  void operator()(const domain::FloorActiveChanged& e) {
    auto* f = out->mutable_floor_active();
    f->set_active(ToProto(e.active));
    f->set_select(ToProto(e.select));
    f->set_primary_lost(e.primary_lost);
    f->set_reason(e.reason);
  }
  void operator()(const domain::InputAlarm& e) {
    auto* a = out->mutable_input_alarm();
    a->set_source(e.source);
    a->set_clipping(e.clipping);
    a->set_narrowband(e.narrowband);
    a->set_peak_dbfs(e.peak_dbfs);
    a->set_rms_dbfs(e.rms_dbfs);
    a->set_above_7khz_db(e.above_7khz_db);
  }
  void operator()(const domain::RecordingChanged& e) {
    auto* r = out->mutable_recording();
    r->set_language(e.channel);
    r->set_recording(e.recording);
    r->set_reason(e.reason);
    r->set_file(e.file);
  }
  void operator()(const domain::ConsoleLinkChanged& e) {
    auto* l = out->mutable_console_link();
    l->set_console_id(e.console);
    l->set_booth(e.booth);
    l->set_channel(e.channel);
    l->set_mic(ToProto(e.mic));
    l->set_link_lost(e.link_lost);
  }
};
}  // namespace

void ToProto(const domain::SessionEvent& in, v1::SessionEvent* out) {
  out->set_session_id(in.session);
  out->set_unix_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(in.time.time_since_epoch()).count());
  std::visit(EventToProto{out}, in.what);
}

}  // namespace tilmash::grpcapi
