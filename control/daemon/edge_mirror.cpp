#include "daemon/edge_mirror.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "client/connect.h"
#include "client/convert.h"
#include "graph/mirror_receiver.h"
#include "log/log.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::daemon {

namespace {

constexpr auto kSyncEvery = std::chrono::seconds(1);
constexpr auto kRetryAfter = std::chrono::milliseconds(250);
constexpr auto kAudienceEvery = std::chrono::seconds(10);

std::vector<uint8_t> KeyBytes(const v1::SrtpKeying& k) { return {k.master_key().begin(), k.master_key().end()}; }

}  // namespace

// ------------------------------------------------------------------ one channel

// Subscribes to one channel of the origin and keeps the subscription: WatchKeys carries the key
// rotations (and keeps the origin's lease); a subscription the origin no longer knows is made
// again; an origin that does not answer is tried again every kRetryAfter.
class EdgeMirror::ChannelMirror {
 public:
  // `percent` below 100: the origin's balance of the channel at that interpretation percentage.
  ChannelMirror(std::shared_ptr<grpc::Channel> grpc_channel, std::string session, std::string channel,
                std::unique_ptr<graph::MirrorReceiver> receiver, std::string media_host, uint32_t percent = 100)
      : grpc_(std::move(grpc_channel)),
        session_(std::move(session)),
        channel_(std::move(channel)),
        percent_(percent),
        what_(percent < 100 ? channel_ + " at " + std::to_string(percent) + " %" : channel_),
        receiver_(std::move(receiver)),
        media_host_(std::move(media_host)),
        log_(log::Get("edge")) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ChannelMirror() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (watch_) watch_->TryCancel();
    }
    cv_.notify_all();
    thread_.join();
    // The origin stops sending at once instead of when its lease runs out.
    const std::string listener = listener_id();
    if (!listener.empty()) {
      grpc::ClientContext ctx;
      client::SetDeadline(ctx, std::chrono::seconds(1));
      v1::UnsubscribeRequest req;
      req.set_session_id(session_);
      req.set_listener_id(listener);
      v1::UnsubscribeResponse resp;
      (void)v1::ListenerService::NewStub(grpc_)->Unsubscribe(&ctx, req, &resp);
    }
  }

  // Tells the origin how many listeners this edge serves the channel to (its metrics show it),
  // when that changed or every kAudienceEvery. The sync thread's.
  void ReportAudience(uint32_t audience) {
    const std::string listener = listener_id();
    const auto now = std::chrono::steady_clock::now();
    if (listener.empty() || (audience == reported_audience_ && now - audience_at_ < kAudienceEvery)) return;
    grpc::ClientContext ctx;
    client::SetDeadline(ctx, std::chrono::seconds(1));
    v1::KeepAliveRequest req;
    req.set_session_id(session_);
    req.set_listener_id(listener);
    req.set_relayed_listeners(audience);
    v1::KeepAliveResponse resp;
    if (!v1::ListenerService::NewStub(grpc_)->KeepAlive(&ctx, req, &resp).ok()) return;
    reported_audience_ = audience;
    audience_at_ = now;
  }

 private:
  std::string listener_id() const {
    std::lock_guard lock(mu_);
    return listener_;
  }
  // Waits `d` unless stopped; false when stopped.
  bool Pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stop_; });
  }
  bool stopped() const {
    std::lock_guard lock(mu_);
    return stop_;
  }

  bool Subscribe() {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::SubscribeRequest req;
    req.set_session_id(session_);
    req.set_channel(channel_);
    req.mutable_endpoint()->set_host(media_host_);
    req.mutable_endpoint()->set_port(receiver_->port());
    if (percent_ < 100) req.set_interpretation_percent(percent_);
    v1::SubscribeResponse resp;
    const grpc::Status st = v1::ListenerService::NewStub(grpc_)->Subscribe(&ctx, req, &resp);
    if (!st.ok()) {
      Report("cannot subscribe at the origin: " + client::StatusText(st));
      return false;
    }
    std::string error;
    if (!receiver_->Attach(resp.ssrc(), client::SuiteFromProto(resp.srtp().suite()), KeyBytes(resp.srtp()),
                           resp.srtp().roc(), resp.key_id(), &error)) {
      Report("the origin's key for it is unusable: " + error);
      return false;
    }
    newest_key_ = resp.key_id();
    const uint32_t n = subscriptions_.fetch_add(1) + 1;
    {
      std::lock_guard lock(mu_);
      listener_ = resp.listener_id();
    }
    log_->info("session {}: channel {} mirrored as origin listener {} on port {}{}", session_, what_,
               resp.listener_id(), receiver_->port(), n > 1 ? " (subscribed again)" : "");
    reported_.clear();
    return true;
  }

  // Holds WatchKeys open until it ends. True: the subscription is still good (the origin went
  // away for a moment); false: the origin ended it (subscribe again).
  bool WatchKeys() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    {
      std::lock_guard lock(mu_);
      if (stop_) return true;
      watch_ = ctx.get();
    }
    v1::WatchKeysRequest req;
    req.set_session_id(session_);
    req.set_listener_id(listener_id());
    auto reader = v1::ListenerService::NewStub(grpc_)->WatchKeys(ctx.get(), req);
    v1::KeyUpdate update;
    while (reader->Read(&update)) {
      if (update.key_id() <= newest_key_) continue;
      newest_key_ = update.key_id();
      if (!receiver_->Announce(update.key_id(), client::SuiteFromProto(update.srtp().suite()), KeyBytes(update.srtp())))
        log_->error("session {}: channel {}: the origin announced an unusable key {}", session_, what_,
                    update.key_id());
    }
    const grpc::Status st = reader->Finish();
    {
      std::lock_guard lock(mu_);
      watch_ = nullptr;
    }
    if (st.error_code() == grpc::StatusCode::NOT_FOUND || st.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
        st.error_code() == grpc::StatusCode::UNAUTHENTICATED || st.ok()) {
      Report("the origin ended its subscription (" + client::StatusText(st) + "); subscribing again");
      std::lock_guard lock(mu_);
      listener_.clear();
      return false;
    }
    if (!stopped()) Report("the origin does not answer (" + client::StatusText(st) + "); its listeners hear a gap");
    return true;
  }

  // Logs a problem once until things are good again (a down origin would log every 250 ms).
  void Report(const std::string& what) {
    if (what == reported_) return;
    reported_ = what;
    log_->warn("session {}: channel {}: {}", session_, what_, what);
  }

  void Run() {
    while (!stopped()) {
      if (listener_id().empty() && !Subscribe()) {
        if (!Pause(kRetryAfter)) return;
        continue;
      }
      if (WatchKeys() && !Pause(kRetryAfter)) return;
    }
  }

  const std::shared_ptr<grpc::Channel> grpc_;
  const std::string session_, channel_;
  const uint32_t percent_;
  const std::string what_;  // the channel, and its balance if it is one (for the log)
  const std::unique_ptr<graph::MirrorReceiver> receiver_;
  const std::string media_host_;
  const std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  grpc::ClientContext* watch_ = nullptr;  // the open WatchKeys call (cancelled by the destructor)
  std::string listener_;                  // the edge's listener at the origin ("": none)
  std::atomic<uint32_t> subscriptions_{0};
  uint32_t newest_key_ = 0;                  // the channel thread's
  uint32_t reported_audience_ = UINT32_MAX;  // the sync thread's
  std::chrono::steady_clock::time_point audience_at_{};
  std::string reported_;  // the channel thread's
  std::thread thread_;
};

