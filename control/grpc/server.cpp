#include "grpc/server.h"

#include <grpcpp/grpcpp.h>

#include "grpc/services.h"

namespace tilmash::grpcapi {

struct ControlPlane::Impl {
  Impl(domain::SessionRegistry& r, EventHub& e) : events(e), sessions(r, e), booths(r, e), listeners(r) {}
  EventHub& events;
  SessionServiceImpl sessions;
  BoothServiceImpl booths;
  ListenerServiceImpl listeners;
  std::unique_ptr<grpc::Server> server;
};

ControlPlane::ControlPlane(domain::SessionRegistry& r, EventHub& e) : impl_(std::make_unique<Impl>(r, e)) {}
ControlPlane::~ControlPlane() { Shutdown(); }

int ControlPlane::Start(const ServerOptions& options, std::string* error) {
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  builder.RegisterService(&impl_->sessions);
  builder.RegisterService(&impl_->booths);
  builder.RegisterService(&impl_->listeners);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || port == 0) {
    if (error) *error = "cannot listen on " + options.listen;
    impl_->server.reset();
    return 0;
  }
  return port;
}

void ControlPlane::Shutdown() {
  if (!impl_->server) return;
  impl_->events.CloseAll();  // ends WatchSession streams so Shutdown does not wait for them
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

void ControlPlane::Wait() {
  if (impl_->server) impl_->server->Wait();
}

}  // namespace tilmash::grpcapi
