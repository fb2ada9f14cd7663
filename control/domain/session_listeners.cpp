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
}  // namespace

Status Session::CheckUnicast(const Endpoint& e, const std::string& field) {
  if (e.host.empty()) return InvalidArgument(field + ".host is empty");
  if (e.port == 0) return InvalidArgument(field + ".port must be between 1 and 65535");
  // A stream keyed for one listener must not go to a group (the venue's groups carry group keys).
  const auto ip = ParseIpv4(e.host);
  if (ip && ((*ip >> 28) == 0xE || *ip == 0xFFFFFFFF))
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

Result<ListenerView> Session::Subscribe(const ListenerRequest& req) {
  std::lock_guard lock(mu_);
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
  if (req.max_streams > 0 && !req.owner.empty()) {
    uint32_t mine = 0;
    for (const auto& [id, l] : listeners_) mine += l.view.owner == req.owner;
    if (mine >= req.max_streams)
      return ResourceExhausted("the token allows " + std::to_string(req.max_streams) + " concurrent stream(s)");
  }
  ListenerView l;
  l.id = ports_.keys->NewId("l-");
  l.owner = req.owner;
  l.channel = found.value();
  l.transport = req.transport;
  l.lease = policy_.lease;
  if (req.transport == Transport::kMulticast) {
    l.srtp.suite = req.suite;
    auto joined = JoinGroup(l);
    if (!joined.ok()) return joined.status();
    l = joined.value();
  } else {
    l.endpoint = req.endpoint;
    l.ssrc = ports_.keys->NewSsrc();
    l.srtp = ports_.keys->NewKey(req.suite);
    auto send = ports_.media->AddListener(id_, l.id, l.channel, l.endpoint, l.srtp, l.ssrc);
    if (!send.ok()) return send.status();
    l.send = send.value();
    if (balance != 100) {
      if (Status mixed = ports_.media->SetListenerBalance(id_, l.id, balance); !mixed.ok()) {
        ports_.media->RemoveListener(id_, l.id);
        return mixed;
      }
      l.interpretation_percent = balance;
    }
  }
  const auto now = Now();
  listeners_[l.id] = ListenerState{l, now, now, std::nullopt, now};
  uint32_t count = ++channels_[l.channel].listeners;
  Emit(ListenerCountChanged{l.channel, count});
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
    auto send = ports_.media->AddListener(id_, g.media_id, l.channel, g.group, g.key, g.ssrc);
    if (!send.ok()) return send.status();
    l.send = send.value();
    it = groups_.emplace(l.channel, std::move(g)).first;
  } else {
    if (it->second.key.suite != l.srtp.suite)
      return FailedPrecondition("suite: the channel's multicast group uses the other crypto suite");
    l.send = listeners_.at(it->second.members.front()).view.send;
  }
  GroupState& g = it->second;
  g.members.push_back(l.id);
  l.endpoint = g.group;
  l.ssrc = g.ssrc;
  l.srtp = g.key;
  l.srtp.roc = ports_.media->StreamRoc(id_, g.media_id);
  l.key_id = g.key_id;
  return l;
}

Status Session::SwitchChannel(const ListenerId& listener, const std::string& channel) {
  std::lock_guard lock(mu_);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return NotFound("listener_id: no listener '" + listener + "' in session " + id_);
  auto found = FindChannel(channel, "channel");
  if (!found.ok()) return found.status();
  ListenerView& l = it->second.view;
  if (l.transport == Transport::kMulticast)
    return FailedPrecondition("listener_id: a multicast member changes channel by subscribing to the other group");
  if (found.value() == l.channel) return Status::Ok();
  if (Status s = ports_.media->SwitchListener(id_, listener, found.value()); !s.ok()) return s;
  const ChannelName old = l.channel;
  l.channel = found.value();
  Emit(ListenerCountChanged{old, --channels_[old].listeners});
  Emit(ListenerCountChanged{l.channel, ++channels_[l.channel].listeners});
  return Status::Ok();
}

Status Session::Unsubscribe(const ListenerId& listener) {
  std::lock_guard lock(mu_);
  if (!listeners_.count(listener)) return NotFound("listener_id: no listener '" + listener + "' in session " + id_);
  EndListener(listener, "unsubscribed");
  return Status::Ok();
}

void Session::EndListener(const ListenerId& listener, const std::string& reason) {
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return;
  const ListenerView l = it->second.view;
  listeners_.erase(it);
  if (l.transport == Transport::kMulticast) {
    auto g = groups_.find(l.channel);
    if (g != groups_.end()) {
      auto& m = g->second.members;
      m.erase(std::remove(m.begin(), m.end(), listener), m.end());
      if (m.empty()) {
        ports_.media->RemoveListener(id_, g->second.media_id);
        groups_.erase(g);
      } else {
        // The one who left still has the key: the others move to a new one.
        RotateGroup(g->second, "member left");
      }
    }
  } else {
    ports_.media->RemoveListener(id_, listener);
  }
  Emit(ListenerEnded{listener, l.channel, reason});
  Emit(ListenerCountChanged{l.channel, --channels_[l.channel].listeners});
}

void Session::RotateListener(ListenerState& l, const std::string& reason) {
  SrtpKeying key = ports_.keys->NewKey(l.view.srtp.suite);
  if (!ports_.media->RekeyListener(id_, l.view.id, key, policy_.key_lead).ok()) return;
  l.view.srtp = key;
  ++l.view.key_id;
  l.key_since = Now();
  Emit(KeyChanged{l.view.id, l.view.key_id, key, l.view.ssrc, policy_.key_lead, reason});
}

