// What tilmashd's main does around the wiring: the demo session, an edge's sessions restored
// from the state store, the event fan-in, and who may read /metrics.
#pragma once
#include <string>

#include "auth/token.h"
#include "daemon/config.h"
#include "domain/session_registry.h"
#include "graph/mirror_session.h"
#include "store/sqlite_store.h"
#include "web/http_server.h"

namespace tilmash::daemon {

// The demo session (config demo): created, or found back from the state store. 0, or 1 when it
// cannot be created.
int CreateDemoSession(domain::SessionRegistry& registry, const Config& config);

// Sessions an edge mirrored before it stopped come back, listeners and all, while this node
// still mirrors their origin (registered in `mirrors` before the restore, so the media engine
// makes them mirrors again); the others are dropped from `loaded` and from the state.
void RestoreMirrors(store::LoadedState& loaded, const Config& config, graph::MirrorDirectory* mirrors,
                    store::SqliteStore& state);

// Domain events go to the gRPC watchers and to the technician page's feed.
class EventTee : public domain::EventSink {
 public:
  EventTee(domain::EventSink& a, domain::EventSink& b) : a_(a), b_(b) {}
  void OnEvent(const domain::SessionEvent& event) override {
    a_.OnEvent(event);
    b_.OnEvent(event);
  }

 private:
  domain::EventSink& a_;
  domain::EventSink& b_;
};

// What /metrics and the technician's page ask of a bearer token: an operator's or an admin's.
web::MetricsReply StaffOnly(const auth::TokenAuthority& tokens, const std::string& token, const std::string& what);

}  // namespace tilmash::daemon
