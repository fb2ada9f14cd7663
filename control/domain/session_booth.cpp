// Booth rules of Session: consoles, mics and interlock, handover, relay, retour, messages.
#include <algorithm>

#include "domain/language.h"
#include "domain/session.h"

namespace tilmash::domain {

namespace {
std::string SlotName(OutputSlot s) { return s == OutputSlot::kA ? "A" : s == OutputSlot::kB ? "B" : "C"; }
bool IsWriter(MicState m) { return m != MicState::kOff; }
}  // namespace

std::chrono::steady_clock::time_point Session::Now() const {
  return ports_.clock ? ports_.clock->Now() : std::chrono::steady_clock::now();
}

Result<Session::ConsoleState*> Session::FindConsole(const ConsoleId& id, const char* field) {
  if (id.empty()) return InvalidArgument(std::string(field) + " is empty");
  auto it = consoles_.find(id);
  if (it == consoles_.end()) return NotFound(std::string(field) + ": no console " + Quoted(id) + " in session " + id_);
  return &it->second;
}

std::optional<ChannelName> Session::SlotChannel(const std::string& booth, OutputSlot slot) const {
  const auto& cfg = booths_.at(booth).config;
  if (slot == OutputSlot::kA) return booth;
  return slot == OutputSlot::kB ? cfg.b : cfg.c;
}

std::vector<ChannelName> Session::OutputsOf(const std::string& booth) const {
  std::vector<ChannelName> out{booth};
  const auto& cfg = booths_.at(booth).config;
  if (cfg.b) out.push_back(*cfg.b);
  if (cfg.c) out.push_back(*cfg.c);
  return out;
}

void Session::ApplyMix(const ChannelName& channel) {
  if (channel == kFloorChannel || !media_) return;
  const ChannelState& ch = channels_.at(channel);
  // A live console whose link is lost leaves its channel to the floor (no dead air).
  const auto writer = ch.live_console ? consoles_.find(*ch.live_console) : consoles_.end();
  const bool interpreted = writer != consoles_.end() && !writer->second.view.link_lost;
  ChannelMix mix;
  mix.floor_gain_db = interpreted ? ch.duck_db : 0.0;
  mix.loudness_target_lufs = loudness_target_lufs_;
  for (const auto& [id, c] : consoles_) {
    const auto outs = OutputsOf(c.view.booth);
    if (std::find(outs.begin(), outs.end(), channel) == outs.end()) continue;
    const bool open = c.view.output_channel == channel && c.view.mic == MicState::kLive && !c.view.link_lost;
    mix.console_gain_db.emplace_back(c.input.get(), open ? 0.0 : kSilenceDb);
  }
  media_->SetChannelMix(channel, mix);
}

RelayInputs Session::RelaySnapshot() const {
  RelayInputs in;
  in.floor_language = floor_language_;
  for (const auto& [name, ch] : channels_)
    if (name != kFloorChannel) in.channels.insert(name);
  for (const auto& [lang, b] : booths_) in.booths[lang] = RelayBooth{b.config.b, b.config.c, b.config.takes};
  for (const auto& [id, c] : consoles_)
    in.consoles.push_back(RelayConsole{id, c.view.booth, c.view.output_channel, IsWriter(c.view.mic), c.view.input});
  return in;
}

Status Session::CheckNoLoop(const RelayInputs& proposed, const char* field) const {
  auto plan = PlanRelay(proposed);
  if (!plan.loop.empty())
    return FailedPrecondition(std::string(field) + ": that would make a relay loop (" + DescribeLoop(plan.loop) + ")");
  return Status::Ok();
}

void Session::Replan() {
  plan_ = PlanRelay(RelaySnapshot());
  for (auto& [id, c] : consoles_) {
    const ChannelName& eff = plan_.effective_input[id];
    if (eff == c.view.effective_input) continue;
    c.view.effective_input = eff;
    if (c.return_stream) {
      c.return_stream->Switch(eff);
      c.return_feed->channel = eff;
    }
  }
  EmitBooths();
}

void Session::EmitBooths() {
  for (const auto& [lang, b] : booths_) Emit(BoothChanged{lang});
}

BoothView Session::BoothViewOf(const std::string& booth) const {
  BoothView v;
  v.language = booth;
  const auto& cfg = booths_.at(booth).config;
  v.b = cfg.b;
  v.c = cfg.c;
  v.takes = cfg.takes;
  for (const auto& [id, c] : consoles_)
    if (c.view.booth == booth) v.consoles.push_back(c.view);
  for (const auto& ch : OutputsOf(booth)) {
    if (auto h = handovers_.find(ch); h != handovers_.end()) {
      v.handover_from = h->second.from;
      v.handover_to = h->second.to;
    }
  }
  v.on_air = on_air_;
  // The technician's flag (an outside recorder), or our recorder of the booth's A channel.
  v.recorded = recorded_;
  if (auto r = recordings_.find(booth); r != recordings_.end() && !r->second.handle->Status().failed) v.recorded = true;
  v.interlock = interlock_;
  for (const auto& ch : OutputsOf(booth)) v.channels.push_back(ViewOf(ch));
  for (const auto& m : messages_)
    if (m.to == "booth:" + booth) v.messages.push_back(m);
  if (v.messages.size() > kMessagesKept) v.messages.erase(v.messages.begin(), v.messages.end() - kMessagesKept);
  return v;
}

Result<BoothView> Session::Booth(const std::string& booth) const {
  Lock lock(*this);
  if (booth == kFloorChannel || !IsValidLanguageTag(booth))
    return InvalidArgument("booth " + Quoted(booth) + " is not a language");
  auto b = CanonicalLanguageTag(booth);
  if (!booths_.count(b)) return NotFound("booth: session " + id_ + " has no booth '" + b + "'");
  return BoothViewOf(b);
}

Result<BoothView> Session::ConfigureBooth(const std::string& booth_in, const BoothConfig& config) {
  Lock lock(*this);
  auto found = FindChannel(booth_in, "booth");
  if (!found.ok()) return found.status();
  const std::string booth = found.value();
  if (booth == kFloorChannel) return InvalidArgument("booth: a booth works into a language, not the floor");
  BoothConfig next;
  for (auto [slot, field, target] : {std::tuple{config.b, "retour_b", &next.b}, {config.c, "retour_c", &next.c}}) {
    if (!slot || slot->empty()) continue;
    auto ch = FindChannel(*slot, field);
    if (!ch.ok()) return ch.status();
    if (ch.value() == kFloorChannel || ch.value() == booth)
      return InvalidArgument(std::string(field) + " must be another language channel");
    *target = ch.value();
  }
  if (next.b && next.c && *next.b == *next.c) return InvalidArgument("retour_c must differ from retour_b");
  if (next.c && !next.b) return InvalidArgument("retour_c needs retour_b");
  for (const auto& t : config.takes) {
    if (!IsValidLanguageTag(t)) return InvalidArgument("takes: " + Quoted(t) + " is not a BCP-47 language tag");
    next.takes.push_back(CanonicalLanguageTag(t));
  }
  for (const auto& [id, c] : consoles_) {
    if (c.view.booth != booth || c.view.output_slot == OutputSlot::kA) continue;
    const auto& still = c.view.output_slot == OutputSlot::kB ? next.b : next.c;
    if (still != c.view.output_channel)
      return FailedPrecondition("console " + id + " works on " + SlotName(c.view.output_slot) + " (" +
                                c.view.output_channel + "): switch it to A first");
  }
  const auto before = OutputsOf(booth);
  booths_[booth].config = next;
  const auto after = OutputsOf(booth);
  for (auto& [id, c] : consoles_)
    if (c.view.booth == booth) c.input->SetOutputs(after);
  for (const auto* list : {&before, &after})
    for (const auto& ch : *list) ApplyMix(ch);
  Replan();
  if (Status saved = Save(); !saved.ok()) return saved;
  return BoothViewOf(booth);
}

Status Session::SetInterlockMode(InterlockMode mode) {
  Lock lock(*this);
  interlock_ = mode;
  EmitBooths();
  return Save();
}

Status Session::SetBroadcastState(bool on_air, bool recorded) {
  Lock lock(*this);
  on_air_ = on_air;
  recorded_ = recorded;
  EmitBooths();
  return Save();
}

Result<JoinedConsole> Session::JoinConsole(const ConsoleRequest& req) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  if (req.booth == kFloorChannel) return InvalidArgument("booth: a booth works into a language, not the floor");
  auto found = FindChannel(req.booth, "booth");
  if (!found.ok()) return found.status();
  const ChannelName booth = found.value();
  if (req.return_endpoint) {
    if (auto bad = CheckUnicast(*req.return_endpoint, "return_endpoint"); !bad.ok()) return bad;
    const auto where = req.return_endpoint->host + ":" + std::to_string(req.return_endpoint->port);
    for (const auto& [id, c] : consoles_)
      if (c.return_feed && c.return_feed->endpoint == *req.return_endpoint)
        return AlreadyExists("return_endpoint: " + where + " already receives the return feed of console " + id);
    for (const auto& [id, l] : listeners_)
      if (l.view.transport == Transport::kUnicast && l.view.endpoint == *req.return_endpoint)
        return AlreadyExists("return_endpoint: " + where + " already receives listener " + id);
  }
  int in_booth = 0;
  for (const auto& [id, c] : consoles_) in_booth += c.view.booth == booth;
  if (in_booth >= kMaxConsolesPerBooth)
    return ResourceExhausted("booth '" + booth + "' already has " + std::to_string(kMaxConsolesPerBooth) + " consoles");
  ConsoleState c;
  c.owner = req.owner;
  c.view.id = ports_.keys->NewId("c-");
  c.view.booth = booth;
  c.view.name = req.name.empty() ? booth + "-" + std::to_string(in_booth + 1) : req.name;
  if (c.view.name.size() > 100) return InvalidArgument("name is longer than 100 characters");
  c.view.output_channel = booth;
  SrtpKeying key = ports_.keys->NewKey(CryptoSuite::kAesCm128HmacSha1_80);
  // Its ingest and return feed keep their SSRC, keys and ports across a restart.
  auto input =
      media_->AddConsole(c.view.id, OutputsOf(booth), key, ports_.keys->NewSsrc(), ConsoleLinkCallback(c.view.id));
  if (!input.ok()) return input.status();
  c.input = std::move(input).value();
  if (req.return_endpoint) {
    ListenerView r;
    r.id = "r-" + c.view.id;
    r.channel = kFloorChannel;
    r.endpoint = *req.return_endpoint;
    r.ssrc = ports_.keys->NewSsrc();
    r.srtp = ports_.keys->NewKey(CryptoSuite::kAesCm128HmacSha1_80);
    c.return_anchor = NewAnchor();
    auto stream = media_->AddListener(StreamSpec(r.id, r.channel, r.endpoint, r.srtp, r.ssrc, c.return_anchor, false));
    if (!stream.ok()) return Status(stream.status().code(), "return_" + stream.status().message());
    c.return_stream = std::move(stream).value();
    r.send = c.return_stream->send();
    c.return_anchor.frame_ms = r.send.frame_ms;
    c.return_anchor.frame_us = r.send.frame_us;
    c.return_feed = r;
    c.view.return_ssrc = r.ssrc;
  }
  const ConsoleId id = c.view.id;
  consoles_[id] = std::move(c);
  for (const auto& ch : OutputsOf(booth)) ApplyMix(ch);
  Replan();
  if (Status saved = Save(); !saved.ok()) {
    (void)LeaveConsoleLocked(id);
    return Status(saved.code(), "the console was not saved, so it did not join: " + saved.message());
  }
  const ConsoleState& added = consoles_.at(id);
  return JoinedConsole{added.view, added.input->ingest(), added.return_feed};
}