void Session::RotateGroup(GroupState& g, const std::string& reason) {
  SrtpKeying key = ports_.keys->NewKey(g.key.suite);
  if (!ports_.media->RekeyListener(id_, g.media_id, key, policy_.key_lead).ok()) return;
  g.key = key;
  ++g.key_id;
  g.key_since = Now();
  for (const auto& id : g.members) {
    auto& member = listeners_.at(id).view;
    member.srtp = key;
    member.key_id = g.key_id;
    Emit(KeyChanged{id, g.key_id, key, g.ssrc, policy_.key_lead, reason});
  }
}

Result<ListenerView> Session::KeepAlive(const ListenerId& listener) {
  std::lock_guard lock(mu_);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return NotFound("listener_id: no listener '" + listener + "' in session " + id_);
  it->second.last_seen = Now();
  return it->second.view;
}

Result<KeyChanged> Session::CurrentKey(const ListenerId& listener) const {
  std::lock_guard lock(mu_);
  auto it = listeners_.find(listener);
  if (it == listeners_.end()) return NotFound("listener_id: no listener '" + listener + "' in session " + id_);
  const ListenerView& l = it->second.view;
  return KeyChanged{l.id, l.key_id, l.srtp, l.ssrc, std::chrono::milliseconds(0), "current"};
}

void Session::TickListeners(std::chrono::steady_clock::time_point now) {
  const auto alerts = ports_.media->TakeListenerAlerts(id_);
  std::vector<ListenerId> expired, unreachable;
  for (const auto& id : alerts.unreachable) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) continue;
    ListenerState& l = it->second;
    if (!l.unreachable_since) l.unreachable_since = now;
    l.unreachable_last = now;
    if (now - *l.unreachable_since >= policy_.unreachable_grace) unreachable.push_back(id);
  }
  for (const auto& id : unreachable) EndListener(id, "port unreachable");
  for (auto& [id, l] : listeners_) {
    // Reachable again: ICMP errors come with every packet to a closed port, so a pause in them means it opened.
    if (l.unreachable_since && now - l.unreachable_last > std::chrono::seconds(1)) l.unreachable_since.reset();
    if (policy_.lease.count() > 0 && now - l.last_seen > policy_.lease) {
      expired.push_back(id);
      continue;
    }
    if (l.view.transport != Transport::kUnicast) continue;
    const bool at_limit = std::find(alerts.key_limit.begin(), alerts.key_limit.end(), id) != alerts.key_limit.end();
    if (at_limit)
      RotateListener(l, "packet limit");
    else if (policy_.key_rotation.count() > 0 && now - l.key_since >= policy_.key_rotation)
      RotateListener(l, "period");
  }
  for (const auto& id : expired) EndListener(id, "lease expired");
  for (auto& [channel, g] : groups_) {
    const bool at_limit =
        std::find(alerts.key_limit.begin(), alerts.key_limit.end(), g.media_id) != alerts.key_limit.end();
    if (at_limit)
      RotateGroup(g, "packet limit");
    else if (policy_.key_rotation.count() > 0 && now - g.key_since >= policy_.key_rotation)
      RotateGroup(g, "period");
  }
}

Status Session::AddRemoteViewer(const std::string& viewer, const ChannelName& channel) {
  std::lock_guard lock(mu_);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  auto found = FindChannel(channel, "channel");
  if (!found.ok()) return found.status();
  if (!remote_viewers_.emplace(viewer, found.value()).second) return AlreadyExists("viewer " + viewer);
  Emit(ListenerCountChanged{found.value(), ++channels_[found.value()].listeners});
  return Status::Ok();
}

void Session::RemoveRemoteViewer(const std::string& viewer) {
  std::lock_guard lock(mu_);
  auto it = remote_viewers_.find(viewer);
  if (it == remote_viewers_.end()) return;
  const ChannelName channel = it->second;
  remote_viewers_.erase(it);
  auto ch = channels_.find(channel);
  if (ch != channels_.end() && ch->second.listeners > 0) Emit(ListenerCountChanged{channel, --ch->second.listeners});
}

void Session::RemoveChannelListeners(const ChannelName& name) {
  // Its WebRTC viewers end with the channel's media.
  for (auto it = remote_viewers_.begin(); it != remote_viewers_.end();)
    it = it->second == name ? remote_viewers_.erase(it) : std::next(it);
  std::vector<ListenerId> members;
  for (auto& [id, l] : listeners_) {
    if (l.view.channel != name) continue;
    if (l.view.transport == Transport::kMulticast) {
      members.push_back(id);
      continue;
    }
    // Delegates on a removed channel fall back to the original rather than to silence.
    ports_.media->SwitchListener(id_, id, kFloorChannel);
    l.view.channel = kFloorChannel;
    channels_[kFloorChannel].listeners++;
    channels_[name].listeners--;
  }
  for (const auto& id : members) EndListener(id, "channel removed");
}

uint32_t Session::StopOwnedBy(const std::string& owner) {
  std::vector<ConsoleId> desks;
  uint32_t stopped = 0;
  {
    std::lock_guard lock(mu_);
    std::vector<ListenerId> streams;
    for (const auto& [id, l] : listeners_)
      if (l.view.owner == owner) streams.push_back(id);
    for (const auto& id : streams) EndListener(id, "token revoked");
    stopped = uint32_t(streams.size());
    for (const auto& [id, c] : consoles_)
      if (c.owner == owner) desks.push_back(id);
  }
  for (const auto& id : desks) stopped += LeaveConsole(id).ok();
  return stopped;
}

std::string Session::OwnerOf(const std::string& id) const {
  std::lock_guard lock(mu_);
  if (auto l = listeners_.find(id); l != listeners_.end()) return l->second.view.owner;
  if (auto c = consoles_.find(id); c != consoles_.end()) return c->second.owner;
  return "";
}

}  // namespace tilmash::domain