// ------------------------------------------------------------------ balances

// A balance of a mirrored channel that listeners here asked for: the origin mixes it, the edge
// subscribes to the mix once. Its end is handed to the sync thread (an Unsubscribe at the origin
// and a thread to join), so the listener who leaves last never waits for the origin.
struct EdgeMirror::Retired {
  std::mutex mu;
  bool closed = false;  // the mirror is gone: end them at once
  std::vector<std::unique_ptr<ChannelMirror>> mirrors;
};

class EdgeMirror::BalanceFeed : public graph::MirrorFeed {
 public:
  BalanceFeed(std::unique_ptr<ChannelMirror> mirror, std::shared_ptr<Retired> retired)
      : mirror_(std::move(mirror)), retired_(std::move(retired)) {}
  ~BalanceFeed() override {
    std::lock_guard lock(retired_->mu);
    if (!retired_->closed) retired_->mirrors.push_back(std::move(mirror_));
  }

 private:
  std::unique_ptr<ChannelMirror> mirror_;
  const std::shared_ptr<Retired> retired_;
};

std::unique_ptr<graph::MirrorFeed> EdgeMirror::StartBalance(const std::string& session, const std::string& channel,
                                                            uint32_t percent, std::shared_ptr<graph::MirrorSlot> slot,
                                                            std::string* error) {
  in_addr host{};
  inet_pton(AF_INET, options_.media_host.c_str(), &host);
  auto receiver = graph::MirrorReceiver::Create(session + "/" + channel + "@" + std::to_string(percent), host,
                                                options_.ports, std::move(slot), error);
  if (!receiver) return nullptr;
  return std::make_unique<BalanceFeed>(
      std::make_unique<ChannelMirror>(channel_, session, channel, std::move(receiver), options_.media_host, percent),
      retired_);
}

