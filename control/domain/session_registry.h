// All sessions of this node. The gRPC adapters start here.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "domain/session.h"

namespace tilmash::domain {

struct SessionSpec {
  std::string id;  // empty: a random id; else it must pass SessionIdProblem
  std::string name;
  std::vector<std::string> languages;
  std::string floor_language;
  FloorSource floor_source;  // NoSource: silence until set
  std::optional<double> floor_duck_db;
  std::optional<double> loudness_target_lufs;  // unset: the registry's default; 0: no leveling
  std::optional<double> frame_ms;              // 2.5, 5, 10 or 20; unset: the registry's default
  std::optional<uint32_t> jitter_ms;           // 1-200; unset: the registry's default
  std::string mirror_of;                       // an edge's mirror of an origin's session (Session::set_mirror_of)
};

// "" when `id` may name a session (1-64 of a-z, 0-9, '-', '_', starting with a letter or digit:
// it appears in URLs and file names), else why not.
std::string SessionIdProblem(const std::string& id);

class SessionRegistry {
 public:
  explicit SessionRegistry(SessionPorts ports, double default_duck_db = kDefaultFloorDuckDb, ListenerPolicy policy = {})
      : ports_(ports), default_duck_db_(default_duck_db), policy_(std::move(policy)) {}
  ~SessionRegistry();

  // The leveling target of sessions created without one (LUFS, 0: off); before serving.
  void set_default_loudness_target_lufs(double lufs) { default_loudness_lufs_ = lufs; }
  // The media timing of sessions created without their own (the node's frame_ms, jitter_ms).
  void set_default_timing(const MediaTiming& timing) { default_timing_ = timing; }
  Result<SessionView> Create(const SessionSpec& spec);
  Result<std::shared_ptr<Session>> Find(const SessionId& id) const;
  std::vector<SessionView> List() const;
  Status End(const SessionId& id);
  // Ends every session without forgetting it in the state store (shutdown).
  void EndAll();
  // At start, before serving: brings back the sessions and listeners of the state store.
  RestoreReport Restore(const std::vector<SessionRecord>& sessions, const std::vector<ListenerRecord>& listeners);
  // Time-driven rules (handover timeouts, listener leases, key rotation) of every session.
  void Tick();
  // Ends everything a revoked token started, in every session.
  uint32_t StopOwnedBy(const std::string& owner);
  // The server is shutting down: running streams go on, new listeners and viewers are refused
  // (AdmitStream says why).
  void Drain() { draining_.store(true); }
  // Ok, or UNAVAILABLE while draining.
  Status AdmitStream() const {
    return draining_.load() ? Unavailable(
                                  "the server is shutting down (draining): subscribe again on another node "
                                  "or after the restart")
                            : Status::Ok();
  }

 private:
  SessionPorts ports_;
  const double default_duck_db_;
  double default_loudness_lufs_ = kDefaultLoudnessTargetLufs;
  MediaTiming default_timing_;
  const ListenerPolicy policy_;
  mutable std::shared_mutex mu_;
  std::map<SessionId, std::shared_ptr<Session>> sessions_;
  std::atomic<bool> draining_{false};
};

}  // namespace tilmash::domain