LinkCallback Session::ConsoleLinkCallback(const ConsoleId& id) {
  return [session = weak_from_this(), id](bool up) {
    if (auto s = session.lock()) s->ConsoleLink(id, up);
  };
}

void Session::ConsoleLink(const ConsoleId& console, bool up) {
  Lock lock(*this);
  auto it = consoles_.find(console);
  if (ended_ || it == consoles_.end() || it->second.view.link_lost == !up) return;
  ConsoleView& v = it->second.view;
  v.link_lost = !up;
  for (const auto& ch : OutputsOf(v.booth)) ApplyMix(ch);
  Emit(ConsoleLinkChanged{v.id, v.booth, v.output_channel, v.mic, v.link_lost});
  Emit(BoothChanged{v.booth});
}

Status Session::LeaveConsole(const ConsoleId& console) {
  Lock lock(*this);
  return LeaveConsoleLocked(console);
}

Status Session::LeaveConsoleLocked(const ConsoleId& console) {
  auto found = FindConsole(console);
  if (!found.ok()) return found.status();
  ConsoleState& c = *found.value();
  SetMicLocked(c, MicState::kOff);
  for (auto it = held_.begin(); it != held_.end();) it = it->second == console ? held_.erase(it) : std::next(it);
  for (auto it = handovers_.begin(); it != handovers_.end();)
    it = it->second.to == console || it->second.from == console ? handovers_.erase(it) : std::next(it);
  const auto outs = OutputsOf(c.view.booth);
  consoles_.erase(console);  // its ingest and return feed stop here
  for (const auto& ch : outs) ApplyMix(ch);
  Replan();
  return Save();
}

