#include "client/connect.h"

#include <grpcpp/grpcpp.h>

#include "client/credentials.h"

namespace tilmash::client {

std::shared_ptr<grpc::Channel> Connect(const std::string& target) {
  // TLS with $TILMASH_CA (or plaintext on loopback with $TILMASH_PLAINTEXT=1) and the bearer
  // token from $TILMASH_TOKEN or $TILMASH_TOKEN_FILE.
  return Connect(target, Credentials{});
}

std::shared_ptr<grpc::Channel> Connect(const std::string& target, const Credentials& given) {
  return ConnectWith(target, CredentialsFromEnvironment(given));
}

const char* StatusCodeName(int code) {
  switch (grpc::StatusCode(code)) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

std::string StatusText(const grpc::Status& status) {
  if (status.ok()) return "OK";
  std::string text = StatusCodeName(status.error_code());
  if (!status.error_message().empty()) text += ": " + status.error_message();
  return text;
}

void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

}  // namespace tilmash::client