void EdgeMirror::EndRetired() {
  std::vector<std::unique_ptr<ChannelMirror>> ending;
  {
    std::lock_guard lock(retired_->mu);
    ending.swap(retired_->mirrors);
  }
  ending.clear();  // unsubscribed at the origin
}

// ------------------------------------------------------------------ the mirror

EdgeMirror::EdgeMirror(EdgeOptions options, domain::SessionRegistry& registry,
                       std::shared_ptr<graph::MirrorDirectory> mirrors, auth::TokenAuthority& tokens)
    : options_(std::move(options)),
      registry_(registry),
      mirrors_(std::move(mirrors)),
      tokens_(tokens),
      retired_(std::make_shared<Retired>()) {
  // A connection of its own: the channels' WatchKeys streams and the sync share it.
  channel_ = client::ConnectWith(options_.origin, options_.credentials, true);
  mirrors_->SetBalanceSource([this](const std::string& session, const std::string& channel, uint32_t percent,
                                    std::shared_ptr<graph::MirrorSlot> slot, std::string* error) {
    return StartBalance(session, channel, percent, std::move(slot), error);
  });
}

EdgeMirror::~EdgeMirror() {
  mirrors_->SetBalanceSource(nullptr);  // waits for a balance being started
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The origin stops sending at once; the sessions stay, saved with their listeners, for the
  // next start of this edge (the registry ends them without forgetting them).
  std::map<std::string, MirroredSession> stopping;
  {
    std::lock_guard lock(mu_);
    stopping.swap(sessions_);
  }
  stopping.clear();
  {
    std::lock_guard lock(retired_->mu);
    retired_->closed = true;
  }
  EndRetired();
}

void EdgeMirror::Start() {
  // Sessions restored from this node's state (mirrored before a restart, with their listeners):
  // followed again as if just mirrored; the first sync subscribes their channels again, or
  // ends those the origin no longer has.
  for (const auto& id : mirrors_->Sessions())
    if (registry_.Find(id).ok()) {
      std::lock_guard lock(mu_);
      sessions_[id];
      log::Get("edge")->info("session {}: restored, mirrored from {} again", id, options_.origin);
    }
  std::string which = options_.sessions.empty() ? "every session" : "";
  for (const auto& id : options_.sessions) which += (which.empty() ? "" : ", ") + id;
  log::Get("edge")->info("edge of {}: mirroring {}", options_.origin, which);
  thread_ = std::thread([this] { Run(); });
}

void EdgeMirror::Run() {
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    lock.unlock();
    Sync();
    lock.lock();
    stop_cv_.wait_for(lock, kSyncEvery, [this] { return stop_; });
  }
}

void EdgeMirror::Sync() {
  EndRetired();
  grpc::ClientContext ctx;
  client::SetDeadline(ctx, std::chrono::seconds(2));
  v1::ListSessionsResponse resp;
  const grpc::Status st = v1::SessionService::NewStub(channel_)->ListSessions(&ctx, v1::ListSessionsRequest{}, &resp);
  if (!st.ok()) {
    // The mirrored sessions stay: their channels come back by themselves with the origin.
    if (!origin_down_logged_)
      log::Get("edge")->warn("edge of {}: cannot list the origin's sessions: {}", options_.origin,
                             client::StatusText(st));
    origin_down_logged_ = true;
    return;
  }
  if (origin_down_logged_) log::Get("edge")->info("edge of {}: the origin answers again", options_.origin);
  origin_down_logged_ = false;
  std::set<std::string> seen;
  for (const auto& s : resp.sessions()) {
    if (s.ended()) continue;
    if (!options_.sessions.empty() &&
        std::find(options_.sessions.begin(), options_.sessions.end(), s.id()) == options_.sessions.end())
      continue;
    seen.insert(s.id());
    std::vector<std::string> channels, languages;
    for (const auto& c : s.channels()) {
      channels.push_back(c.language());
      if (c.language() != domain::kFloorChannel) languages.push_back(c.language());
    }
    bool known = false;
    {
      std::lock_guard lock(mu_);
      known = sessions_.count(s.id()) > 0;
    }
    if (!known) Mirror(s.id(), s.name(), s.floor_language(), languages, s.frame_ms());
    Follow(s.id(), channels);
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, m] : sessions_)
      if (!seen.count(id)) gone.push_back(id);
  }
  for (const auto& id : gone) Forget(id, "it ended at the origin");
  ReportAudiences();
  FollowRevocations();
}

