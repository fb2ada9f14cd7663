// Listeners of a session: unicast streams (each its own key and SSRC) and members of a
// channel's venue multicast group (one stream, one group key), their leases and key rotation.
#include <algorithm>
#include <cstdio>

#include "domain/session.h"

namespace tilmash::domain {

namespace {
std::optional<uint32_t> ParseIpv4(const std::string& s) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(s.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 || d > 255)
    return std::nullopt;
  return a << 24 | b << 16 | c << 8 | d;
}
std::string FormatIpv4(uint32_t v) {
  return std::to_string(v >> 24) + "." + std::to_string(v >> 16 & 255) + "." + std::to_string(v >> 8 & 255) + "." +
         std::to_string(v & 255);
}
std::string Describe(const Endpoint& e) { return e.host + ":" + std::to_string(e.port); }
}  // namespace

Status Session::CheckUnicast(const Endpoint& e, const std::string& field) {
  if (e.host.empty()) return InvalidArgument(field + ".host is empty");
  if (e.port == 0) return InvalidArgument(field + ".port must be between 1 and 65535");
  const auto ip = ParseIpv4(e.host);
  if (!ip) return InvalidArgument(field + ".host " + Quoted(e.host) + " is not an IPv4 address");
  // A stream keyed for one listener must not go to a group (the venue's groups carry group keys).
  if ((*ip >> 28) == 0xE || *ip == 0xFFFFFFFF)
    return InvalidArgument(field + ".host " + e.host +
                           " is a multicast or broadcast address; a unicast stream needs the receiver's own address "
                           "(venue multicast: transport MULTICAST)");
  return Status::Ok();
}

Result<Endpoint> Session::GroupEndpoint(const ChannelName&) const {
  const auto base = ParseIpv4(policy_.multicast_group);
  if (!base || (*base >> 28) != 0xE)
    return FailedPrecondition("transport: this node has no venue multicast configured");
  // The lowest group not used by another channel's group.
  for (uint32_t offset = 0; offset < 256; ++offset) {
    Endpoint e{FormatIpv4(*base + offset), policy_.multicast_port};
    const bool used = std::any_of(groups_.begin(), groups_.end(), [&](const auto& g) { return g.second.group == e; });
    if (!used) return e;
  }
  return ResourceExhausted("transport: no free multicast group");
}

uint32_t Session::StreamsOf(const std::string& owner) const {
  uint32_t n = 0;
  for (const auto& [id, l] : listeners_) n += l.view.owner == owner;
  for (const auto& [id, v] : viewers_) n += v.owner == owner;
  return n;
}

Status Session::UnknownListener(const ListenerId& id) const {
  if (auto e = ended_listeners_.find(id); e != ended_listeners_.end()) {
    const auto ago = std::chrono::duration_cast<std::chrono::seconds>(Now() - e->second.when).count();
    return NotFound("listener_id: listener " + id + " ended " + std::to_string(ago) + " s ago (" + e->second.reason +
                    ")");
  }
  return NotFound("listener_id: no listener " + Quoted(id) + " in session " + id_);
}

void Session::Remember(const ListenerId& id, const std::string& reason) {
  const auto now = Now();
  for (auto it = ended_listeners_.begin(); it != ended_listeners_.end();)
    it = now - it->second.when > kEndedKept ? ended_listeners_.erase(it) : std::next(it);
  if (ended_listeners_.size() >= kEndedKeptMax) {
    auto oldest = std::min_element(ended_listeners_.begin(), ended_listeners_.end(),
                                   [](const auto& a, const auto& b) { return a.second.when < b.second.when; });
    ended_listeners_.erase(oldest);
  }
  ended_listeners_[id] = Ended{reason, now};
}

