// The gRPC control plane: SessionService, BoothService, ListenerService over one server.
// No grpcpp in this header, so the daemon's main stays cheap to compile.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "domain/session_registry.h"
#include "metrics/rpc_metrics.h"

namespace grpc {
class Channel;
}

namespace tilmash::grpcapi {

class EventHub;
class Authorizer;

struct ServerOptions {
  std::string listen = "127.0.0.1:7300";
  // TLS by default; plaintext only when asked for, and then only on loopback (gRPC local
  // credentials: the server refuses any non-loopback peer).
  bool plaintext = false;
  std::string tls_cert, tls_key;  // PEM files
  std::string tls_client_ca;      // PEM: when set, clients may present certificates (mutual TLS)
  bool require_client_cert = false;
};

// "" when the options are usable, else what is wrong, naming the option.
std::string CheckServerOptions(const ServerOptions& options);

class ControlPlane {
 public:
  ControlPlane(domain::SessionRegistry& registry, EventHub& events, Authorizer& authz);
  ~ControlPlane();
  // Returns the bound port (useful with port 0), or 0 with *error set.
  int Start(const ServerOptions& options, std::string* error);
  // Draining: the health service says NOT_SERVING and new streams are refused (the registry's
  // Drain); running calls and streams go on until Shutdown.
  void Drain();
  // The media side answers (false: its thread is stuck): health follows, SERVING only when
  // the media side answers and the server is not draining.
  void SetMediaHealthy(bool healthy);
  // What grpc.health.v1 says now (and /healthz with it): not draining and the media side answers.
  bool Serving() const;
  // A channel to this server inside the process (the HTTP side's JSON API and browser consoles
  // call the RPCs through it, with the caller's token). After Start.
  std::shared_ptr<grpc::Channel> InProcessChannel();
  void Shutdown();
  void Wait();
  // Every call answered, by method and status code, with its latency (/metrics).
  const metrics::RpcMetrics& rpc_metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tilmash::grpcapi
