#include "domain/session_registry.h"

#include <mutex>

namespace tilmash::domain {

SessionRegistry::~SessionRegistry() { EndAll(); }

Result<SessionView> SessionRegistry::Create(const SessionSpec& spec) {
  if (spec.name.size() > 200) return InvalidArgument("name is longer than 200 characters");
  const double duck = spec.floor_duck_db.value_or(default_duck_db_);
  if (!(duck <= 0 && duck >= -60)) return InvalidArgument("floor_duck_db must be between -60 and 0 dB");
  if (!spec.id.empty()) {
    std::shared_lock lock(mu_);
    if (sessions_.count(spec.id)) return AlreadyExists("id: session '" + spec.id + "' already exists");
  }
  const SessionId id = spec.id.empty() ? ports_.keys->NewId("s-") : spec.id;
  auto session = std::make_shared<Session>(id, spec.name, duck, ports_, policy_);
  if (Status s = session->Start(); !s.ok()) return s;
  // Validate everything before anything becomes visible; a failed create leaves nothing behind.
  for (const auto& lang : spec.languages) {
    auto added = session->AddChannel(lang, std::nullopt);
    if (!added.ok()) {
      session->End();
      Status st = added.status();
      return Status(st.code(), "languages: " + st.message());
    }
  }
  if (Status s = session->SetFloorLanguage(spec.floor_language); !s.ok()) {
    session->End();
    return Status(s.code(), "floor_" + s.message());
  }
  if (!std::holds_alternative<NoSource>(spec.floor_source)) {
    if (Status s = session->SetFloorSource(spec.floor_source); !s.ok()) {
      session->End();
      return Status(s.code(), "floor_" + s.message());
    }
  }
  std::unique_lock lock(mu_);
  sessions_[session->id()] = session;
  return session->View();
}

Result<std::shared_ptr<Session>> SessionRegistry::Find(const SessionId& id) const {
  if (id.empty()) return InvalidArgument("session_id is empty");
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return NotFound("session_id: no session '" + id + "'");
  return it->second;
}

std::vector<SessionView> SessionRegistry::List() const {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_) all.push_back(s);
  }
  std::vector<SessionView> out;
  for (const auto& s : all) out.push_back(s->View());
  return out;
}

Status SessionRegistry::End(const SessionId& id) {
  std::shared_ptr<Session> s;
  {
    std::unique_lock lock(mu_);
    auto it = sessions_.find(id);
    if (id.empty()) return InvalidArgument("session_id is empty");
    if (it == sessions_.end()) return NotFound("session_id: no session '" + id + "'");
    s = it->second;
    sessions_.erase(it);
  }
  s->End();
  return Status::Ok();
}

void SessionRegistry::Tick() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_) all.push_back(s);
  }
  for (auto& s : all) s->Tick();
}

uint32_t SessionRegistry::StopOwnedBy(const std::string& owner) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_) all.push_back(s);
  }
  uint32_t n = 0;
  for (auto& s : all) n += s->StopOwnedBy(owner);
  return n;
}

void SessionRegistry::EndAll() {
  std::map<SessionId, std::shared_ptr<Session>> all;
  {
    std::unique_lock lock(mu_);
    all.swap(sessions_);
  }
  for (auto& [id, s] : all) s->End();
}

}  // namespace tilmash::domain
