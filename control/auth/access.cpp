#include "auth/access.h"

#include <algorithm>

#include "domain/language.h"

namespace tilmash::auth {

namespace {
const std::set<Role> kStaff = {Role::kAdmin, Role::kOperator};
const std::set<Role> kStaffChair = {Role::kAdmin, Role::kOperator, Role::kChair};
const std::set<Role> kStaffEdge = {Role::kAdmin, Role::kOperator, Role::kEdge};
const std::set<Role> kStaffChairEdge = {Role::kAdmin, Role::kOperator, Role::kChair, Role::kEdge};
const std::set<Role> kDesk = {Role::kAdmin, Role::kOperator, Role::kInterpreter};
const std::set<Role> kBoothView = {Role::kAdmin, Role::kOperator, Role::kChair, Role::kInterpreter};
const std::set<Role> kEveryone = {Role::kAdmin,    Role::kOperator, Role::kChair, Role::kInterpreter,
                                  Role::kDelegate, Role::kViewer,   Role::kEdge};
const std::set<Role> kListeners = {Role::kAdmin,    Role::kOperator, Role::kChair,
                                   Role::kDelegate, Role::kViewer,   Role::kEdge};
}  // namespace

bool IsStaff(Role r) { return r == Role::kAdmin || r == Role::kOperator; }

const std::map<std::string, RpcRule>& Access::Matrix() {
  static const std::map<std::string, RpcRule> m = {
      {"SessionService.CreateSession", {kStaff, true}},
      {"SessionService.GetSession", {kEveryone, false}},
      {"SessionService.ListSessions", {kStaffChairEdge, false}},
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
      {"TokenService.ListRevocations", {kStaffEdge, false}},
      {"AuditService.ListAudit", {kStaff, false}},
      {"RecordingService.StartRecording", {kStaff, true}},
      {"RecordingService.StopRecording", {kStaff, true}},
      {"RecordingService.ListRecordings", {kStaff, false}},
  };
  return m;
}

domain::Result<Claims> Access::Admit(const std::string& bearer, const std::string& call,
                                     const std::string& session) const {
  const auto& matrix = Matrix();
  auto rule = matrix.find(call);
  if (rule == matrix.end()) return domain::Internal("no rule for " + call);
  auto claims = tokens_.Verify(bearer);
  if (!claims.ok()) return domain::Unauthenticated(claims.status().message());
  const Claims& who = claims.value();
  if (!rule->second.roles.count(who.role))
    return domain::PermissionDenied(call + " is not allowed for role " + RoleName(who.role));
  const bool any_session = IsStaff(who.role) || (who.role == Role::kEdge && who.session.empty());
  if (!any_session && !session.empty() && who.session != session)
    return domain::PermissionDenied("session_id: the token is bound to another session");
  return claims;
}

void Access::Record(const Claims& who, const std::string& call, const std::string& target, const std::string& result) {
  auto rule = Matrix().find(call);
  if (rule == Matrix().end() || !rule->second.audited) return;
  audit_.Append(AuditEntry{std::chrono::system_clock::now(), who.subject, who.role, who.id, call, target, result});
}

domain::Status CheckDesk(const Claims& who, domain::Session& s, const std::string& console_id) {
  if (who.role != Role::kInterpreter) return domain::Status::Ok();
  for (const auto& c : s.View().consoles)
    if (c.id == console_id && c.booth != who.booth)
      return domain::PermissionDenied("console_id: the token is bound to booth " + who.booth);
  return domain::Status::Ok();  // an unknown console is the domain's NOT_FOUND
}

domain::Status CheckBooth(const Claims& who, const std::string& booth) {
  if (who.role != Role::kInterpreter) return domain::Status::Ok();
  if (!domain::IsValidLanguageTag(booth) || domain::CanonicalLanguageTag(booth) != who.booth)
    return domain::PermissionDenied("booth: the token is bound to booth " + who.booth);
  return domain::Status::Ok();
}

domain::Status CheckChannel(const Claims& who, const std::string& channel) {
  if (IsStaff(who.role) || who.channels.empty()) return domain::Status::Ok();
  const std::string canon = channel == domain::kFloorChannel || !domain::IsValidLanguageTag(channel)
                                ? channel
                                : domain::CanonicalLanguageTag(channel);
  if (std::find(who.channels.begin(), who.channels.end(), canon) == who.channels.end())
    return domain::PermissionDenied("channel: the token does not include channel " + domain::Quoted(canon));
  return domain::Status::Ok();
}

domain::Status CheckOwner(const Claims& who, domain::Session& s, const std::string& id) {
  if (IsStaff(who.role)) return domain::Status::Ok();
  const std::string owner = s.OwnerOf(id);
  if (!owner.empty() && owner != who.id)
    return domain::PermissionDenied("listener_id: the stream belongs to another token");
  return domain::Status::Ok();
}

domain::Status CheckSender(const Claims& who, domain::Session& s, const std::string& from) {
  switch (who.role) {
    case Role::kAdmin:
    case Role::kOperator:
      return domain::Status::Ok();
    case Role::kChair:
      return from == "chair" ? domain::Status::Ok()
                             : domain::PermissionDenied("message.from: a chair token sends as chair");
    case Role::kInterpreter:
      if (from == "chair" || from == "technician")
        return domain::PermissionDenied("message.from: an interpreter sends from a console");
      return CheckDesk(who, s, from);
    default:
      return domain::PermissionDenied("message.from: this role sends no messages");
  }
}

}  // namespace tilmash::auth
