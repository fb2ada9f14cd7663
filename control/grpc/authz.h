// The gRPC face of auth::Access: the bearer token from the call's metadata, the role matrix
// and session binding, then the handler body, then the audit. Handlers run their body
// through Run(); streams admit with Admit() and keep the claims.
#pragma once
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>

#include "auth/access.h"

namespace tilmash::grpcapi {

using auth::IsStaff;

class Authorizer {
 public:
  explicit Authorizer(auth::Access& access) : access_(access) {}

  using Body = std::function<grpc::Status(const auth::Claims&)>;
  // Token -> UNAUTHENTICATED; role or session binding -> PERMISSION_DENIED; then the body;
  // audited calls are recorded with their result.
  grpc::Status Run(grpc::ServerContextBase* ctx, const char* rpc, const std::string& session, const Body& body,
                   const std::string& target = "");
  domain::Result<auth::Claims> Admit(grpc::ServerContextBase* ctx, const char* rpc, const std::string& session);

  auth::Access& access() { return access_; }
  auth::TokenAuthority& tokens() { return access_.tokens(); }
  auth::AuditLog& audit() { return access_.audit(); }
  auth::RateLimiter& subscribe_limit() { return access_.subscribe_limit(); }
  auth::RateLimiter& mint_limit() { return access_.mint_limit(); }

 private:
  auth::Access& access_;
};

grpc::Status Denied(const std::string& why);

}  // namespace tilmash::grpcapi
