// WHEP viewers as the daemon admits them: the bearer token must be valid, unrevoked and allow
// the session and channel (viewer, delegate, operator, admin); its max_streams bounds the
// viewers it holds at once. A viewer whose token is revoked or expires ends within one Tick.
#pragma once
#include <map>
#include <mutex>
#include <string>

#include "auth/token.h"
#include "domain/ports.h"
#include "domain/session_registry.h"
#include "graph/media_engine_gst.h"
#include "web/http_server.h"

namespace tilmash::daemon {

class WhepGateway : public web::WhepBackend {
 public:
  WhepGateway(const auth::TokenAuthority& tokens, domain::SessionRegistry& registry, graph::MediaEngineGst& media,
              domain::KeyProvider& ids)
      : tokens_(tokens), registry_(registry), media_(media), ids_(ids) {}
  ~WhepGateway() override;

  void Offer(const std::string& token, const std::string& session, const std::string& channel,
             const std::string& offer_sdp, std::function<void(web::WhepResult)> done) override;
  int End(const std::string& token, const std::string& resource) override;
  // Ends viewers whose token was revoked or has expired, whose session ended, or whose
  // handshake or peer connection failed.
  void Tick();
  std::size_t Viewers() const;

 private:
  struct Viewer {
    std::string session, channel, token_id, subject;
    std::chrono::system_clock::time_point expires;
    std::shared_ptr<graph::WebrtcHandshake> handshake;
  };
  void Remove(const std::string& id);

  const auth::TokenAuthority& tokens_;
  domain::SessionRegistry& registry_;
  graph::MediaEngineGst& media_;
  domain::KeyProvider& ids_;
  mutable std::mutex mu_;
  std::map<std::string, Viewer> viewers_;
};

}  // namespace tilmash::daemon
