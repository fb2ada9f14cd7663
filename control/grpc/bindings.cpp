#include "grpc/bindings.h"

#include <algorithm>

#include "domain/language.h"
#include "grpc/authz.h"

namespace tilmash::grpcapi {

using auth::Role;

grpc::Status CheckDesk(const auth::Claims& who, domain::Session& s, const std::string& console_id) {
  if (who.role != Role::kInterpreter) return grpc::Status::OK;
  for (const auto& c : s.View().consoles)
    if (c.id == console_id && c.booth != who.booth)
      return Denied("console_id: the token is bound to booth " + who.booth);
  return grpc::Status::OK;  // an unknown console is the domain's NOT_FOUND
}

grpc::Status CheckBooth(const auth::Claims& who, domain::Session& s, const std::string& booth) {
  if (who.role != Role::kInterpreter) return grpc::Status::OK;
  if (!domain::IsValidLanguageTag(booth) || domain::CanonicalLanguageTag(booth) != who.booth)
    return Denied("booth: the token is bound to booth " + who.booth);
  return grpc::Status::OK;
}

grpc::Status CheckChannel(const auth::Claims& who, const std::string& channel) {
  if (IsStaff(who.role) || who.channels.empty()) return grpc::Status::OK;
  const std::string canon = channel == domain::kFloorChannel || !domain::IsValidLanguageTag(channel)
                                ? channel
                                : domain::CanonicalLanguageTag(channel);
  if (std::find(who.channels.begin(), who.channels.end(), canon) == who.channels.end())
    return Denied("channel: the token does not include channel " + canon);
  return grpc::Status::OK;
}

grpc::Status CheckOwner(const auth::Claims& who, domain::Session& s, const std::string& id) {
  if (IsStaff(who.role)) return grpc::Status::OK;
  const std::string owner = s.OwnerOf(id);
  if (!owner.empty() && owner != who.id) return Denied("listener_id: the stream belongs to another token");
  return grpc::Status::OK;
}

grpc::Status CheckSender(const auth::Claims& who, domain::Session& s, const std::string& from) {
  switch (who.role) {
    case Role::kAdmin:
    case Role::kOperator:
      return grpc::Status::OK;
    case Role::kChair:
      return from == "chair" ? grpc::Status::OK : Denied("message.from: a chair token sends as chair");
    case Role::kInterpreter:
      if (from == "chair" || from == "technician") return Denied("message.from: an interpreter sends from a console");
      return CheckDesk(who, s, from);
    default:
      return Denied("message.from: this role sends no messages");
  }
}

}  // namespace tilmash::grpcapi
