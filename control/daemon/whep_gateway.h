// WHEP viewers as the daemon admits them, through the same rules as the gRPC side: the bearer
// token passes auth::Access with the rule of ListenerService.Subscribe (roles, session
// binding), the channel binding compares canonical names, the Subscribe rate limit applies,
// and the domain's Session::AddViewer counts the viewer in the token's max_streams together
// with its gRPC streams. The viewer is the domain's (it ends with its connection, its token,
// its channel or its session); this gateway keeps no table of viewers.
#pragma once
#include <string>

#include "auth/access.h"
#include "domain/session_registry.h"
#include "web/http_server.h"

namespace tilmash::daemon {

class WhepGateway : public web::WhepBackend {
 public:
  WhepGateway(auth::Access& access, domain::SessionRegistry& registry) : access_(access), registry_(registry) {}

  void Offer(const std::string& token, const std::string& session, const std::string& channel,
             const std::string& offer_sdp, std::function<void(web::WhepResult)> done) override;
  web::WhepResult End(const std::string& token, const std::string& session, const std::string& viewer) override;

 private:
  auth::Access& access_;
  domain::SessionRegistry& registry_;
};

// The HTTP status of a domain status (401, 403, 400, 404, 409, 429, 500).
int HttpStatus(const domain::Status& s);

}  // namespace tilmash::daemon
