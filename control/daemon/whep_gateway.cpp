#include "daemon/whep_gateway.h"

#include "log/log.h"

namespace tilmash::daemon {

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("whep");
  return l;
}
}  // namespace

int HttpStatus(const domain::Status& s) {
  switch (s.code()) {
    case domain::StatusCode::kOk:
      return 200;
    case domain::StatusCode::kUnauthenticated:
      return 401;
    case domain::StatusCode::kPermissionDenied:
      return 403;
    case domain::StatusCode::kInvalidArgument:
      return 400;
    case domain::StatusCode::kNotFound:
      return 404;
    case domain::StatusCode::kAlreadyExists:
    case domain::StatusCode::kFailedPrecondition:
      return 409;
    case domain::StatusCode::kResourceExhausted:
      return 429;
    case domain::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void WhepGateway::Offer(const std::string& token, const std::string& session, const std::string& channel,
                        const std::string& offer_sdp, std::function<void(web::WhepResult)> done) {
  auto refuse = [&](const domain::Status& s) { done({HttpStatus(s), s.message(), ""}); };
  auto who = access_.Admit(token, "ListenerService.Subscribe", session);
  if (!who.ok()) return refuse(who.status());
  const auth::Claims& c = who.value();
  if (auto bound = auth::CheckChannel(c, channel); !bound.ok()) return refuse(bound);
  auto s = registry_.Find(session);
  if (!s.ok()) return refuse(s.status());
  if (auto open = registry_.AdmitStream(); !open.ok()) return refuse(open);
  if (!auth::IsStaff(c.role) && !access_.subscribe_limit().Allow(c.id))
    return refuse(domain::ResourceExhausted("Subscribe rate exceeded for this token"));
  domain::ViewerRequest req;
  req.channel = channel;
  req.owner = c.id;
  req.max_streams = auth::UnlimitedStreams(c.role) ? 0 : c.max_streams;
  req.offer_sdp = offer_sdp;
  req.valid_for = std::chrono::duration_cast<std::chrono::milliseconds>(c.expires - std::chrono::system_clock::now());
  // The id is known only once AddViewer returns; the answer may come before (on another thread).
  auto id = std::make_shared<std::string>();
  auto id_mu = std::make_shared<std::mutex>();
  auto answered = std::make_shared<std::optional<std::pair<bool, std::string>>>();
  auto finish = [done](const std::string& viewer, bool ok, const std::string& text) {
    if (ok) return done({201, text, viewer});
    Log()->warn("viewer {}: {}", viewer, text);
    done({400, text, ""});
  };
  req.done = [id, id_mu, answered, finish](bool ok, const std::string& text) {
    std::unique_lock lock(*id_mu);
    if (id->empty()) {
      *answered = std::make_pair(ok, text);  // AddViewer has not returned yet: it finishes
      return;
    }
    const std::string viewer = *id;
    lock.unlock();
    finish(viewer, ok, text);
  };
  auto added = s.value()->AddViewer(req);
  if (!added.ok()) return refuse(added.status());
  std::optional<std::pair<bool, std::string>> early;
  {
    std::lock_guard lock(*id_mu);
    *id = added.value();
    early = *answered;
  }
  Log()->info("viewer {} ({}) on {}/{}", added.value(), c.subject, session, channel);
  if (early) finish(added.value(), early->first, early->second);
}

web::WhepResult WhepGateway::End(const std::string& token, const std::string& session, const std::string& viewer) {
  auto who = access_.Admit(token, "ListenerService.Unsubscribe", session);
  if (!who.ok()) return {HttpStatus(who.status()), who.status().message(), ""};
  auto s = registry_.Find(session);
  if (!s.ok()) return {HttpStatus(s.status()), s.status().message(), ""};
  if (auto owned = auth::CheckOwner(who.value(), *s.value(), viewer); !owned.ok())
    return {HttpStatus(owned), owned.message(), ""};
  if (auto ended = s.value()->RemoveViewer(viewer); !ended.ok()) return {HttpStatus(ended), ended.message(), ""};
  return {200, "ended", ""};
}

}  // namespace tilmash::daemon
