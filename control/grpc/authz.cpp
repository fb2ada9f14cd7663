#include "grpc/authz.h"

#include "grpc/convert.h"

namespace tilmash::grpcapi {

grpc::Status Denied(const std::string& why) { return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, why); }

namespace {
std::string BearerOf(grpc::ServerContextBase* ctx) {
  auto md = ctx->client_metadata().equal_range("authorization");
  if (md.first == md.second) return "";
  const std::string value(md.first->second.data(), md.first->second.size());
  return value.rfind("Bearer ", 0) == 0 ? value.substr(7) : "";
}
}  // namespace

domain::Result<auth::Claims> Authorizer::Admit(grpc::ServerContextBase* ctx, const char* rpc,
                                               const std::string& session) {
  return access_.Admit(BearerOf(ctx), rpc, session);
}

grpc::Status Authorizer::Run(grpc::ServerContextBase* ctx, const char* rpc, const std::string& session,
                             const Body& body, const std::string& target) {
  auto claims = Admit(ctx, rpc, session);
  if (!claims.ok()) return ToGrpc(claims.status());
  const auth::Claims& who = claims.value();
  grpc::Status result = body(who);
  access_.Record(who, rpc, target.empty() ? session : target,
                 result.ok() ? "OK" : std::to_string(int(result.error_code())) + ": " + result.error_message());
  return result;
}

}  // namespace tilmash::grpcapi