void Session::SetMicLocked(ConsoleState& c, MicState next, bool restore_held) {
  if (c.view.mic == next) return;
  const ChannelName channel = c.view.output_channel;
  ChannelState& ch = channels_.at(channel);
  const bool was_writer = ch.live_console == c.view.id;
  c.view.mic = next;
  if (next != MicState::kOff) {
    ch.live_console = c.view.id;
    c.view.held = false;
  } else if (was_writer) {
    ch.live_console.reset();
    handovers_.erase(channel);
    // Toggle-override: the console this one overrode gets the channel back.
    if (auto h = held_.find(c.view.id); restore_held && h != held_.end()) {
      auto back = consoles_.find(h->second);
      held_.erase(h);
      if (back != consoles_.end() && back->second.view.held && back->second.view.output_channel == channel) {
        back->second.view.held = false;
        back->second.view.mic = MicState::kLive;
        ch.live_console = back->first;
        Emit(MicChanged{back->first, channel, MicState::kLive});
      }
    }
  }
  Emit(MicChanged{c.view.id, channel, next});
  if (was_writer != (ch.live_console == c.view.id)) Emit(ChannelSourceChanged{channel, ch.live_console});
}

Result<ConsoleView> Session::SetMic(const ConsoleId& console, bool live) {
  Lock lock(*this);
  auto found = FindConsole(console);
  if (!found.ok()) return found.status();
  ConsoleState& c = *found.value();
  if (!live) {
    if (c.view.held) {  // a held console that gives up its claim
      c.view.held = false;
      for (auto it = held_.begin(); it != held_.end();) it = it->second == console ? held_.erase(it) : std::next(it);
    }
    SetMicLocked(c, MicState::kOff);
  } else if (c.view.mic == MicState::kOff) {
    auto proposed = RelaySnapshot();
    for (auto& rc : proposed.consoles)
      if (rc.id == console) rc.live = true;
    // The writer that would be displaced is not live in the proposal either.
    const auto writer = channels_.at(c.view.output_channel).live_console;
    for (auto& rc : proposed.consoles)
      if (writer && rc.id == *writer) rc.live = false;
    if (Status s = CheckNoLoop(proposed, "live"); !s.ok()) return s;
    if (writer && *writer != console) {
      ConsoleState& w = consoles_.at(*writer);
      switch (interlock_) {
        case InterlockMode::kInterlock:
          return FailedPrecondition("channel '" + c.view.output_channel + "' is engaged by console " + *writer +
                                    " (interlock)");
        case InterlockMode::kOverride:
          SetMicLocked(w, MicState::kOff, /*restore_held=*/false);
          break;
        case InterlockMode::kToggleOverride:
          SetMicLocked(w, MicState::kOff, /*restore_held=*/false);
          w.view.held = true;
          held_[console] = *writer;
          break;
      }
    }
    SetMicLocked(c, MicState::kLive);
  }
  ApplyMix(c.view.output_channel);
  Replan();
  if (Status saved = Save(); !saved.ok()) return saved;
  return c.view;
}

