// Who may do what, for every way into the daemon (gRPC and HTTP alike): a bearer token
// (TokenAuthority), the role x call matrix, the token's bindings (session, booth, channels,
// its own streams), rate limits, and the audit of staff actions. Transport-free: the gRPC
// adapters (control/grpc/authz.h) and the WHEP gateway map its statuses to their own codes.
#pragma once
#include <map>
#include <set>
#include <string>

#include "auth/audit_log.h"
#include "auth/rate_limiter.h"
#include "auth/token.h"
#include "domain/session.h"

namespace tilmash::auth {

struct RpcRule {
  std::set<Role> roles;
  bool audited = false;  // a staff action that changes something
};

class Access {
 public:
  Access(TokenAuthority& tokens, AuditLog& audit) : tokens_(tokens), audit_(audit) {}

  // Every call of tilmash.v1 by "Service.Method" (the test walks it). WHEP uses the rules of
  // ListenerService.Subscribe (an offer) and ListenerService.Unsubscribe (a DELETE).
  static const std::map<std::string, RpcRule>& Matrix();

  // The caller's claims when its bearer token may make `call` on `session` ("" when the call
  // names none): UNAUTHENTICATED for a missing, forged, expired or revoked token,
  // PERMISSION_DENIED for its role or its session binding.
  domain::Result<Claims> Admit(const std::string& bearer, const std::string& call, const std::string& session) const;
  // Appends the outcome of an audited call to the audit log (others: nothing).
  void Record(const Claims& who, const std::string& call, const std::string& target, const std::string& result);

  TokenAuthority& tokens() { return tokens_; }
  AuditLog& audit() { return audit_; }
  RateLimiter& subscribe_limit() { return subscribe_limit_; }
  RateLimiter& mint_limit() { return mint_limit_; }

 private:
  TokenAuthority& tokens_;
  AuditLog& audit_;
  // Per principal: a delegate's app may retry, but cannot flood.
  RateLimiter subscribe_limit_{20, 40};
  RateLimiter mint_limit_{50, 100};
};

// Staff may act on any session; everyone else only on the session in their token.
bool IsStaff(Role r);
// Staff and edges open any number of streams; delegates and viewers as many as their token says.
inline bool UnlimitedStreams(Role r) { return IsStaff(r) || r == Role::kEdge; }

// Bindings: what a call touches, against what the token is bound to (PERMISSION_DENIED).
domain::Status CheckDesk(const Claims& who, domain::Session& s, const std::string& console_id);
domain::Status CheckBooth(const Claims& who, const std::string& booth);
// `channel` as the caller wrote it; compared in canonical form.
domain::Status CheckChannel(const Claims& who, const std::string& channel);
domain::Status CheckOwner(const Claims& who, domain::Session& s, const std::string& listener_id);
// Who a message may claim to come from.
domain::Status CheckSender(const Claims& who, domain::Session& s, const std::string& from);

}  // namespace tilmash::auth
