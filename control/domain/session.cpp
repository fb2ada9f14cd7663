#include "domain/session.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include "domain/aes67.h"
#include "domain/language.h"

namespace tilmash::domain {

namespace {
constexpr double kMinDuckDb = -60.0;

Status NotSavedEnd(const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), "the session has ended but is still in the state store (" + s.message() +
                              "): it comes back at the next start");
}

Status ValidateDuck(double db, const std::string& field) {
  if (!std::isfinite(db) || db > 0 || db < kMinDuckDb) return InvalidArgument(field + " must be between -60 and 0 dB");
  return Status::Ok();
}
}  // namespace

Session::Session(SessionId id, std::string name, double default_duck_db, SessionPorts ports, ListenerPolicy policy)
    : id_(std::move(id)),
      name_(std::move(name)),
      default_duck_db_(default_duck_db),
      ports_(ports),
      policy_(std::move(policy)) {}

Session::~Session() { End(false); }

Session::Lock::Lock(const Session& s) : s_(const_cast<Session&>(s)) { s_.mu_.lock(); }

Session::Lock::~Lock() {
  const bool pending = !s_.outbox_.empty() && !s_.publishing_;
  if (pending) s_.publishing_ = true;
  s_.mu_.unlock();
  if (pending) s_.Publish();
}

void Session::Publish() {
  // Only the thread that set publishing_ gets here; others leave their events in the outbox
  // for it, so events reach the sink in the order they were emitted and nobody waits.
  std::vector<SessionEvent> batch;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      batch.clear();
      batch.swap(outbox_);
      if (batch.empty()) {
        publishing_ = false;
        return;
      }
    }
    for (const auto& e : batch)
      if (ports_.events) ports_.events->OnEvent(e);
  }
}

Status Session::Start() {
  Lock lock(*this);
  auto media = ports_.media->CreateSession(id_, timing_);
  if (!media.ok()) return media.status();
  media_ = std::move(media).value();
  if (Status s = media_->AddChannel(kFloorChannel); !s.ok()) {
    media_.reset();
    return s;
  }
  channel_order_.push_back(kFloorChannel);
  channels_[kFloorChannel] = ChannelState{0.0, std::nullopt, 0};
  return Status::Ok();
}

Status Session::End(bool forget) {
  Lock lock(*this);
  if (ended_) return Status::Ok();
  Status forgotten = Status::Ok();
  if (forget && saving_ && ports_.store) forgotten = NotSavedEnd(ports_.store->DeleteSession(id_));
  ended_ = true;
  // The handles go before the media session they belong to.
  viewers_.clear();
  groups_.clear();
  listeners_.clear();
  consoles_.clear();
  recordings_.clear();  // each finishes its file
  media_.reset();
  Emit(SessionEnded{});
  return forgotten;
}

void Session::Emit(SessionEvent::Event what) {
  if (ports_.events) outbox_.push_back(SessionEvent{id_, std::chrono::system_clock::now(), std::move(what)});
}

Result<ChannelName> Session::FindChannel(const std::string& name, const char* field) const {
  if (name.empty()) return InvalidArgument(std::string(field) + " is empty");
  if (name == kFloorChannel) return ChannelName(kFloorChannel);
  if (!IsValidLanguageTag(name))
    return InvalidArgument(std::string(field) + " " + Quoted(name) + " is not a BCP-47 language tag");
  ChannelName canon = CanonicalLanguageTag(name);
  if (!channels_.count(canon))
    return NotFound(std::string(field) + ": session " + id_ + " has no channel '" + canon + "'");
  return canon;
}

ChannelView Session::ViewOf(const ChannelName& name) const {
  const ChannelState& c = channels_.at(name);
  ChannelView v{name, c.duck_db, c.live_console, c.listeners, 0, 0};
  if (auto g = plan_.generation.find(name); g != plan_.generation.end()) v.relay_generation = g->second;
  if (auto u = plan_.used_by_booths.find(name); u != plan_.used_by_booths.end()) v.used_as_relay_by = u->second;
  if (auto r = recordings_.find(name); r != recordings_.end()) {
    const RecordingStatus st = r->second.handle->Status();
    v.recording = !st.failed;
    v.record_segment_s = r->second.segment_s;
    v.record_file = st.file;
    v.record_bytes = st.bytes;
    v.record_dropped = st.dropped;
  }
  return v;
}

