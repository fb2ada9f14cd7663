#include "daemon/whep_gateway.h"

#include <algorithm>

#include "log/log.h"

namespace tilmash::daemon {

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("whep");
  return l;
}

int HttpStatus(const domain::Status& s) {
  switch (s.code()) {
    case domain::StatusCode::kInvalidArgument:
      return 400;
    case domain::StatusCode::kNotFound:
      return 404;
    case domain::StatusCode::kResourceExhausted:
      return 429;
    default:
      return 500;
  }
}
}  // namespace

WhepGateway::~WhepGateway() {
  std::map<std::string, Viewer> left;
  {
    std::lock_guard lock(mu_);
    left.swap(viewers_);
  }
  for (const auto& [id, v] : left) media_.RemoveWebrtcViewer(v.session, id);
}

void WhepGateway::Offer(const std::string& token, const std::string& session, const std::string& channel,
                        const std::string& offer_sdp, std::function<void(web::WhepResult)> done) {
  auto claims = tokens_.Verify(token);
  if (!claims.ok()) return done({401, "token: " + claims.status().message(), ""});
  const auth::Claims& c = claims.value();
  if (c.role != auth::Role::kViewer && c.role != auth::Role::kDelegate && c.role != auth::Role::kOperator &&
      c.role != auth::Role::kAdmin)
    return done({403, std::string("a ") + auth::RoleName(c.role) + " token cannot listen", ""});
  if (!c.session.empty() && c.session != session) return done({403, "the token is for another session", ""});
  if (!c.channels.empty() && std::find(c.channels.begin(), c.channels.end(), channel) == c.channels.end())
    return done({403, "the token does not allow channel " + channel, ""});
  auto s = registry_.Find(session);
  if (!s.ok()) return done({404, "no session " + session, ""});
  const auto view = s.value()->View();
  if (std::none_of(view.channels.begin(), view.channels.end(), [&](const auto& ch) { return ch.name == channel; }))
    return done({404, "session " + session + " has no channel " + channel, ""});
  const std::string id = ids_.NewId("w");
  {
    std::lock_guard lock(mu_);
    const auto held =
        std::count_if(viewers_.begin(), viewers_.end(), [&](const auto& kv) { return kv.second.token_id == c.id; });
    if (c.max_streams > 0 && uint32_t(held) >= c.max_streams)
      return done(
          {429,
           "the token already holds " + std::to_string(held) + " of its " + std::to_string(c.max_streams) + " streams",
           ""});
    viewers_[id] = Viewer{session, channel, c.id, c.subject, c.expires, nullptr};
  }
  std::shared_ptr<graph::WebrtcHandshake> handshake;
  handshake = std::make_shared<graph::WebrtcHandshake>([id, done](bool ok, const std::string& text) {
    if (ok) return done({201, text, id});
    Log()->warn("viewer {}: {}", id, text);
    done({400, text, ""});
  });
  {
    std::lock_guard lock(mu_);
    viewers_[id].handshake = handshake;
  }
  // The viewer counts in the channel's audience (the booths' indicator) until Remove.
  if (auto counted = s.value()->AddRemoteViewer(id, channel); !counted.ok())
    Log()->warn("viewer {}: not counted in the audience: {}", id, counted.message());
  if (auto st = media_.AddWebrtcViewer(session, id, channel, offer_sdp, handshake); !st.ok()) {
    {
      std::lock_guard lock(mu_);
      viewers_.erase(id);
    }
    s.value()->RemoveRemoteViewer(id);
    handshake->Cancel();
    return done({HttpStatus(st), st.message(), ""});
  }
  Log()->info("viewer {} ({}) on {}/{}", id, c.subject, session, channel);
}

int WhepGateway::End(const std::string& token, const std::string& resource) {
  auto claims = tokens_.Verify(token);
  if (!claims.ok()) return 401;
  {
    std::lock_guard lock(mu_);
    auto it = viewers_.find(resource);
    if (it == viewers_.end()) return 404;
    const auto role = claims.value().role;
    if (it->second.token_id != claims.value().id && role != auth::Role::kOperator && role != auth::Role::kAdmin)
      return 403;
  }
  Remove(resource);
  return 200;
}

void WhepGateway::Remove(const std::string& id) {
  std::string session;
  {
    std::lock_guard lock(mu_);
    auto it = viewers_.find(id);
    if (it == viewers_.end()) return;
    session = it->second.session;
    viewers_.erase(it);
  }
  media_.RemoveWebrtcViewer(session, id);
  if (auto s = registry_.Find(session); s.ok()) s.value()->RemoveRemoteViewer(id);
}

void WhepGateway::Tick() {
  const auto now = std::chrono::system_clock::now();
  std::vector<std::string> ended;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, v] : viewers_)
      if (tokens_.IsRevoked(v.token_id) || v.expires <= now || (v.handshake && v.handshake->over()) ||
          !registry_.Find(v.session).ok())
        ended.push_back(id);
  }
  for (const auto& id : ended) {
    Log()->info("viewer {} ended: token revoked or expired, connection failed or closed, or session ended", id);
    Remove(id);
  }
}

std::size_t WhepGateway::Viewers() const {
  std::lock_guard lock(mu_);
  return viewers_.size();
}

}  // namespace tilmash::daemon
