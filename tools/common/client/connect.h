// How every tool and test reaches the daemon. One place, so TLS and tokens can be added later
// without touching callers.
#pragma once
#include <chrono>
#include <memory>
#include <string>

namespace grpc {
class Channel;
class ClientContext;
class Status;
}  // namespace grpc

namespace tilmash::client {

inline constexpr const char* kDefaultServer = "127.0.0.1:7300";
// Unary calls give up after this; the daemon answers control calls in milliseconds.
inline constexpr std::chrono::seconds kDefaultRpcTimeout{5};

// Plaintext for now (the daemon listens on loopback); TLS credentials go here.
std::shared_ptr<grpc::Channel> Connect(const std::string& target);

// "NOT_FOUND: session s-1 does not exist" (or "OK").
std::string StatusText(const grpc::Status& status);
const char* StatusCodeName(int code);

// Sets the deadline for a unary call.
void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout = kDefaultRpcTimeout);

}  // namespace tilmash::client