Result<ConsoleView> Session::Cough(const ConsoleId& console, bool muted) {
  Lock lock(*this);
  auto found = FindConsole(console);
  if (!found.ok()) return found.status();
  ConsoleState& c = *found.value();
  if (c.view.mic == MicState::kOff) return c.view;  // nothing on air to mute
  SetMicLocked(c, muted ? MicState::kMuted : MicState::kLive);
  ApplyMix(c.view.output_channel);
  EmitBooths();
  if (Status saved = Save(); !saved.ok()) return saved;
  return c.view;
}

Result<ConsoleView> Session::SelectOutput(const ConsoleId& console, OutputSlot slot) {
  Lock lock(*this);
  auto found = FindConsole(console);
  if (!found.ok()) return found.status();
  ConsoleState& c = *found.value();
  auto target = SlotChannel(c.view.booth, slot);
  if (!target) return FailedPrecondition("output: booth '" + c.view.booth + "' has no " + SlotName(slot) + " channel");
  if (*target == c.view.output_channel) return c.view;
  const ChannelName from = c.view.output_channel;
  const MicState mic = c.view.mic;
  if (IsWriter(mic)) {
    // A live console carries its mic to the new channel, under the same interlock rule.
    const auto writer = channels_.at(*target).live_console;
    if (writer) return FailedPrecondition("output: channel '" + *target + "' is engaged by console " + *writer);
    auto proposed = RelaySnapshot();
    for (auto& rc : proposed.consoles)
      if (rc.id == console) rc.output = *target;
    if (Status s = CheckNoLoop(proposed, "output"); !s.ok()) return s;
    SetMicLocked(c, MicState::kOff);
  }
  for (auto it = handovers_.begin(); it != handovers_.end();)  // a partner who moves gives up the request
    it = it->second.to == console ? handovers_.erase(it) : std::next(it);
  c.view.output_channel = *target;
  c.view.output_slot = slot;
  if (IsWriter(mic)) SetMicLocked(c, mic);
  ApplyMix(from);
  ApplyMix(*target);
  Replan();
  if (Status saved = Save(); !saved.ok()) return saved;
  return c.view;
}