Result<ListenerView> Session::Subscribe(const ListenerRequest& req) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  auto found = FindChannel(req.channel, "channel");
  if (!found.ok()) return found.status();
  if (req.transport == Transport::kUnicast) {
    if (auto bad = CheckUnicast(req.endpoint, "endpoint"); !bad.ok()) return bad;
  }
  uint32_t balance = 100;
  if (req.interpretation_percent) {
    if (*req.interpretation_percent > 100)
      return InvalidArgument("interpretation_percent must be between 0 and 100 (100: the channel as is)");
    if (req.transport == Transport::kMulticast && *req.interpretation_percent != 100)
      return InvalidArgument("interpretation_percent: a venue multicast group carries its channel as is");
    balance = (*req.interpretation_percent + 2) / 5 * 5;  // one mix per 5 % step, at most 21 per channel
  }
  // One stream per destination: the same token subscribing again to its own address (an app
  // that restarted and lost its listener id) replaces its old stream; another token's
  // address is refused, naming who has it.
  std::optional<ListenerId> replaced;
  if (req.transport == Transport::kUnicast) {
    for (const auto& [id, l] : listeners_) {
      if (l.view.transport != Transport::kUnicast || !(l.view.endpoint == req.endpoint)) continue;
      if (l.view.owner != req.owner)
        return AlreadyExists("endpoint: " + Describe(req.endpoint) + " already receives listener " + id +
                             " of another token");
      replaced = id;
    }
    for (const auto& [id, c] : consoles_)
      if (c.return_feed && c.return_feed->endpoint == req.endpoint)
        return AlreadyExists("endpoint: " + Describe(req.endpoint) + " already receives the return feed of console " +
                             id);
  }
  if (req.max_streams > 0 && !req.owner.empty() && StreamsOf(req.owner) - (replaced ? 1 : 0) >= req.max_streams)
    return ResourceExhausted("the token allows " + std::to_string(req.max_streams) + " concurrent stream(s)");
  ListenerView l;
  l.id = ports_.keys->NewId("l-");
  l.owner = req.owner;
  l.channel = found.value();
  l.transport = req.transport;
  l.lease = policy_.lease;
  std::unique_ptr<ListenerStream> stream;
  StreamAnchor anchor;
  const bool new_group = req.transport == Transport::kMulticast && !groups_.count(l.channel);
  ListenerBudget::Slot slot;
  if (req.transport == Transport::kMulticast) {
    l.srtp.suite = req.suite;
    auto joined = JoinGroup(l);
    if (!joined.ok()) return joined.status();
    l = joined.value();
  } else {
    // Admission control: past the node's fan-out capacity every listener's packets would come
    // late or not at all, so the next one is refused, naming the limit.
    if (ports_.listener_budget) {
      auto taken = ports_.listener_budget->Take(replaced.has_value());
      if (!taken)
        return ResourceExhausted("max_listeners: this node carries at most " +
                                 std::to_string(ports_.listener_budget->limit()) +
                                 " listener streams (its fan-out capacity); subscribe on another node");
      slot = std::move(*taken);
    }
    l.endpoint = req.endpoint;
    l.ssrc = ports_.keys->NewSsrc();
    l.srtp = ports_.keys->NewKey(req.suite);
    anchor = NewAnchor();
    auto added = media_->AddListener(StreamSpec(l.id, l.channel, l.endpoint, l.srtp, l.ssrc, anchor, false));
    if (!added.ok()) return added.status();
    if (replaced) (void)EndListeners({*replaced}, "replaced by " + l.id + " (subscribed again to the same endpoint)");
    stream = std::move(added).value();
    l.send = stream->send();
    anchor.frame_ms = l.send.frame_ms;
    anchor.frame_us = l.send.frame_us;
    if (balance != 100) {
      stream->SetBalance(balance);
      l.interpretation_percent = balance;
    }
  }
  const auto now = Now();
  listeners_[l.id] = ListenerState{l, std::move(stream), now, now, std::nullopt, now, 0};
  listeners_[l.id].slot = std::move(slot);
  listeners_[l.id].anchor = anchor;
  uint32_t count = ++channels_[l.channel].listeners;
  Emit(ListenerCountChanged{l.channel, count});
  // Saved before it answers; a listener that cannot be saved does not stay (a restart would lose it).
  Status saved = new_group ? Save() : Status::Ok();
  if (saved.ok()) saved = SaveListener(listeners_.at(l.id));
  if (!saved.ok()) {
    (void)EndListeners({l.id}, "not saved");
    return Status(saved.code(), "the listener was not saved, so it was not started: " + saved.message());
  }
  return l;
}

Result<ListenerView> Session::JoinGroup(ListenerView l) {
  auto it = groups_.find(l.channel);
  if (it == groups_.end()) {
    auto where = GroupEndpoint(l.channel);
    if (!where.ok()) return where.status();
    GroupState g;
    g.media_id = ports_.keys->NewId("g-");
    g.group = where.value();
    g.ssrc = ports_.keys->NewSsrc();
    g.key = ports_.keys->NewKey(l.srtp.suite);
    g.key_since = Now();
    g.anchor = NewAnchor();
    auto added = media_->AddListener(StreamSpec(g.media_id, l.channel, g.group, g.key, g.ssrc, g.anchor, false));
    if (!added.ok()) return added.status();
    g.stream = std::move(added).value();
    g.send = g.stream->send();
    g.anchor.frame_ms = g.send.frame_ms;
    g.anchor.frame_us = g.send.frame_us;
    it = groups_.emplace(l.channel, std::move(g)).first;
  } else if (it->second.key.suite != l.srtp.suite) {
    return FailedPrecondition("suite: the channel's multicast group uses the other crypto suite");
  }
  GroupState& g = it->second;
  g.members.push_back(l.id);
  l.send = g.send;
  l.endpoint = g.group;
  l.ssrc = g.ssrc;
  l.srtp = g.key;
  l.srtp.roc = g.stream->Roc();
  l.key_id = g.key_id;
  return l;
}

