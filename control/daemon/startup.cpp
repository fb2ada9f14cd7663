#include "daemon/startup.h"

#include "log/log.h"

namespace tilmash::daemon {

int CreateDemoSession(domain::SessionRegistry& registry, const Config& config) {
  domain::SessionSpec spec;
  spec.id = config.demo_session.id;
  spec.name = config.demo_session.name;
  spec.languages = config.demo_session.languages;
  spec.floor_language = config.demo_session.floor_language;
  spec.floor_source = domain::RtpSource{false};
  if (registry.Find(spec.id).ok()) {
    log::Get("main")->info("demo session '{}' is back from the state store", spec.id);
    return 0;
  }
  auto s = registry.Create(spec);
  if (!s.ok()) {
    log::Get("main")->error("demo session: {}", s.status().message());
    return 1;
  }
  log::Get("main")->info("demo session '{}' ready: floor RTP/Opus ingest on {}:{}, channels {}", s->id,
                         s->floor_ingest->endpoint.host, s->floor_ingest->endpoint.port, [&] {
                           std::string names;
                           for (const auto& c : s->channels) names += (names.empty() ? "" : ",") + c.name;
                           return names;
                         }());
  return 0;
}

// Sessions an edge mirrored before it stopped come back, listeners and all, while this node
// still mirrors their origin (registered as mirrors before they are restored); the others are
// dropped from the state.
void RestoreMirrors(store::LoadedState& loaded, const Config& config, graph::MirrorDirectory* mirrors,
                    store::SqliteStore& state) {
  std::erase_if(loaded.sessions, [&](const domain::SessionRecord& s) {
    if (s.mirror_of.empty()) return false;
    if (mirrors && s.mirror_of == config.edge_of) {
      mirrors->Add(s.id, s.mirror_of);
      return false;
    }
    log::Get("edge")->warn("restore: session {} was mirrored from {}, which this node does not mirror now: dropped",
                           s.id, s.mirror_of);
    (void)state.DeleteSession(s.id);
    return true;
  });
}

web::MetricsReply StaffOnly(const auth::TokenAuthority& tokens, const std::string& token, const std::string& what) {
  auto claims = tokens.Verify(token);
  if (!claims.ok()) return {401, what + ": " + claims.status().message()};
  if (claims->role != auth::Role::kAdmin && claims->role != auth::Role::kOperator)
    return {403, what + ": operator or admin tokens only, not " + auth::RoleName(claims->role)};
  return {200, ""};
}

}  // namespace tilmash::daemon
