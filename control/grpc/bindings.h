// The bindings of auth/access.h (Check*) as gRPC statuses, for the handlers.
#pragma once
#include <grpcpp/support/status.h>

#include "auth/access.h"
#include "grpc/convert.h"

namespace tilmash::grpcapi {

inline grpc::Status BindDesk(const auth::Claims& who, domain::Session& s, const std::string& console_id) {
  return ToGrpc(auth::CheckDesk(who, s, console_id));
}
inline grpc::Status BindBooth(const auth::Claims& who, domain::Session&, const std::string& booth) {
  return ToGrpc(auth::CheckBooth(who, booth));
}
inline grpc::Status BindChannel(const auth::Claims& who, const std::string& channel) {
  return ToGrpc(auth::CheckChannel(who, channel));
}
inline grpc::Status BindOwner(const auth::Claims& who, domain::Session& s, const std::string& listener_id) {
  return ToGrpc(auth::CheckOwner(who, s, listener_id));
}
inline grpc::Status BindSender(const auth::Claims& who, domain::Session& s, const std::string& from) {
  return ToGrpc(auth::CheckSender(who, s, from));
}

}  // namespace tilmash::grpcapi
