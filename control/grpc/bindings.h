// What a token is bound to, checked against what a call touches. Staff (admin, operator)
// are bound to nothing; everyone else to their session, and interpreters to their booth,
// delegates and viewers to their channels and their own streams.
#pragma once
#include <grpcpp/support/status.h>

#include "auth/token.h"
#include "domain/session.h"

namespace tilmash::grpcapi {

grpc::Status CheckDesk(const auth::Claims& who, domain::Session& s, const std::string& console_id);
grpc::Status CheckBooth(const auth::Claims& who, domain::Session& s, const std::string& booth);
grpc::Status CheckChannel(const auth::Claims& who, const std::string& channel);
grpc::Status CheckOwner(const auth::Claims& who, domain::Session& s, const std::string& listener_id);
// Who a message may claim to come from.
grpc::Status CheckSender(const auth::Claims& who, domain::Session& s, const std::string& from);

}  // namespace tilmash::grpcapi