Status Session::SwitchChannel(const ListenerId& listener, const std::string& channel) {
  Lock lock(*this);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return UnknownListener(listener);
  auto found = FindChannel(channel, "channel");
  if (!found.ok()) return found.status();
  ListenerView& l = it->second.view;
  if (l.transport == Transport::kMulticast)
    return FailedPrecondition("listener_id: a multicast member changes channel by subscribing to the other group");
  if (found.value() == l.channel) return Status::Ok();
  it->second.stream->Switch(found.value());
  const ChannelName old = l.channel;
  l.channel = found.value();
  Emit(ListenerCountChanged{old, --channels_[old].listeners});
  Emit(ListenerCountChanged{l.channel, ++channels_[l.channel].listeners});
  return SaveListener(it->second);
}

Status Session::Unsubscribe(const ListenerId& listener) {
  Lock lock(*this);
  if (!listeners_.count(listener)) return UnknownListener(listener);
  return EndListeners({listener}, "unsubscribed");
}

Status Session::EndListeners(const std::vector<ListenerId>& ids, const std::string& reason) {
  std::vector<ChannelName> regroup;
  Status saved = Status::Ok();
  for (const auto& id : ids) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) continue;
    const ListenerView l = it->second.view;
    listeners_.erase(it);  // a unicast listener's stream stops here
    if (Status s = ForgetListener(id); !s.ok() && saved.ok()) saved = s;
    if (l.transport == Transport::kMulticast) {
      if (auto g = groups_.find(l.channel); g != groups_.end()) {
        auto& m = g->second.members;
        m.erase(std::remove(m.begin(), m.end(), id), m.end());
        if (std::find(regroup.begin(), regroup.end(), l.channel) == regroup.end()) regroup.push_back(l.channel);
      }
    }
    if (reason != "unsubscribed") Remember(id, reason);
    Emit(ListenerEnded{id, l.channel, reason});
    Emit(ListenerCountChanged{l.channel, --channels_[l.channel].listeners});
  }
  for (const auto& channel : regroup) {
    auto g = groups_.find(channel);
    if (g->second.members.empty())
      groups_.erase(g);  // the group's stream stops with its last member
    else
      RotateGroup(g->second, "member left");  // those who left still have the key: the others move to a new one
  }
  if (!regroup.empty())
    if (Status s = Save(); !s.ok() && saved.ok()) saved = s;
  return saved;
}

void Session::RotateListener(ListenerState& l, const std::string& reason) {
  SrtpKeying key = ports_.keys->NewKey(l.view.srtp.suite);
  if (!l.stream->Rekey(key, policy_.key_lead).ok()) return;
  l.view.srtp = key;
  ++l.view.key_id;
  l.key_since = Now();
  (void)SaveListener(l);  // a failure is the store's to log: the key is live, the stream goes on
  Emit(KeyChanged{l.view.id, l.view.key_id, key, l.view.ssrc, policy_.key_lead, reason});
}

void Session::RotateGroup(GroupState& g, const std::string& reason) {
  SrtpKeying key = ports_.keys->NewKey(g.key.suite);
  if (!g.stream->Rekey(key, policy_.key_lead).ok()) return;
  g.key = key;
  ++g.key_id;
  g.key_since = Now();
  for (const auto& id : g.members) {
    auto& member = listeners_.at(id).view;
    member.srtp = key;
    member.key_id = g.key_id;
    Emit(KeyChanged{id, g.key_id, key, g.ssrc, policy_.key_lead, reason});
  }
  (void)Save();  // the group's key is in the session's record; a failure is the store's to log
}

Result<ListenerView> Session::KeepAlive(const ListenerId& listener,
                                        std::optional<std::pair<std::string, uint32_t>> relay) {
  Lock lock(*this);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return UnknownListener(listener);
  it->second.last_seen = Now();
  if (relay) it->second.relay = std::move(relay);
  return it->second.view;
}

Result<KeyChanged> Session::OpenKeyStream(const ListenerId& listener) {
  Lock lock(*this);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return UnknownListener(listener);
  ++it->second.key_streams;
  it->second.last_seen = Now();
  const ListenerView& l = it->second.view;
  return KeyChanged{l.id, l.key_id, l.srtp, l.ssrc, std::chrono::milliseconds(0), "current"};
}

