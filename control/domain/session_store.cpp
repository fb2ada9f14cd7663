// What of a session survives the process: its record and its listeners' rows in the state
// store (written before the call that changed them answers), and the restore that rebuilds a
// session from them after a restart, resuming every stream where its timeline has reached.
#include <algorithm>

#include "domain/session.h"

namespace tilmash::domain {

namespace {
int64_t UnixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
Status NotSaved(const Status& s) {
  if (s.ok()) return s;
  return Status(s.code(), "the change is live but was not saved (" + s.message() +
                              "); it will not survive a restart until a later change is saved");
}
}  // namespace

StreamAnchor Session::NewAnchor() const { return StreamAnchor{UnixMsNow(), 0, ports_.keys->NewSsrc(), 10}; }

ListenerStreamSpec Session::StreamSpec(std::string label, ChannelName channel, Endpoint endpoint, SrtpKeying key,
                                       uint32_t ssrc, const StreamAnchor& anchor, bool resume) {
  ListenerStreamSpec spec{std::move(label), std::move(channel), std::move(endpoint), std::move(key), ssrc};
  if (resume) {
    std::tie(spec.first_index, spec.first_timestamp) = ResumePoint(anchor, UnixMsNow());
  } else {
    spec.first_index = anchor.index;
    spec.first_timestamp = anchor.timestamp;
  }
  return spec;
}

SessionRecord Session::Record() const {
  SessionRecord r;
  r.id = id_;
  r.name = name_;
  r.default_duck_db = default_duck_db_;
  r.loudness_target_lufs = loudness_target_lufs_;
  r.frame_us = timing_.frame_us;
  r.jitter_ms = timing_.jitter_ms;
  r.mirror_of = mirror_of_;
  r.floor_language = floor_language_;
  r.floor_source = floor_source_;
  r.floor_ingest = floor_ingest_;
  r.floor_backup = floor_backup_;
  r.floor_backup_ingest = floor_backup_ingest_;
  r.floor_select = floor_select_;
  for (const auto& name : channel_order_)
    if (name != kFloorChannel) r.channels.push_back(StoredChannel{name, channels_.at(name).duck_db});
  for (const auto& [booth, state] : booths_) r.booths.emplace_back(booth, state.config);
  r.interlock = interlock_;
  r.on_air = on_air_;
  r.recorded = recorded_;
  for (const auto& [channel, rec] : recordings_) r.recordings.emplace_back(channel, rec.segment_s);
  for (const auto& [id, c] : consoles_) {
    StoredConsole sc;
    sc.view = c.view;
    sc.view.link_lost = false;
    sc.owner = c.owner;
    sc.ingest = c.input->ingest();
    if (sc.ingest.srtp) sc.ingest.srtp->roc = c.input->Counters().roc;
    if (c.return_feed) {
      sc.return_endpoint = c.return_feed->endpoint;
      sc.return_stream = StoredStream{c.return_feed->ssrc, c.return_feed->srtp, c.return_feed->key_id, c.return_anchor};
    }
    r.consoles.push_back(std::move(sc));
  }
  for (const auto& [over, held] : held_) r.held.emplace_back(over, held);
  for (const auto& [channel, g] : groups_)
    r.groups.push_back(StoredGroup{channel, g.media_id, g.group, StoredStream{g.ssrc, g.key, g.key_id, g.anchor}});
  return r;
}

Status Session::Save() {
  if (!ports_.store || !saving_ || ended_) return Status::Ok();
  SessionRecord r = Record();
  for (const auto& c : r.consoles)
    if (c.ingest.srtp) consoles_.at(c.view.id).saved_roc = c.ingest.srtp->roc;
  return NotSaved(ports_.store->PutSession(r));
}

Status Session::Commit() {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  saving_ = true;
  if (Status s = Save(); !s.ok()) return s;
  for (const auto& [id, l] : listeners_)
    if (Status s = SaveListener(l); !s.ok()) return s;
  return Status::Ok();
}

Status Session::SaveListener(const ListenerState& l) {
  if (!ports_.store || !saving_ || ended_) return Status::Ok();
  ListenerRecord r{id_, l.view, l.anchor};
  r.view.send = SendInfo{};
  return NotSaved(ports_.store->PutListener(r));
}

Status Session::ForgetListener(const ListenerId& id) {
  if (!ports_.store || !saving_ || ended_) return Status::Ok();
  return NotSaved(ports_.store->DeleteListener(id_, id));
}

Result<RestoreReport> Session::Restore(const SessionRecord& record, const std::vector<ListenerRecord>& listeners) {
  if (Status s = Start(); !s.ok()) return s;
  Lock lock(*this);
  RestoreReport report;
  floor_language_ = record.floor_language;
  loudness_target_lufs_ = record.loudness_target_lufs;
  for (const auto& ch : record.channels) {
    if (Status s = media_->AddChannel(ch.name); !s.ok()) {
      report.problems.push_back("channel " + ch.name + ": " + s.message());
      continue;
    }
    channel_order_.push_back(ch.name);
    channels_[ch.name] = ChannelState{ch.duck_db, std::nullopt, 0};
    booths_[ch.name] = BoothState{};
    ApplyMix(ch.name);  // its leveling; consoles restored below apply their gains again
    ++report.channels;
  }
  for (const auto& [booth, config] : record.booths)
    if (booths_.count(booth)) booths_[booth].config = config;
  // The floor's ingests keep their ports, SSRCs and keys: the sound desk goes on sending.
  if (!std::holds_alternative<NoSource>(record.floor_source)) {
    auto spec = [](const FloorSource& source, const std::optional<IngestInfo>& ingest) {
      FloorSpec f{source, std::nullopt, 0, 0};
      if (ingest) f = FloorSpec{source, ingest->srtp, ingest->ssrc, ingest->endpoint.port};
      return f;
    };
    FloorSpec primary = spec(record.floor_source, record.floor_ingest);
    FloorSpec backup = spec(record.floor_backup, record.floor_backup_ingest);
    Status installed = InstallFloor(primary, backup, record.floor_select);
    if (!installed.ok() && (primary.port || backup.port)) {
      report.problems.push_back("floor ingest ports " + std::to_string(primary.port) + "/" +
                                std::to_string(backup.port) + ": " + installed.message() +
                                "; the floor now has new ports");
      primary.port = backup.port = 0;
      installed = InstallFloor(primary, backup, record.floor_select);
    }
    if (installed.ok())
      ApplyFloor();
    else
      report.problems.push_back("floor source: " + installed.message());
  }
  interlock_ = record.interlock;
  on_air_ = record.on_air;
  recorded_ = record.recorded;
  for (const auto& c : record.consoles) RestoreConsole(c, report);
  for (const auto& [over, held] : record.held)
    if (consoles_.count(over) && consoles_.count(held)) held_[over] = held;
  for (const auto& sg : record.groups) {
    if (!channels_.count(sg.channel)) continue;
    GroupState g;
    g.media_id = sg.media_id;
    g.group = sg.group;
    g.ssrc = sg.stream.ssrc;
    g.key = sg.stream.key;
    g.key_id = sg.stream.key_id;
    g.key_since = Now();
    g.anchor = sg.stream.anchor;
    auto added = media_->AddListener(StreamSpec(g.media_id, sg.channel, g.group, g.key, g.ssrc, g.anchor, true));
    if (!added.ok()) {
      report.problems.push_back("multicast group " + sg.group.host + ": " + added.status().message());
      continue;
    }
    g.stream = std::move(added).value();
    g.send = g.stream->send();
    groups_.emplace(sg.channel, std::move(g));
  }
  for (const auto& l : listeners) RestoreListener(l, report);
  // A recording that was on goes on in a new file.
  for (const auto& [channel, segment_s] : record.recordings) {
    if (!channels_.count(channel)) continue;
    if (Status s = StartRecordingLocked(channel, segment_s, "restored"); !s.ok())
      report.problems.push_back("recording of channel " + channel + ": " + s.message());
  }
  for (const auto& name : channel_order_) ApplyMix(name);
  Replan();
  saving_ = true;
  return report;
}

void Session::RestoreConsole(const StoredConsole& stored, RestoreReport& report) {
  const ConsoleView& v = stored.view;
  if (!booths_.count(v.booth) || !channels_.count(v.output_channel)) {
    report.problems.push_back("console " + v.id + ": its booth or channel is gone");
    return;
  }
  ConsoleState c;
  c.view = v;
  c.owner = stored.owner;
  const SrtpKeying key = stored.ingest.srtp.value_or(SrtpKeying{});
  const LinkCallback on_link = ConsoleLinkCallback(v.id);
  auto input =
      media_->AddConsole(v.id, OutputsOf(v.booth), key, stored.ingest.ssrc, on_link, stored.ingest.endpoint.port);
  if (!input.ok() && stored.ingest.endpoint.port != 0) {
    report.problems.push_back("console " + v.id + " ingest port " + std::to_string(stored.ingest.endpoint.port) + ": " +
                              input.status().message() + "; it now has a new port");
    input = media_->AddConsole(v.id, OutputsOf(v.booth), key, stored.ingest.ssrc, on_link, 0);
  }
  if (!input.ok()) {
    report.problems.push_back("console " + v.id + ": " + input.status().message());
    return;
  }
  c.input = std::move(input).value();
  c.saved_roc = key.roc;
  if (stored.return_stream && stored.return_endpoint) {
    ListenerView r;
    r.id = "r-" + v.id;
    r.channel = v.effective_input;
    r.endpoint = *stored.return_endpoint;
    r.ssrc = stored.return_stream->ssrc;
    r.srtp = stored.return_stream->key;
    r.key_id = stored.return_stream->key_id;
    c.return_anchor = stored.return_stream->anchor;
    auto stream = media_->AddListener(StreamSpec(r.id, r.channel, r.endpoint, r.srtp, r.ssrc, c.return_anchor, true));
    if (stream.ok()) {
      c.return_stream = std::move(stream).value();
      r.send = c.return_stream->send();
      c.return_feed = r;
    } else {
      report.problems.push_back("console " + v.id + " return feed: " + stream.status().message());
      c.view.return_ssrc = 0;
    }
  }
  if (c.view.mic != MicState::kOff) {
    ChannelState& ch = channels_.at(c.view.output_channel);
    if (!ch.live_console) ch.live_console = c.view.id;
  }
  consoles_[v.id] = std::move(c);
  ++report.consoles;
}

void Session::RestoreListener(const ListenerRecord& stored, RestoreReport& report) {
  ListenerView l = stored.view;
  if (!channels_.count(l.channel)) {
    report.problems.push_back("listener " + l.id + ": channel " + l.channel + " is gone");
    return;
  }
  std::unique_ptr<ListenerStream> stream;
  if (l.transport == Transport::kMulticast) {
    auto g = groups_.find(l.channel);
    if (g == groups_.end()) {
      report.problems.push_back("listener " + l.id + ": its multicast group did not come back");
      return;
    }
    g->second.members.push_back(l.id);
    l.send = g->second.send;
    l.endpoint = g->second.group;
    l.ssrc = g->second.ssrc;
    l.srtp = g->second.key;
    l.key_id = g->second.key_id;
  } else {
    auto added = media_->AddListener(StreamSpec(l.id, l.channel, l.endpoint, l.srtp, l.ssrc, stored.anchor, true));
    if (!added.ok()) {
      report.problems.push_back("listener " + l.id + ": " + added.status().message());
      return;
    }
    stream = std::move(added).value();
    l.send = stream->send();
    if (l.interpretation_percent != 100) stream->SetBalance(l.interpretation_percent);
  }
  const auto now = Now();
  ListenerState& state = listeners_[l.id];
  state = ListenerState{l, std::move(stream), now, now, std::nullopt, now, 0};
  state.anchor = stored.anchor;
  if (ports_.listener_budget && l.transport == Transport::kUnicast) state.slot = ports_.listener_budget->Force();
  ++channels_[l.channel].listeners;
  ++report.listeners;
}

}  // namespace tilmash::domain
