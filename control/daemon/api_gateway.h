// tilmash.v1 as JSON over HTTP (POST /api/v1/{Service}/{Method}), for the booth page and for
// scripts without a gRPC stack. Each request is the RPC itself: converted with protobuf's JSON
// mapping (proto3 JSON: lowerCamelCase fields, enum names) and sent through the daemon's own
// gRPC server over an in-process channel with the caller's bearer token, so every rule of the
// gRPC side (authentication, roles and bindings, validation, rate limits, audit, metrics)
// applies unchanged. Server-streaming methods (WatchBooth, WatchSession, ...) are relayed
// message by message.
#pragma once
#include <memory>
#include <string>

#include "web/http_server.h"

namespace grpc {
class Channel;
}

namespace tilmash::daemon {

class ApiGateway : public web::ApiBackend {
 public:
  explicit ApiGateway(std::shared_ptr<grpc::Channel> channel);
  ~ApiGateway() override;

  bool Streaming(const std::string& method) const override;
  void Call(const std::string& token, const std::string& method, const std::string& json,
            std::function<void(web::ApiReply)> done) override;
  std::function<void()> Watch(const std::string& token, const std::string& method, const std::string& json,
                              std::function<void(std::string)> on_message,
                              std::function<void(web::ApiReply)> on_end) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HTTP status of a gRPC status code (numeric, grpc::StatusCode).
int HttpStatusOfGrpc(int code);

}  // namespace tilmash::daemon
