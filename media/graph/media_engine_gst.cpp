#include "graph/media_engine_gst.h"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

#include "log/log.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;

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
  auto fanout = fanout::FanoutEngine::Create(fo, error);
  if (!fanout) return nullptr;
  return std::unique_ptr<MediaEngineGst>(new MediaEngineGst(config, std::move(fanout)));
}

MediaEngineGst::MediaEngineGst(GraphConfig config, std::unique_ptr<fanout::FanoutEngine> fanout)
    : config_(std::move(config)), fanout_(std::move(fanout)), thread_(std::make_unique<gst::MediaThread>()) {}

MediaEngineGst::~MediaEngineGst() {
  thread_->Invoke([this] { graphs_.clear(); });
  thread_.reset();
}

Status MediaEngineGst::WithGraph(const domain::SessionId& session, const std::function<Status(SessionGraph&)>& fn) {
  Status result;
  thread_->Invoke([&] {
    auto it = graphs_.find(session);
    result = it == graphs_.end() ? domain::NotFound("no media for session " + session) : fn(*it->second);
  });
  return result;
}

fanout::ChannelKey MediaEngineGst::KeyOf(const domain::SessionId& s, const domain::ChannelName& c) {
  std::lock_guard lock(keys_mu_);
  auto [it, inserted] = channel_keys_.try_emplace({s, c}, 0);
  if (inserted) it->second = next_key_++;
  return it->second;
}

Status MediaEngineGst::CreateSession(const domain::SessionId& session) {
  Status result;
  thread_->Invoke([&] {
    auto g = SessionGraph::Create(session, config_, fanout_.get());
    if (!g.ok()) {
      result = g.status();
      return;
    }
    graphs_[session] = std::move(g).value();
  });
  return result;
}

void MediaEngineGst::EndSession(const domain::SessionId& session) {
  thread_->Invoke([&] { graphs_.erase(session); });
  std::lock_guard mix_lock(mix_mu_);
  for (auto it = routes_.begin(); it != routes_.end();)
    it = it->second.session == session ? routes_.erase(it) : std::next(it);
  for (auto it = mixes_.begin(); it != mixes_.end();)
    it = std::get<0>(it->first) == session ? mixes_.erase(it) : std::next(it);
  std::lock_guard lock(keys_mu_);
  for (auto it = channel_keys_.begin(); it != channel_keys_.end();)
    it = it->first.first == session ? channel_keys_.erase(it) : std::next(it);
  for (auto it = key_owners_.begin(); it != key_owners_.end();) {
    if (it->second.first != session) {
      ++it;
      continue;
    }
    fanout_->RemoveListener(it->first);
    listener_keys_.erase(it->second.second);
    it = key_owners_.erase(it);
  }
  alerts_.erase(session);
}

Status MediaEngineGst::AddChannel(const domain::SessionId& session, const domain::ChannelName& channel) {
  const auto key = KeyOf(session, channel);
  return WithGraph(session, [&](SessionGraph& g) { return g.AddChannel(channel, key); });
}

void MediaEngineGst::RemoveChannel(const domain::SessionId& session, const domain::ChannelName& channel) {
  WithGraph(session, [&](SessionGraph& g) {
    g.RemoveChannel(channel);  // and its balance mixes
    return Status::Ok();
  });
  std::lock_guard mix_lock(mix_mu_);
  for (auto it = mixes_.begin(); it != mixes_.end();)
    it = std::get<0>(it->first) == session && std::get<1>(it->first) == channel ? mixes_.erase(it) : std::next(it);
  std::lock_guard lock(keys_mu_);
  channel_keys_.erase({session, channel});
}