SessionView Session::View() const {
  Lock lock(*this);
  SessionView v;
  v.id = id_;
  v.name = name_;
  v.floor_language = floor_language_;
  v.floor_source = floor_source_;
  v.floor_ingest = floor_ingest_;
  v.floor_backup_source = floor_backup_;
  v.floor_backup_ingest = floor_backup_ingest_;
  v.floor_select = floor_select_;
  v.floor_active = floor_on_air_;
  v.floor_active_reason = floor_announced_ ? floor_announced_->reason : "no backup";
  v.floor_primary_lost = floor_primary_lost_;
  v.loudness_target_lufs = loudness_target_lufs_;
  v.frame_ms = timing_.frame_us / 1000.0;
  v.jitter_ms = timing_.jitter_ms;
  v.mirror_of = mirror_of_;
  for (const auto& name : channel_order_) v.channels.push_back(ViewOf(name));
  // The audience by transport: one look at each listener (a scrape of 2,000 costs microseconds).
  auto channel = [&v](const ChannelName& name) -> ChannelView* {
    for (auto& c : v.channels)
      if (c.name == name) return &c;
    return nullptr;
  };
  for (const auto& [id, l] : listeners_)
    if (ChannelView* c = channel(l.view.channel)) {
      ++(l.view.transport == Transport::kMulticast ? c->multicast_listeners : c->unicast_listeners);
      if (l.relay) c->relayed[l.relay->first] += l.relay->second;
    }
  for (const auto& [id, viewer] : viewers_)
    if (ChannelView* c = channel(viewer.channel)) ++c->webrtc_viewers;
  for (const auto& [id, c] : consoles_) v.consoles.push_back(c.view);
  v.interlock = interlock_;
  v.on_air = on_air_;
  v.recorded = recorded_;
  return v;
}

Result<ChannelView> Session::AddChannel(const std::string& language, std::optional<double> duck_db,
                                        const std::string& field) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  if (language == kFloorChannel) return AlreadyExists(field + ": the floor channel always exists");
  if (!IsValidLanguageTag(language))
    return InvalidArgument(field + " " + Quoted(language) + " is not a BCP-47 language tag");
  const double duck = duck_db.value_or(default_duck_db_);
  if (Status s = ValidateDuck(duck, "floor_duck_db"); !s.ok()) return s;
  ChannelName name = CanonicalLanguageTag(language);
  if (channels_.count(name)) return AlreadyExists(field + ": channel '" + name + "' already exists");
  if (Status s = media_->AddChannel(name); !s.ok()) return s;
  channel_order_.push_back(name);
  channels_[name] = ChannelState{duck, std::nullopt, 0};
  booths_[name] = BoothState{};
  ApplyMix(name);
  Replan();
  if (Status s = Save(); !s.ok()) return s;
  return ViewOf(name);
}

Status Session::RemoveChannel(const std::string& language) {
  Lock lock(*this);
  if (language == kFloorChannel) return FailedPrecondition("language: the floor channel cannot be removed");
  auto found = FindChannel(language, "language");
  if (!found.ok()) return found.status();
  const ChannelName name = found.value();
  for (const auto& [id, c] : consoles_) {
    if (c.view.booth == name)
      return FailedPrecondition("language: console " + id + " is still in booth '" + name + "'");
    if (c.view.effective_input == name || c.view.output_channel == name)
      return FailedPrecondition("language: console " + id + " still works with channel '" + name + "'");
  }
  for (const auto& [booth, state] : booths_)
    if (booth != name && (state.config.b == name || state.config.c == name))
      return FailedPrecondition("language: booth '" + booth + "' works retour into '" + name + "'");
  RemoveChannelListeners(name);
  StopRecordingLocked(name, "channel removed");
  media_->RemoveChannel(name);
  channels_.erase(name);
  booths_.erase(name);
  handovers_.erase(name);
  channel_order_.erase(std::find(channel_order_.begin(), channel_order_.end(), name));
  Emit(ListenerCountChanged{kFloorChannel, channels_[kFloorChannel].listeners});
  return Save();
}

