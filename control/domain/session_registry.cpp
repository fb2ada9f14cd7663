#include "domain/session_registry.h"

#include <mutex>
#include <thread>

namespace tilmash::domain {

namespace {
// Graph changes a restore lets wait on the media thread before it brings back the next session.
constexpr std::size_t kRestoreBacklog = 32;
}  // namespace

std::string SessionIdProblem(const std::string& id) {
  if (id.empty() || id.size() > 64) return "must be 1-64 characters";
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id[0])) return "must start with a lower-case letter or a digit";
  for (char c : id)
    if (!lower_or_digit(c) && c != '-' && c != '_') return "may hold only a-z, 0-9, '-' and '_'";
  return "";
}

SessionRegistry::~SessionRegistry() { EndAll(); }

Result<SessionView> SessionRegistry::Create(const SessionSpec& spec) {
  if (spec.name.size() > 200) return InvalidArgument("name is longer than 200 characters");
  const double duck = spec.floor_duck_db.value_or(default_duck_db_);
  if (!(duck <= 0 && duck >= -60)) return InvalidArgument("floor_duck_db must be between -60 and 0 dB");
  const double loudness = spec.loudness_target_lufs.value_or(default_loudness_lufs_);
  if (std::string problem = LoudnessTargetProblem(loudness); !problem.empty())
    return InvalidArgument("loudness_target_lufs " + problem);
  MediaTiming timing = default_timing_;
  if (spec.frame_ms) {
    const double f = *spec.frame_ms;
    if (f != 2.5 && f != 5 && f != 10 && f != 20)
      return InvalidArgument("frame_ms must be 2.5, 5, 10 or 20 (2.5 and 5: low delay), not " +
                             Quoted(std::to_string(f)));
    timing.frame_us = uint32_t(f * 1000);
  }
  if (spec.jitter_ms) {
    if (*spec.jitter_ms < 1 || *spec.jitter_ms > 200) return InvalidArgument("jitter_ms must be between 1 and 200");
    timing.jitter_ms = *spec.jitter_ms;
  }
  // The id is reserved before anything is built, so two creates can never share one: the
  // reservation (a null entry) is invisible to Find and List until the session is complete.
  SessionId id = spec.id;
  if (!id.empty())
    if (std::string problem = SessionIdProblem(id); !problem.empty())
      return InvalidArgument("session_id: " + Quoted(id) + " " + problem);
  {
    std::unique_lock lock(mu_);
    if (!id.empty() && sessions_.count(id))
      return AlreadyExists("session_id: session " + Quoted(id) + " already exists");
    while (id.empty() || sessions_.count(id)) id = ports_.keys->NewId("s-");
    sessions_.emplace(id, nullptr);
  }
  auto fail = [&](Status st) {
    std::unique_lock lock(mu_);
    sessions_.erase(id);
    return st;
  };
  auto session = std::make_shared<Session>(id, spec.name, duck, ports_, policy_);
  session->set_loudness_target_lufs(loudness);
  session->set_timing(timing);
  session->set_mirror_of(spec.mirror_of);
  if (Status s = session->Start(); !s.ok()) return fail(s);
  // Validate everything before anything becomes visible; a failed create leaves nothing behind.
  for (std::size_t i = 0; i < spec.languages.size(); ++i) {
    auto added = session->AddChannel(spec.languages[i], std::nullopt, "languages[" + std::to_string(i) + "]");
    if (!added.ok()) {
      (void)session->End();
      return fail(added.status());
    }
  }
  if (Status s = session->SetFloorLanguage(spec.floor_language); !s.ok()) {
    (void)session->End();
    return fail(Status(s.code(), "floor_" + s.message()));
  }
  if (!std::holds_alternative<NoSource>(spec.floor_source)) {
    if (Status s = session->SetFloorSource(spec.floor_source); !s.ok()) {
      (void)session->End();
      return fail(Status(s.code(), "floor_" + s.message()));
    }
  }
  // Saved (record and all) before it answers; a session that cannot be saved is not created.
  if (Status s = session->Commit(); !s.ok()) {
    (void)session->End();
    return fail(Status(s.code(), "the session was not saved, so it was not created: " + s.message()));
  }
  {
    std::unique_lock lock(mu_);
    sessions_[id] = session;
  }
  return session->View();
}

Result<std::shared_ptr<Session>> SessionRegistry::Find(const SessionId& id) const {
  if (id.empty()) return InvalidArgument("session_id is empty");
  std::shared_lock lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !it->second) return NotFound("session_id: no session " + Quoted(id));
  return it->second;
}

std::vector<SessionView> SessionRegistry::List() const {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_)
      if (s) all.push_back(s);
  }
  std::vector<SessionView> out;
  for (const auto& s : all) out.push_back(s->View());
  return out;
}

Status SessionRegistry::End(const SessionId& id) {
  std::shared_ptr<Session> s;
  {
    std::unique_lock lock(mu_);
    if (id.empty()) return InvalidArgument("session_id is empty");
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second) return NotFound("session_id: no session " + Quoted(id));
    s = it->second;
    sessions_.erase(it);
  }
  return s->End();
}

void SessionRegistry::Tick() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_)
      if (s) all.push_back(s);
  }
  for (auto& s : all) s->Tick();
}

uint32_t SessionRegistry::StopOwnedBy(const std::string& owner) {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, s] : sessions_)
      if (s) all.push_back(s);
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
  // Shutdown: the sessions stay in the state store for the next start.
  for (auto& [id, s] : all)
    if (s) (void)s->End(/*forget=*/false);
}

RestoreReport SessionRegistry::Restore(const std::vector<SessionRecord>& sessions,
                                       const std::vector<ListenerRecord>& listeners) {
  RestoreReport total;
  std::map<SessionId, std::vector<ListenerRecord>> by_session;
  for (const auto& l : listeners) by_session[l.session].push_back(l);
  for (const auto& record : sessions) {
    // One session posts a few dozen graph changes: the media thread gets through them before
    // the next session adds more (bounded: a stuck media thread shows as refused changes).
    for (int i = 0; i < 2000 && ports_.media->Backlog() > kRestoreBacklog; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (std::string problem = SessionIdProblem(record.id); !problem.empty()) {
      total.problems.push_back("session " + Quoted(record.id) + ": the id " + problem);
      continue;
    }
    {
      std::unique_lock lock(mu_);
      if (sessions_.count(record.id)) continue;
      sessions_.emplace(record.id, nullptr);
    }
    auto session = std::make_shared<Session>(record.id, record.name, record.default_duck_db, ports_, policy_);
    MediaTiming timing = default_timing_;
    if (record.frame_us) timing.frame_us = record.frame_us;
    if (record.jitter_ms) timing.jitter_ms = record.jitter_ms;
    session->set_timing(timing);
    if (!record.mirror_of.empty()) session->set_mirror_of(record.mirror_of);
    auto restored = session->Restore(record, by_session[record.id]);
    std::unique_lock lock(mu_);
    if (!restored.ok()) {
      sessions_.erase(record.id);
      total.problems.push_back("session " + record.id + ": " + restored.status().message());
      continue;
    }
    sessions_[record.id] = session;
    const RestoreReport& r = restored.value();
    total.channels += r.channels;
    total.consoles += r.consoles;
    total.listeners += r.listeners;
    for (const auto& p : r.problems) total.problems.push_back("session " + record.id + ": " + p);
  }
  return total;
}

}  // namespace tilmash::domain