Result<std::optional<domain::IngestInfo>> MediaEngineGst::SetFloorSource(const domain::SessionId& session,
                                                                         const domain::FloorSource& source,
                                                                         const std::optional<domain::SrtpKeying>& key,
                                                                         uint32_t ssrc) {
  std::optional<domain::IngestInfo> info;
  Status s = WithGraph(session, [&](SessionGraph& g) {
    auto r = g.SetFloorSource(source, key, ssrc);
    if (!r.ok()) return r.status();
    info = r.value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return info;
}

Result<domain::IngestInfo> MediaEngineGst::AddConsole(const domain::SessionId& session,
                                                      const domain::ConsoleId& console,
                                                      const std::vector<domain::ChannelName>& outputs,
                                                      const domain::SrtpKeying& key, uint32_t ssrc) {
  domain::IngestInfo info;
  Status s = WithGraph(session, [&](SessionGraph& g) {
    auto r = g.AddConsole(console, outputs, key, ssrc);
    if (!r.ok()) return r.status();
    info = r.value();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return info;
}

Status MediaEngineGst::SetConsoleOutputs(const domain::SessionId& session, const domain::ConsoleId& console,
                                         const std::vector<domain::ChannelName>& outputs) {
  return WithGraph(session, [&](SessionGraph& g) { return g.SetConsoleOutputs(console, outputs); });
}

void MediaEngineGst::RemoveConsole(const domain::SessionId& session, const domain::ConsoleId& console) {
  WithGraph(session, [&](SessionGraph& g) {
    g.RemoveConsole(console);
    return Status::Ok();
  });
}

void MediaEngineGst::SetChannelMix(const domain::SessionId& session, const domain::ChannelName& channel,
                                   const domain::ChannelMix& mix) {
  WithGraph(session, [&](SessionGraph& g) {
    g.SetChannelMix(channel, mix);
    return Status::Ok();
  });
}

static rtp::SrtpSuite ToRtp(domain::CryptoSuite s) {
  return s == domain::CryptoSuite::kAeadAes128Gcm ? rtp::SrtpSuite::kAeadAes128Gcm
                                                  : rtp::SrtpSuite::kAesCm128HmacSha1_80;
}

Result<domain::SendInfo> MediaEngineGst::AddListener(const domain::SessionId& session,
                                                     const domain::ListenerId& listener,
                                                     const domain::ChannelName& channel,
                                                     const domain::Endpoint& endpoint, const domain::SrtpKeying& key,
                                                     uint32_t ssrc) {
  fanout::ListenerSpec spec;
  spec.destination.sin_family = AF_INET;
  spec.destination.sin_port = htons(endpoint.port);
  if (inet_pton(AF_INET, endpoint.host.c_str(), &spec.destination.sin_addr) != 1)
    return domain::InvalidArgument("endpoint.host '" + endpoint.host + "' is not an IPv4 address");
  spec.channel = KeyOf(session, channel);
  spec.ssrc = ssrc;
  spec.suite = ToRtp(key.suite);
  spec.master_key = key.master_key;
  {
    std::lock_guard lock(keys_mu_);
    spec.key = next_key_++;
    listener_keys_[listener] = spec.key;
    key_owners_[spec.key] = {session, listener};
  }
  std::string error;
  if (!fanout_->AddListener(std::move(spec), &error)) return domain::Internal("listener SRTP: " + error);
  {
    std::lock_guard lock(mix_mu_);
    routes_[listener] = Route{session, channel, 100};
  }
  return domain::SendInfo{{fanout_->source_host(), fanout_->source_port()}, 111, 48000, uint32_t(config_.frame_ms)};
}

Status MediaEngineGst::SwitchListener(const domain::SessionId& session, const domain::ListenerId& listener,
                                      const domain::ChannelName& channel) {
  std::lock_guard lock(mix_mu_);
  auto it = routes_.find(listener);
  Route next = it != routes_.end() ? it->second : Route{session, channel, 100};
  next.channel = channel;  // the balance stays
  return RouteLocked(listener, next);
}

Status MediaEngineGst::SetListenerBalance(const domain::SessionId&, const domain::ListenerId& listener,
                                          uint32_t percent) {
  std::lock_guard lock(mix_mu_);
  auto it = routes_.find(listener);
  if (it == routes_.end()) return domain::NotFound("listener_id: no media for " + listener);
  Route next = it->second;
  next.percent = std::min<uint32_t>(percent, 100);
  return RouteLocked(listener, next);
}

Result<fanout::ListenerKey> MediaEngineGst::ListenerKeyOf(const domain::ListenerId& listener) {
  std::lock_guard lock(keys_mu_);
  auto it = listener_keys_.find(listener);
  if (it == listener_keys_.end()) return domain::NotFound("listener_id: no media for " + listener);
  return it->second;
}

Status MediaEngineGst::RouteLocked(const domain::ListenerId& listener, const Route& next) {
  auto found = ListenerKeyOf(listener);
  if (!found.ok()) return found.status();
  const fanout::ListenerKey lk = found.value();
  fanout::ChannelKey target;
  if (next.Mixed()) {
    const auto id = std::make_tuple(next.session, next.channel, next.percent);
    MixUse& use = mixes_[id];
    if (use.listeners == 0) {
      {
        std::lock_guard lock(keys_mu_);
        use.key = next_key_++;
      }
      const fanout::ChannelKey key = use.key;
      Status built =
          WithGraph(next.session, [&](SessionGraph& g) { return g.AddBalancedMix(next.channel, next.percent, key); });
      if (!built.ok()) {
        mixes_.erase(id);
        return built;
      }
    }
    ++use.listeners;
    target = use.key;
  } else {
    target = KeyOf(next.session, next.channel);
  }
  fanout_->SwitchListener(lk, target);
  auto prev = routes_.find(listener);
  if (prev != routes_.end()) ReleaseMixLocked(prev->second);
  routes_[listener] = next;
  return Status::Ok();
}

void MediaEngineGst::ReleaseMixLocked(const Route& r) {
  if (!r.Mixed()) return;
  auto it = mixes_.find({r.session, r.channel, r.percent});
  if (it == mixes_.end() || --it->second.listeners > 0) return;
  mixes_.erase(it);
  WithGraph(r.session, [&](SessionGraph& g) {
    g.RemoveBalancedMix(r.channel, r.percent);
    return Status::Ok();
  });
}

void MediaEngineGst::RemoveListener(const domain::SessionId&, const domain::ListenerId& listener) {
  std::lock_guard mix_lock(mix_mu_);
  if (auto r = routes_.find(listener); r != routes_.end()) {
    ReleaseMixLocked(r->second);
    routes_.erase(r);
  }
  std::lock_guard lock(keys_mu_);
  auto it = listener_keys_.find(listener);
  if (it == listener_keys_.end()) return;
  fanout_->RemoveListener(it->second);
  key_owners_.erase(it->second);
  listener_keys_.erase(it);
}

Status MediaEngineGst::RekeyListener(const domain::SessionId&, const domain::ListenerId& listener,
                                     const domain::SrtpKeying& key, std::chrono::milliseconds after) {
  auto k = ListenerKeyOf(listener);
  if (!k.ok()) return k.status();
  std::string error;
  if (!fanout_->RekeyListener(k.value(), key.master_key, after, &error))
    return domain::Internal("listener SRTP: " + error);
  log::Get("fanout")->debug("{}: new key takes over in {} ms", listener, after.count());
  return Status::Ok();
}

domain::MediaEngine::ListenerAlerts MediaEngineGst::TakeListenerAlerts(const domain::SessionId& session) {
  auto fresh = fanout_->TakeAlerts();  // node-wide: park the other sessions' alerts for them
  std::lock_guard lock(keys_mu_);
  for (const auto& a : fresh) {
    auto owner = key_owners_.find(a.listener);
    if (owner == key_owners_.end()) continue;  // already removed
    auto& to = alerts_[owner->second.first];
    (a.kind == fanout::FanoutAlert::Kind::kUnreachable ? to.unreachable : to.key_limit).push_back(owner->second.second);
  }
  auto it = alerts_.find(session);
  if (it == alerts_.end()) return {};
  ListenerAlerts out = std::move(it->second);
  alerts_.erase(it);
  return out;
}

uint32_t MediaEngineGst::StreamRoc(const domain::SessionId&, const domain::ListenerId& listener) {
  std::lock_guard lock(keys_mu_);
  auto it = listener_keys_.find(listener);
  if (it == listener_keys_.end()) return 0;
  auto counts = fanout_->ListenerStats(it->second);
  return counts ? uint32_t(counts->next_index >> 16) : 0;
}

domain::MediaStats MediaEngineGst::Stats(const domain::SessionId& session) {
  domain::MediaStats stats;
  WithGraph(session, [&](SessionGraph& g) {
    stats.ingest = g.IngestStats();
    return Status::Ok();
  });
  // Fan-out counters are node-wide: one sender serves every session.
  auto f = fanout_->Stats();
  stats.listener_packets_sent = f.packets_sent;
  stats.listener_send_errors = f.send_errors;
  stats.listener_packets_dropped = f.packets_dropped;
  stats.fanout_ring_overflows = f.ring_overflows;
  stats.fanout_delay_p50_us = f.delay.p50_us;
  stats.fanout_delay_p99_us = f.delay.p99_us;
  stats.fanout_delay_max_us = f.delay.max_us;
  stats.fanout_delay_samples = f.delay.samples;
  return stats;
}

domain::Status MediaEngineGst::AddWebrtcViewer(const domain::SessionId& session, const std::string& viewer,
                                               const domain::ChannelName& channel, const std::string& offer_sdp,
                                               std::shared_ptr<WebrtcHandshake> handshake) {
  return WithGraph(session, [&](SessionGraph& g) { return g.AddWebrtcViewer(viewer, channel, offer_sdp, handshake); });
}

void MediaEngineGst::RemoveWebrtcViewer(const domain::SessionId& session, const std::string& viewer) {
  WithGraph(session, [&](SessionGraph& g) {
    g.RemoveWebrtcViewer(viewer);
    return domain::Status::Ok();
  });
}

}  // namespace tilmash::graph
