// Authentication and authorisation of every RPC: a bearer token (TokenAuthority), the role
// matrix below, the token's bindings (session, booth, channels), and the audit of staff actions.
// Handlers run their body through Run(), which does all of it in one place.
#pragma once
#include <grpcpp/server_context.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "auth/audit_log.h"
#include "auth/rate_limiter.h"
#include "auth/token.h"

namespace tilmash::grpcapi {

struct RpcRule {
  std::set<auth::Role> roles;
  bool audited = false;  // a staff action that changes something
};

class Authorizer {
 public:
  Authorizer(auth::TokenAuthority& tokens, auth::AuditLog& audit) : tokens_(tokens), audit_(audit) {}

  // Every RPC of tilmash.v1 by "Service.Method"; the test walks it.
  static const std::map<std::string, RpcRule>& Matrix();

  using Body = std::function<grpc::Status(const auth::Claims&)>;
  // Token -> UNAUTHENTICATED; role or session binding -> PERMISSION_DENIED; then the body;
  // audited RPCs are recorded with their result.
  grpc::Status Run(grpc::ServerContext* ctx, const char* rpc, const std::string& session, const Body& body,
                   const std::string& target = "");

  auth::TokenAuthority& tokens() { return tokens_; }
  auth::AuditLog& audit() { return audit_; }
  auth::RateLimiter& subscribe_limit() { return subscribe_limit_; }
  auth::RateLimiter& mint_limit() { return mint_limit_; }

 private:
  auth::TokenAuthority& tokens_;
  auth::AuditLog& audit_;
  // Per principal: a delegate's app may retry, but cannot flood.
  auth::RateLimiter subscribe_limit_{20, 40};
  auth::RateLimiter mint_limit_{50, 100};
};

// Staff may act on any session; everyone else only on the session in their token.
bool IsStaff(auth::Role r);
grpc::Status Denied(const std::string& why);

}  // namespace tilmash::grpcapi
