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

struct Credentials;

inline constexpr const char* kDefaultServer = "127.0.0.1:7300";
// Unary calls give up after this; the daemon answers control calls in milliseconds.
inline constexpr std::chrono::seconds kDefaultRpcTimeout{5};

// Credentials come from the environment: TILMASH_CA (PEM of the daemon's CA), or
// TILMASH_PLAINTEXT=1 for a loopback daemon started with --plaintext; TILMASH_TOKEN or
// TILMASH_TOKEN_FILE (bearer token from `tilmashctl token mint` or --admin-token-file).
std::shared_ptr<grpc::Channel> Connect(const std::string& target);
// The same with what the command line gave (--token, --token-file, --ca, --plaintext, --cert,
// --key; see AddCredentialOptions): given values win, the environment fills the rest.
std::shared_ptr<grpc::Channel> Connect(const std::string& target, const Credentials& given);

// "NOT_FOUND: session s-1 does not exist" (or "OK").
std::string StatusText(const grpc::Status& status);
const char* StatusCodeName(int code);

// Sets the deadline for a unary call.
void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout = kDefaultRpcTimeout);

}  // namespace tilmash::client