Result<ConsoleView> Session::SelectInput(const ConsoleId& console, const InputSelection& input) {
  Lock lock(*this);
  auto found = FindConsole(console);
  if (!found.ok()) return found.status();
  ConsoleState& c = *found.value();
  InputSelection next = input;
  if (input.kind == InputSelection::Kind::kChannel) {
    auto ch = FindChannel(input.channel, "input.channel");
    if (!ch.ok()) return ch.status();
    next.channel = ch.value();
    if (next.channel == kFloorChannel)
      next = InputSelection{InputSelection::Kind::kFloor, ""};
    else if (next.channel == c.view.output_channel)
      return FailedPrecondition("input.channel: a console cannot relay its own output '" + next.channel + "'");
  } else {
    next.channel.clear();
  }
  auto proposed = RelaySnapshot();
  for (auto& rc : proposed.consoles)
    if (rc.id == console) rc.input = next;
  if (Status s = CheckNoLoop(proposed, "input.channel"); !s.ok()) return s;
  c.view.input = next;
  Replan();
  if (Status saved = Save(); !saved.ok()) return saved;
  return c.view;
}

Status Session::RequestHandover(const ConsoleId& requester) {
  Lock lock(*this);
  auto found = FindConsole(requester);
  if (!found.ok()) return found.status();
  ConsoleState& r = *found.value();
  const ChannelName channel = r.view.output_channel;
  const auto writer = channels_.at(channel).live_console;
  if (!writer) return FailedPrecondition("console_id: channel '" + channel + "' has nobody live: switch the mic on");
  if (*writer == requester) return FailedPrecondition("console_id: " + requester + " is already live");
  if (handovers_.count(channel))
    return FailedPrecondition("console_id: a handover on '" + channel + "' is already pending");
  handovers_[channel] = PendingHandover{*writer, requester, Now()};
  Emit(HandoverChanged{HandoverChanged::What::kRequested, *writer, requester, channel});
  EmitBooths();
  return Status::Ok();
}

Status Session::AcceptHandover(const ConsoleId& live_console) {
  Lock lock(*this);
  auto found = FindConsole(live_console);
  if (!found.ok()) return found.status();
  ConsoleState& w = *found.value();
  const ChannelName channel = w.view.output_channel;
  auto h = handovers_.find(channel);
  if (h == handovers_.end() || h->second.from != live_console)
    return FailedPrecondition("console_id: no handover request is pending for " + live_console);
  const PendingHandover pending = h->second;
  handovers_.erase(h);
  if (Now() - pending.requested > kHandoverTimeout) {
    Emit(HandoverChanged{HandoverChanged::What::kExpired, pending.from, pending.to, channel});
    EmitBooths();
    return FailedPrecondition("console_id: the handover request expired");
  }
  auto partner = consoles_.find(pending.to);
  if (partner == consoles_.end() || partner->second.view.output_channel != channel) {
    Emit(HandoverChanged{HandoverChanged::What::kDeclined, pending.from, pending.to, channel});
    EmitBooths();
    return FailedPrecondition("console_id: the partner no longer works on channel '" + channel + "'");
  }
  ConsoleState& next = partner->second;
  auto proposed = RelaySnapshot();
  for (auto& rc : proposed.consoles) rc.live = rc.id == pending.to ? true : rc.id == pending.from ? false : rc.live;
  if (Status s = CheckNoLoop(proposed, "console_id"); !s.ok()) return s;
  // One mix change for both: the gain ramps cross at the same instant - no gap, no overlap.
  SetMicLocked(w, MicState::kOff);
  SetMicLocked(next, MicState::kLive);
  ApplyMix(channel);
  Emit(HandoverChanged{HandoverChanged::What::kAccepted, pending.from, pending.to, channel});
  Replan();
  return Save();
}