Result<ChannelView> Session::SetChannelDucking(const std::string& language, double duck_db) {
  Lock lock(*this);
  auto found = FindChannel(language, "language");
  if (!found.ok()) return found.status();
  if (found.value() == kFloorChannel) return InvalidArgument("language: the floor channel is never ducked");
  if (Status s = ValidateDuck(duck_db, "floor_duck_db"); !s.ok()) return s;
  channels_[found.value()].duck_db = duck_db;
  ApplyMix(found.value());
  if (Status s = Save(); !s.ok()) return s;
  return ViewOf(found.value());
}

namespace {
Status ValidateFloorSource(const FloorSource& source, const std::string& field) {
  if (auto* tone = std::get_if<ToneSource>(&source)) {
    if (!(tone->frequency_hz >= 20 && tone->frequency_hz <= 20000))
      return InvalidArgument(field + ".tone.frequency_hz must be between 20 and 20000");
    if (!(tone->level_dbfs <= 0 && tone->level_dbfs >= -90))
      return InvalidArgument(field + ".tone.level_dbfs must be between -90 and 0");
  }
  if (auto* card = std::get_if<SoundCardSource>(&source)) {
    if (card->device.empty() || card->device.size() > 100)
      return InvalidArgument(field + ".sound_card.device must be an ALSA device name (1 to 100 characters)");
    for (char ch : card->device)
      if (!std::isalnum(static_cast<unsigned char>(ch)) &&
          std::string_view(":,=_.-").find(ch) == std::string_view::npos)
        return InvalidArgument(field + ".sound_card.device '" + card->device +
                               "' has a character an ALSA device name does not (letters, digits and :,=_.-)");
    if (card->channel > 64) return InvalidArgument(field + ".sound_card.channel must be 0 (mix) or 1 to 64");
  }
  if (auto* aes67 = std::get_if<Aes67Source>(&source)) {
    if (aes67->sdp.empty() == aes67->sap_name.empty())
      return InvalidArgument(field + ".aes67: give either sdp or sap_name (the stream's SAP-announced name)");
    if (!aes67->sap_name.empty()) {
      if (aes67->sap_name.size() > 200) return InvalidArgument(field + ".aes67.sap_name is longer than 200 characters");
      return Status::Ok();  // the channel is checked against the SDP when the name is looked up
    }
    auto stream = ParseAes67Sdp(aes67->sdp, field + ".aes67.sdp");
    if (!stream.ok()) return stream.status();
    if (aes67->channel > stream->channels)
      return InvalidArgument(field + ".aes67.channel " + std::to_string(aes67->channel) + ": the stream has " +
                             std::to_string(stream->channels) + " channel(s) (0 sums them)");
  }
  return Status::Ok();
}

bool HasSource(const FloorSource& s) { return !std::holds_alternative<NoSource>(s); }
}  // namespace

Status Session::SetFloorSources(const FloorSource& primary, const FloorSource& backup, FloorSelect select) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  if (Status s = ValidateFloorSource(primary, "source"); !s.ok()) return s;
  if (Status s = ValidateFloorSource(backup, "backup"); !s.ok()) return s;
  if (HasSource(backup) && !HasSource(primary)) return InvalidArgument("backup: a backup needs a primary source");
  if (select == FloorSelect::kBackup && !HasSource(backup))
    return InvalidArgument("floor_select: BACKUP needs a backup source");
  auto spec = [&](const FloorSource& source) {
    FloorSpec f{source, std::nullopt, 0};
    if (auto* rtp = std::get_if<RtpSource>(&source); rtp && rtp->srtp)
      f.key = ports_.keys->NewKey(CryptoSuite::kAesCm128HmacSha1_80);
    return f;
  };
  if (Status s = InstallFloor(spec(primary), spec(backup), select); !s.ok()) return s;
  Emit(FloorChanged{floor_language_, floor_source_, floor_backup_});
  ApplyFloor();
  return Save();
}

