#include "grpc/authz.h"

#include "log/log.h"

namespace tilmash::grpcapi {

using auth::Role;

namespace {
const std::set<Role> kStaff = {Role::kAdmin, Role::kOperator};
const std::set<Role> kStaffChair = {Role::kAdmin, Role::kOperator, Role::kChair};
const std::set<Role> kDesk = {Role::kAdmin, Role::kOperator, Role::kInterpreter};
const std::set<Role> kBoothView = {Role::kAdmin, Role::kOperator, Role::kChair, Role::kInterpreter};
const std::set<Role> kEveryone = {Role::kAdmin,       Role::kOperator, Role::kChair,
                                  Role::kInterpreter, Role::kDelegate, Role::kViewer};
const std::set<Role> kListeners = {Role::kAdmin, Role::kOperator, Role::kChair, Role::kDelegate, Role::kViewer};
}  // namespace

bool IsStaff(Role r) { return r == Role::kAdmin || r == Role::kOperator; }

grpc::Status Denied(const std::string& why) { return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, why); }

const std::map<std::string, RpcRule>& Authorizer::Matrix() {
  static const std::map<std::string, RpcRule> m = {
      {"SessionService.CreateSession", {kStaff, true}},
      {"SessionService.GetSession", {kEveryone, false}},
      {"SessionService.ListSessions", {kStaffChair, false}},
      {"SessionService.EndSession", {kStaff, true}},
      {"SessionService.AddChannel", {kStaff, true}},
      {"SessionService.RemoveChannel", {kStaff, true}},
      {"SessionService.SetChannelDucking", {kStaff, true}},
      {"SessionService.SetFloorSource", {kStaff, true}},
      {"SessionService.SetFloorLanguage", {kStaffChair, true}},
      {"SessionService.GetSessionStats", {kStaff, false}},
      {"SessionService.WatchSession", {kBoothView, false}},
      {"BoothService.JoinConsole", {kDesk, true}},
      {"BoothService.LeaveConsole", {kDesk, true}},
      {"BoothService.SetMic", {kDesk, false}},
      {"BoothService.Cough", {kDesk, false}},
      {"BoothService.SelectOutput", {kDesk, false}},
      {"BoothService.SelectInput", {kDesk, false}},
      {"BoothService.RequestHandover", {kDesk, false}},
      {"BoothService.AcceptHandover", {kDesk, false}},
      {"BoothService.DeclineHandover", {kDesk, false}},
      {"BoothService.SendMessage", {kBoothView, true}},
      {"BoothService.ConfigureBooth", {kStaff, true}},
      {"BoothService.GetBooth", {kBoothView, false}},
      {"BoothService.SetInterlockMode", {kStaff, true}},
      {"BoothService.SetBroadcastState", {kStaffChair, true}},
      {"BoothService.WatchBooth", {kBoothView, false}},
      {"ListenerService.Subscribe", {kListeners, false}},
      {"ListenerService.SwitchChannel", {kListeners, false}},
      {"ListenerService.Unsubscribe", {kListeners, false}},
      {"ListenerService.KeepAlive", {kListeners, false}},
      {"ListenerService.WatchKeys", {kListeners, false}},
      {"TokenService.MintToken", {kStaff, true}},
      {"TokenService.RevokeToken", {kStaff, true}},
      {"AuditService.ListAudit", {kStaff, false}},
  };
  return m;
}

grpc::Status Authorizer::Run(grpc::ServerContext* ctx, const char* rpc, const std::string& session, const Body& body,
                             const std::string& target) {
  const auto& matrix = Matrix();
  auto rule = matrix.find(rpc);
  if (rule == matrix.end()) return grpc::Status(grpc::StatusCode::INTERNAL, std::string("no rule for ") + rpc);
  std::string token;
  auto md = ctx->client_metadata().equal_range("authorization");
  if (md.first != md.second) {
    std::string value(md.first->second.data(), md.first->second.size());
    if (value.rfind("Bearer ", 0) == 0) token = value.substr(7);
  }
  auto claims = tokens_.Verify(token);
  if (!claims.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, claims.status().message());
  const auth::Claims& who = claims.value();
  if (!rule->second.roles.count(who.role))
    return Denied(std::string(rpc) + " is not allowed for role " + auth::RoleName(who.role));
  if (!IsStaff(who.role) && !session.empty() && who.session != session)
    return Denied("session_id: the token is bound to another session");
  grpc::Status result = body(who);
  if (rule->second.audited) {
    audit_.Append(auth::AuditEntry{
        std::chrono::system_clock::now(), who.subject, who.role, who.id, rpc, target.empty() ? session : target,
        result.ok() ? "OK" : std::to_string(int(result.error_code())) + ": " + result.error_message()});
  }
  return result;
}

}  // namespace tilmash::grpcapi
