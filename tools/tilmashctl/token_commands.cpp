// tilmashctl: tokens and the audit log (TokenService, AuditService).
#include <map>

#include "command.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::ctl {

namespace {

using client::SetDeadline;

const std::map<std::string, v1::Role> kRoles = {
    {"admin", v1::ADMIN},       {"operator", v1::OPERATOR}, {"chair", v1::CHAIR}, {"interpreter", v1::INTERPRETER},
    {"delegate", v1::DELEGATE}, {"viewer", v1::VIEWER},     {"edge", v1::EDGE},
};

struct MintOptions {
  std::string role, subject, session, booth;
  std::vector<std::string> channels;
  uint32_t max_streams = 0, ttl_seconds = 0;
};

// The token alone on stdout (TOKEN=$(tilmashctl token mint ...)); its id and expiry on stderr.
int Mint(Context& ctx, const MintOptions& o) {
  v1::MintTokenRequest request;
  request.set_role(kRoles.at(o.role));
  request.set_subject(o.subject);
  request.set_session_id(o.session);
  request.set_booth(o.booth);
  for (const auto& c : o.channels) request.add_channels(c);
  request.set_max_streams(o.max_streams);
  request.set_ttl_seconds(o.ttl_seconds);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::MintTokenResponse response;
  const auto status = v1::TokenService::NewStub(ctx.channel())->MintToken(&context, request, &response);
  return Report<v1::MintTokenResponse>(ctx, "MintToken", status, response, [](const v1::MintTokenResponse& r) {
    std::cout << r.token() << "\n";
    std::cerr << "token id " << r.token_id() << ", expires " << DateTimeText(r.expires_unix() * 1000) << "\n";
  });
}

int Revoke(Context& ctx, const std::string& token_id) {
  v1::RevokeTokenRequest request;
  request.set_token_id(token_id);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::RevokeTokenResponse response;
  const auto status = v1::TokenService::NewStub(ctx.channel())->RevokeToken(&context, request, &response);
  return Report<v1::RevokeTokenResponse>(ctx, "RevokeToken", status, response, [&](const auto& r) {
    std::cout << "token " << token_id << " revoked, " << r.streams_stopped() << " stream(s) stopped\n";
  });
}

struct AuditOptions {
  int64_t since_ms = 0;
  uint32_t limit = 0;
};

int Audit(Context& ctx, const AuditOptions& o) {
  v1::ListAuditRequest request;
  request.set_since_unix_ms(o.since_ms);
  request.set_limit(o.limit);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::ListAuditResponse response;
  const auto status = v1::AuditService::NewStub(ctx.channel())->ListAudit(&context, request, &response);
  return Report<v1::ListAuditResponse>(ctx, "ListAudit", status, response, PrintAudit);
}

}  // namespace

void AddTokenCommands(CLI::App& app, Context& ctx, Action& action) {
  auto* token = app.add_subcommand("token", "mint and revoke bearer tokens")->require_subcommand(1);
  {
    auto o = std::make_shared<MintOptions>();
    auto* cmd = token->add_subcommand(
        "mint", "mint a token; prints the token alone (TOKEN=$(tilmashctl token mint ...)), --json the whole response");
    std::vector<std::string> roles;
    for (const auto& [name, role] : kRoles) roles.push_back(name);
    cmd->add_option("--role", o->role, "admin, operator, chair, interpreter, delegate, viewer or edge")
        ->required()
        ->check(CLI::IsMember(roles));
    cmd->add_option("--subject", o->subject, "who: a name or badge number, shown in the audit log")->required();
    cmd->add_option("--session", o->session,
                    "session id (chair, interpreter, delegate, viewer; an edge: only this one, default all)");
    cmd->add_option("--booth", o->booth, "booth language (interpreter)");
    cmd->add_option("--channels", o->channels, "allowed channels, e.g. en,ru (delegate, viewer; default all)")
        ->delimiter(',');
    cmd->add_option("--max-streams", o->max_streams, "concurrent streams (delegate, viewer; 0 = 1)");
    cmd->add_option("--ttl", o->ttl_seconds, "lifetime in seconds (0 = 12 hours)");
    cmd->callback([&, o] { action = [&ctx, o] { return Mint(ctx, *o); }; });
  }
  {
    auto id = std::make_shared<std::string>();
    auto* cmd = token->add_subcommand("revoke", "revoke a token and stop the streams and consoles it holds");
    cmd->add_option("token_id", *id, "the token_id from token mint")->required();
    cmd->callback([&, id] { action = [&ctx, id] { return Revoke(ctx, *id); }; });
  }
  {
    auto o = std::make_shared<AuditOptions>();
    auto* cmd = app.add_subcommand("audit", "the audit log: who did what, when, with what result");
    cmd->add_option("--since-ms", o->since_ms, "entries at or after this Unix time in ms (0 = all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--limit", o->limit, "at most this many entries (0 = server default 1000)");
    cmd->callback([&, o] { action = [&ctx, o] { return Audit(ctx, *o); }; });
  }
}

}  // namespace tilmash::ctl
