#include "grpc/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

#include "grpc/services.h"

namespace tilmash::grpcapi {

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsLoopback(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}
}  // namespace

std::string CheckServerOptions(const ServerOptions& o) {
  if (o.plaintext) {
    if (!IsLoopback(o.listen)) return "grpc_listen: plaintext is allowed on loopback only (use TLS)";
    return "";
  }
  if (o.tls_cert.empty() || o.tls_key.empty()) return "tls_cert and tls_key are required (or --plaintext on loopback)";
  for (const auto* f : {&o.tls_cert, &o.tls_key, &o.tls_client_ca})
    if (!f->empty() && !std::ifstream(*f)) return "cannot read " + *f;
  if (o.require_client_cert && o.tls_client_ca.empty()) return "tls_client_ca is required for mutual TLS";
  return "";
}

struct ControlPlane::Impl {
  Impl(domain::SessionRegistry& r, EventHub& e, Authorizer& a)
      : events(e), sessions(r, e, a), booths(r, e, a), listeners(r, e, a), tokens(r, a), audit(a) {}
  EventHub& events;
  SessionServiceImpl sessions;
  BoothServiceImpl booths;
  ListenerServiceImpl listeners;
  TokenServiceImpl tokens;
  AuditServiceImpl audit;
  std::unique_ptr<grpc::Server> server;
};

ControlPlane::ControlPlane(domain::SessionRegistry& r, EventHub& e, Authorizer& a)
    : impl_(std::make_unique<Impl>(r, e, a)) {}
ControlPlane::~ControlPlane() { Shutdown(); }

int ControlPlane::Start(const ServerOptions& options, std::string* error) {
  if (std::string problem = CheckServerOptions(options); !problem.empty()) {
    if (error) *error = problem;
    return 0;
  }
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options.plaintext) {
    creds = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    grpc::SslServerCredentialsOptions ssl(options.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                          : options.require_client_cert
                                              ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    if (!options.tls_client_ca.empty()) ssl.pem_root_certs = ReadFile(options.tls_client_ca);
    ssl.pem_key_cert_pairs.push_back({ReadFile(options.tls_key), ReadFile(options.tls_cert)});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::ServerBuilder builder;
  // A client that vanished (a headset out of range, a cut link) holds its streams open until
  // the transport notices: ping idle connections, so their streams end within ~30 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  builder.RegisterService(&impl_->sessions);
  builder.RegisterService(&impl_->booths);
  builder.RegisterService(&impl_->listeners);
  builder.RegisterService(&impl_->tokens);
  builder.RegisterService(&impl_->audit);
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
