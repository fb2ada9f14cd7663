// The gRPC control plane: SessionService, BoothService, ListenerService over one server.
// No grpcpp in this header, so the daemon's main stays cheap to compile.
#pragma once
#include <memory>
#include <string>

#include "domain/session_registry.h"

namespace tilmash::grpcapi {

class EventHub;

struct ServerOptions {
  std::string listen = "127.0.0.1:7300";
  // TLS seam: the security work plugs server credentials in here.
  bool plaintext = true;
};

class ControlPlane {
 public:
  ControlPlane(domain::SessionRegistry& registry, EventHub& events);
  ~ControlPlane();
  // Returns the bound port (useful with port 0), or 0 with *error set.
  int Start(const ServerOptions& options, std::string* error);
  void Shutdown();
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tilmash::grpcapi