Status Session::DeclineHandover(const ConsoleId& live_console) {
  Lock lock(*this);
  auto found = FindConsole(live_console);
  if (!found.ok()) return found.status();
  const ChannelName channel = found.value()->view.output_channel;
  auto h = handovers_.find(channel);
  if (h == handovers_.end() || h->second.from != live_console)
    return FailedPrecondition("console_id: no handover request is pending for " + live_console);
  Emit(HandoverChanged{HandoverChanged::What::kDeclined, h->second.from, h->second.to, channel});
  handovers_.erase(h);
  EmitBooths();
  return Status::Ok();
}

void Session::Tick() {
  Lock lock(*this);
  const auto now = Now();
  bool changed = false;
  for (auto it = handovers_.begin(); it != handovers_.end();) {
    if (now - it->second.requested > kHandoverTimeout) {
      Emit(HandoverChanged{HandoverChanged::What::kExpired, it->second.from, it->second.to, it->first});
      it = handovers_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) EmitBooths();
  if (ended_) return;
  TickListeners(now);
  TickViewers(now);
  TickRecordings();
  TickInputs(now);
  // An ingest whose SRTP rollover counter moved on (every 65,536 packets) is saved, so a
  // restart resumes it with the right ROC.
  for (const auto& [id, c] : consoles_)
    if (c.input->ingest().srtp && c.input->Counters().roc != c.saved_roc) {
      (void)Save();  // a failure is the store's to log; the next tick tries again
      break;
    }
}

Status Session::SendMessage(const Message& in) {
  Lock lock(*this);
  Message m = in;
  m.time = std::chrono::system_clock::now();
  if (m.text.size() > 500) return InvalidArgument("text is longer than 500 characters");
  auto from_console = [&](const char* what) -> Result<ConsoleState*> {
    auto c = FindConsole(m.from, "from");
    if (!c.ok()) return Status(c.status().code(), c.status().message() + " (" + what + " comes from a console)");
    return c;
  };
  switch (m.kind) {
    case MessageKind::kSlowDown: {
      auto c = from_console("slow-down");
      if (!c.ok()) return c.status();
      m.from = "booth:" + c.value()->view.booth;  // anonymous: the chair sees the booth, not who
      m.to = "chair";
      break;
    }
    case MessageKind::kCallTechnician: {
      auto c = from_console("call-technician");
      if (!c.ok()) return c.status();
      m.to = "technician";
      break;
    }
    case MessageKind::kText: {
      if (m.text.empty()) return InvalidArgument("text is empty");
      const bool staff = m.from == "chair" || m.from == "technician";
      if (!staff) {
        auto c = from_console("text");
        if (!c.ok()) return c.status();
      }
      if (m.to == "chair" || m.to == "technician") break;
      if (!staff) return InvalidArgument("to: a console writes to 'chair' or 'technician'");
      const std::string prefix = "booth:";
      if (m.to.rfind(prefix, 0) != 0) return InvalidArgument("to must be 'chair', 'technician' or 'booth:<language>'");
      std::string lang = m.to.substr(prefix.size());
      if (!IsValidLanguageTag(lang) || !booths_.count(CanonicalLanguageTag(lang)))
        return NotFound("to: no booth " + Quoted(lang));
      m.to = prefix + CanonicalLanguageTag(lang);
      break;
    }
  }
  messages_.push_back(m);
  while (messages_.size() > kMessagesKept * 4) messages_.pop_front();
  Emit(MessageSent{m});
  if (m.to.rfind("booth:", 0) == 0) Emit(BoothChanged{m.to.substr(6)});
  return Status::Ok();
}

}  // namespace tilmash::domain