void Session::CloseKeyStream(const ListenerId& listener) {
  Lock lock(*this);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return;
  if (it->second.key_streams > 0) --it->second.key_streams;
  it->second.last_seen = Now();  // the lease runs from the moment the stream closed
}

void Session::TickListeners(std::chrono::steady_clock::time_point now) {
  std::vector<ListenerId> expired, unreachable;
  for (auto& [id, l] : listeners_) {
    if (!l.stream) continue;  // a group member: its group's stream reports below
    const StreamAlerts a = l.stream->TakeAlerts();
    // Drops are raised at most once a second per listener (the tick is faster), with the count.
    l.drops_unreported += a.dropped;
    l.drops_total += a.dropped;
    if (l.drops_unreported > 0 && (!l.drops_reported || now - *l.drops_reported >= std::chrono::seconds(1))) {
      Emit(ListenerDropped{id, l.view.channel, l.drops_unreported, l.drops_total});
      l.drops_unreported = 0;
      l.drops_reported = now;
    }
    if (a.unreachable) {
      if (!l.unreachable_since) l.unreachable_since = now;
      l.unreachable_last = now;
      if (now - *l.unreachable_since >= policy_.unreachable_grace) {
        unreachable.push_back(id);
        continue;
      }
    }
    // Reachable again: ICMP errors come with every packet to a closed port, so a pause in them means it opened.
    if (l.unreachable_since && now - l.unreachable_last > std::chrono::seconds(1)) l.unreachable_since.reset();
    if (a.key_limit)
      RotateListener(l, "packet limit");
    else if (policy_.key_rotation.count() > 0 && now - l.key_since >= policy_.key_rotation)
      RotateListener(l, "period");
  }
  (void)EndListeners(unreachable, "port unreachable");
  for (const auto& [id, l] : listeners_)
    if (policy_.lease.count() > 0 && l.key_streams == 0 && now - l.last_seen > policy_.lease) expired.push_back(id);
  (void)EndListeners(expired, "lease expired");
  for (auto& [channel, g] : groups_) {
    const StreamAlerts a = g.stream->TakeAlerts();
    if (a.key_limit)
      RotateGroup(g, "packet limit");
    else if (policy_.key_rotation.count() > 0 && now - g.key_since >= policy_.key_rotation)
      RotateGroup(g, "period");
  }
}

void Session::RemoveChannelListeners(const ChannelName& name) {
  std::vector<ListenerId> members, viewers;
  for (const auto& [id, v] : viewers_)
    if (v.channel == name) viewers.push_back(id);
  for (const auto& id : viewers) EndViewer(id, "channel removed");
  for (auto& [id, l] : listeners_) {
    if (l.view.channel != name) continue;
    if (l.view.transport == Transport::kMulticast) {
      members.push_back(id);
      continue;
    }
    // Delegates on a removed channel fall back to the original rather than to silence.
    l.stream->Switch(kFloorChannel);
    l.view.channel = kFloorChannel;
    channels_[kFloorChannel].listeners++;
    channels_[name].listeners--;
    (void)SaveListener(l);  // RemoveChannel's own save reports a broken store
  }
  (void)EndListeners(members, "channel removed");
}

uint32_t Session::StopOwnedBy(const std::string& owner) {
  Lock lock(*this);
  std::vector<ListenerId> streams, viewers;
  std::vector<ConsoleId> desks;
  for (const auto& [id, l] : listeners_)
    if (l.view.owner == owner) streams.push_back(id);
  for (const auto& [id, v] : viewers_)
    if (v.owner == owner) viewers.push_back(id);
  for (const auto& [id, c] : consoles_)
    if (c.owner == owner) desks.push_back(id);
  (void)EndListeners(streams, "token revoked");
  for (const auto& id : viewers) EndViewer(id, "token revoked");
  uint32_t stopped = uint32_t(streams.size() + viewers.size());
  for (const auto& id : desks) stopped += LeaveConsoleLocked(id).ok();
  if (!desks.empty()) (void)Save();
  return stopped;
}

std::string Session::OwnerOf(const std::string& id) const {
  Lock lock(*this);
  if (auto l = listeners_.find(id); l != listeners_.end()) return l->second.view.owner;
  if (auto v = viewers_.find(id); v != viewers_.end()) return v->second.owner;
  if (auto c = consoles_.find(id); c != consoles_.end()) return c->second.owner;
  return "";
}

}  // namespace tilmash::domain
