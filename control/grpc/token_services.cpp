// TokenService (mint / revoke bearer tokens) and AuditService (read the audit log).
#include "grpc/convert.h"
#include "grpc/services.h"

namespace tilmash::grpcapi {

using auth::Role;

namespace {
constexpr uint32_t kDefaultTtl = 12 * 3600;
constexpr uint32_t kMaxTtl = 7 * 24 * 3600;

bool FromProto(v1::Role r, Role* out) {
  switch (r) {
    case v1::ADMIN:
      *out = Role::kAdmin;
      return true;
    case v1::OPERATOR:
      *out = Role::kOperator;
      return true;
    case v1::CHAIR:
      *out = Role::kChair;
      return true;
    case v1::INTERPRETER:
      *out = Role::kInterpreter;
      return true;
    case v1::DELEGATE:
      *out = Role::kDelegate;
      return true;
    case v1::VIEWER:
      *out = Role::kViewer;
      return true;
    case v1::EDGE:
      *out = Role::kEdge;
      return true;
    default:
      return false;
  }
}

v1::Role ToProto(Role r) {
  switch (r) {
    case Role::kAdmin:
      return v1::ADMIN;
    case Role::kOperator:
      return v1::OPERATOR;
    case Role::kChair:
      return v1::CHAIR;
    case Role::kInterpreter:
      return v1::INTERPRETER;
    case Role::kDelegate:
      return v1::DELEGATE;
    case Role::kViewer:
      return v1::VIEWER;
    case Role::kEdge:
      return v1::EDGE;
  }
  return v1::ROLE_UNSPECIFIED;
}

grpc::Status Invalid(const std::string& m) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m); }
}  // namespace

grpc::Status TokenServiceImpl::MintToken(grpc::ServerContext* ctx, const v1::MintTokenRequest* req,
                                         v1::MintTokenResponse* resp) {
  return authz_.Run(ctx, "TokenService.MintToken", "", [&](const auth::Claims& who) -> grpc::Status {
    if (!authz_.mint_limit().Allow(who.id))
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "token minting rate exceeded for " + who.subject);
    auth::Claims c;
    if (!FromProto(req->role(), &c.role)) return Invalid("role must be set");
    if (who.role == Role::kOperator && IsStaff(c.role))
      return Denied("role: an operator mints chair, interpreter, delegate and viewer tokens only");
    if (req->subject().empty() || req->subject().size() > 200) return Invalid("subject must be 1-200 characters");
    if (req->ttl_seconds() > kMaxTtl) return Invalid("ttl_seconds must be at most 604800 (7 days)");
    c.subject = req->subject();
    if (c.role == Role::kEdge && req->session_id().empty()) {
      // An edge of every session the node has, now or later.
    } else if (!IsStaff(c.role)) {
      auto s = registry_.Find(req->session_id());
      if (!s.ok()) return ToGrpc(s.status());
      c.session = req->session_id();
      if (c.role == Role::kInterpreter) {
        if (req->booth().empty()) return Invalid("booth is required for an interpreter token");
        auto b = s.value()->Booth(req->booth());
        if (!b.ok()) return ToGrpc(b.status());
        c.booth = b->language;
      }
      if (c.role == Role::kDelegate || c.role == Role::kViewer) {
        c.channels.assign(req->channels().begin(), req->channels().end());
        c.max_streams = req->max_streams() == 0 ? 1 : req->max_streams();
      }
    }
    const uint32_t ttl = req->ttl_seconds() == 0 ? kDefaultTtl : req->ttl_seconds();
    c.expires = std::chrono::system_clock::now() + std::chrono::seconds(ttl);
    const std::string token = authz_.tokens().Mint(c);
    // Recorded before it answers; a token the ledger did not take is not handed out.
    if (auto saved = authz_.tokens().RecordIssued(c); !saved.ok()) return ToGrpc(saved);
    resp->set_token(token);
    resp->set_token_id(c.id);
    resp->set_expires_unix(std::chrono::duration_cast<std::chrono::seconds>(c.expires.time_since_epoch()).count());
    return grpc::Status::OK;
  });
}

grpc::Status TokenServiceImpl::RevokeToken(grpc::ServerContext* ctx, const v1::RevokeTokenRequest* req,
                                           v1::RevokeTokenResponse* resp) {
  return authz_.Run(
      ctx, "TokenService.RevokeToken", "",
      [&](const auth::Claims&) -> grpc::Status {
        if (req->token_id().empty()) return Invalid("token_id is empty");
        if (auto saved = authz_.tokens().Revoke(req->token_id()); !saved.ok()) return ToGrpc(saved);
        // Its streams and desks end now, not when the token would have expired.
        resp->set_streams_stopped(registry_.StopOwnedBy(req->token_id()));
        return grpc::Status::OK;
      },
      req->token_id());
}

grpc::Status TokenServiceImpl::ListRevocations(grpc::ServerContext* ctx, const v1::ListRevocationsRequest*,
                                               v1::ListRevocationsResponse* resp) {
  return authz_.Run(ctx, "TokenService.ListRevocations", "", [&](const auth::Claims&) -> grpc::Status {
    for (const auto& id : authz_.tokens().RevokedIds()) resp->add_token_ids(id);
    return grpc::Status::OK;
  });
}

grpc::Status AuditServiceImpl::ListAudit(grpc::ServerContext* ctx, const v1::ListAuditRequest* req,
                                         v1::ListAuditResponse* resp) {
  return authz_.Run(ctx, "AuditService.ListAudit", "", [&](const auth::Claims&) -> grpc::Status {
    const auto since = std::chrono::system_clock::time_point(std::chrono::milliseconds(req->since_unix_ms()));
    for (const auto& e : authz_.audit().Since(since, req->limit() == 0 ? 1000 : req->limit())) {
      auto* out = resp->add_entries();
      out->set_unix_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count());
      out->set_subject(e.subject);
      out->set_role(ToProto(e.role));
      out->set_token_id(e.token_id);
      out->set_action(e.action);
      out->set_target(e.target);
      out->set_result(e.result);
    }
    return grpc::Status::OK;
  });
}

}  // namespace tilmash::grpcapi