Status Session::InstallFloor(const FloorSpec& primary, const FloorSpec& backup, FloorSelect select) {
  const uint64_t generation = floor_generation_ + 1;
  auto ingest = media_->SetFloorSource(primary, backup, [session = weak_from_this(), generation](bool up) {
    if (auto s = session.lock()) s->FloorPrimaryLink(generation, up);
  });
  if (!ingest.ok()) return ingest.status();
  floor_generation_ = generation;
  floor_source_ = primary.source;
  floor_ingest_ = ingest.value().primary;
  floor_backup_ = backup.source;
  if (auto* a = std::get_if<Aes67Source>(&floor_source_); a && !ingest.value().primary_sdp.empty())
    a->sdp = ingest.value().primary_sdp;
  if (auto* a = std::get_if<Aes67Source>(&floor_backup_); a && !ingest.value().backup_sdp.empty())
    a->sdp = ingest.value().backup_sdp;
  floor_backup_ingest_ = ingest.value().backup;
  floor_select_ = select;
  floor_primary_lost_ = false;
  floor_on_air_ = FloorActive::kPrimary;  // new sources start on the primary
  return Status::Ok();
}

Status Session::SelectFloor(FloorSelect select) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  if (select == FloorSelect::kBackup && !HasSource(floor_backup_))
    return InvalidArgument("floor_select: BACKUP needs a backup source (the floor has none)");
  floor_select_ = select;
  ApplyFloor();
  return Save();
}

void Session::FloorPrimaryLink(uint64_t generation, bool up) {
  Lock lock(*this);
  if (ended_ || generation != floor_generation_ || floor_primary_lost_ == !up) return;
  floor_primary_lost_ = !up;
  ApplyFloor();
}

void Session::ApplyFloor() {
  FloorActiveChanged now{FloorActive::kPrimary, floor_select_, floor_primary_lost_, ""};
  if (!HasSource(floor_backup_)) {
    now.reason = "no backup";
  } else if (floor_select_ != FloorSelect::kAuto) {
    now.active = floor_select_ == FloorSelect::kBackup ? FloorActive::kBackup : FloorActive::kPrimary;
    now.reason = "selected by the technician";
  } else if (floor_primary_lost_) {
    now.active = FloorActive::kBackup;
    now.reason = "primary lost";
  } else {
    now.reason = "primary up";
  }
  if (media_ && now.active != floor_on_air_) {
    media_->SelectFloor(now.active);
    floor_on_air_ = now.active;
  }
  const bool same = floor_announced_ && floor_announced_->active == now.active &&
                    floor_announced_->select == now.select && floor_announced_->primary_lost == now.primary_lost &&
                    floor_announced_->reason == now.reason;
  // A floor that never had a backup says nothing (its watchers know it from FloorChanged).
  if (same || (!floor_announced_ && !HasSource(floor_backup_))) return;
  floor_announced_ = now;
  Emit(now);
}

Status Session::SetFloorLanguage(const std::string& language) {
  Lock lock(*this);
  if (!language.empty() && !IsValidLanguageTag(language))
    return InvalidArgument("language " + Quoted(language) + " is not a BCP-47 language tag");
  floor_language_ = language.empty() ? "" : CanonicalLanguageTag(language);
  Emit(FloorChanged{floor_language_, floor_source_, floor_backup_});
  Replan();  // auto-relay follows the floor language
  return Save();
}

MediaStats Session::Stats() const {
  Lock lock(*this);
  if (!media_) return {};
  MediaStats stats = media_->Stats();
  for (const auto& [id, c] : consoles_) stats.ingest.push_back(c.input->Counters());
  return stats;
}

}  // namespace tilmash::domain