void EdgeMirror::FollowRevocations() {
  grpc::ClientContext ctx;
  client::SetDeadline(ctx, std::chrono::seconds(2));
  v1::ListRevocationsResponse resp;
  const grpc::Status st =
      v1::TokenService::NewStub(channel_)->ListRevocations(&ctx, v1::ListRevocationsRequest{}, &resp);
  if (!st.ok()) return;  // an older origin, or it is away: the next sync asks again
  for (const auto& id : resp.token_ids()) {
    if (tokens_.IsRevoked(id)) continue;
    // Kept in this node's own state too: a restarted edge still refuses the token.
    if (domain::Status s = tokens_.Revoke(id); !s.ok()) {
      log::Get("edge")->error("token {} revoked at {}: cannot revoke it here: {}", id, options_.origin, s.message());
      continue;
    }
    const auto stopped = registry_.StopOwnedBy(id);
    log::Get("edge")->info("token {} revoked at {}: revoked here too, {} streams stopped", id, options_.origin,
                           stopped);
  }
}

void EdgeMirror::ReportAudiences() {
  std::lock_guard lock(mu_);
  for (const auto& [id, mirrored] : sessions_) {
    auto session = registry_.Find(id);
    if (!session.ok()) continue;
    for (const auto& c : session.value()->View().channels)
      if (auto it = mirrored.channels.find(c.name); it != mirrored.channels.end())
        it->second->ReportAudience(c.unicast_listeners + c.multicast_listeners + c.webrtc_viewers);
  }
}

void EdgeMirror::Mirror(const std::string& id, const std::string& name, const std::string& floor_language,
                        const std::vector<std::string>& languages, double frame_ms) {
  auto log = log::Get("edge");
  if (registry_.Find(id).ok() && mirrors_->OriginOf(id).empty()) {
    log->error("session {}: not mirrored from {}: this node has a session of its own with that id", id,
               options_.origin);
    return;
  }
  mirrors_->Add(id, options_.origin);
  domain::SessionSpec spec;
  spec.id = id;
  spec.name = name;
  spec.languages = languages;
  spec.floor_language = floor_language;
  spec.loudness_target_lufs = 0;               // the origin has leveled it
  if (frame_ms > 0) spec.frame_ms = frame_ms;  // its listeners are told the origin's frame (an older origin: 0)
  spec.mirror_of = options_.origin;
  auto created = registry_.Create(spec);
  if (!created.ok()) {
    mirrors_->Remove(id);
    log->error("session {}: cannot mirror it from {}: {}", id, options_.origin, created.status().message());
    return;
  }
  std::lock_guard lock(mu_);
  sessions_[id];
}

void EdgeMirror::Follow(const std::string& id, const std::vector<std::string>& channels) {
  auto session = registry_.Find(id);
  if (!session.ok()) return;
  auto log = log::Get("edge");
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto& mirrored = it->second.channels;
  for (auto c = mirrored.begin(); c != mirrored.end();) {
    if (std::find(channels.begin(), channels.end(), c->first) != channels.end()) {
      ++c;
      continue;
    }
    log->info("session {}: channel {} was removed at the origin", id, c->first);
    if (c->first != domain::kFloorChannel) (void)session.value()->RemoveChannel(c->first);
    c = mirrored.erase(c);
  }
  in_addr host{};
  inet_pton(AF_INET, options_.media_host.c_str(), &host);
  const domain::SessionView view = session.value()->View();  // once: the loop adds only channels it lacks
  for (const auto& channel : channels) {
    if (mirrored.count(channel)) continue;
    const bool exists = std::any_of(view.channels.begin(), view.channels.end(),
                                    [&](const domain::ChannelView& v) { return v.name == channel; });
    if (!exists) {
      auto added = session.value()->AddChannel(channel, std::nullopt);
      if (!added.ok()) {
        log->error("session {}: cannot mirror channel {}: {}", id, channel, added.status().message());
        continue;
      }
    }
    std::string error;
    auto receiver =
        graph::MirrorReceiver::Create(id + "/" + channel, host, options_.ports, mirrors_->Slot(id, channel), &error);
    if (!receiver) {
      log->error("session {}: cannot receive channel {} from the origin: {}", id, channel, error);
      continue;
    }
    mirrored[channel] =
        std::make_unique<ChannelMirror>(channel_, id, channel, std::move(receiver), options_.media_host);
  }
}

void EdgeMirror::Forget(const std::string& id, const std::string& why) {
  MirroredSession gone;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    gone = std::move(it->second);
    sessions_.erase(it);
  }
  gone.channels.clear();  // unsubscribed at the origin
  log::Get("edge")->info("session {}: no longer mirrored: {}", id, why);
  (void)registry_.End(id);
  mirrors_->Remove(id);
}

}  // namespace tilmash::daemon
