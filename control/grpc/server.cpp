#include "grpc/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/support/server_interceptor.h>

#include <fstream>
#include <mutex>

#include "grpc/services.h"

namespace tilmash::grpcapi {

namespace {
constexpr unsigned kTlsRefreshS = 1;

bool IsLoopback(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]" || host == "::1";
}
// Counts every call by method and status code and times it, health and reflection included.
class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(const char* method, metrics::RpcMetrics& m)
      : method_(method ? method : "?"), metrics_(m), start_(std::chrono::steady_clock::now()) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_.Record(method_, int(methods->GetSendStatus().error_code()), took);
    }
    methods->Proceed();
  }

 private:
  const char* method_;  // gRPC's, lives as long as the server
  metrics::RpcMetrics& metrics_;
  const std::chrono::steady_clock::time_point start_;
};

class RpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsFactory(metrics::RpcMetrics& m) : metrics_(m) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(info->method(), metrics_);
  }

 private:
  metrics::RpcMetrics& metrics_;
};

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
      : registry(r),
        events(e),
        sessions(r, e, a),
        booths(r, e, a),
        listeners(r, e, a),
        tokens(r, a),
        audit(a),
        recordings(r, a) {}
  domain::SessionRegistry& registry;
  EventHub& events;
  SessionServiceImpl sessions;
  BoothServiceImpl booths;
  ListenerServiceImpl listeners;
  TokenServiceImpl tokens;
  AuditServiceImpl audit;
  RecordingServiceImpl recordings;
  std::unique_ptr<grpc::Server> server;
  metrics::RpcMetrics rpc_metrics;
  std::mutex health_mu;  // orders SetServingStatus calls with the state they report
  std::atomic<bool> draining{false}, media_ok{true};
  void UpdateHealth() {
    std::lock_guard lock(health_mu);
    if (server && server->GetHealthCheckService())
      server->GetHealthCheckService()->SetServingStatus(!draining.load() && media_ok.load());
  }
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
    // The files are watched: a renewed certificate (and client CA) is used by new connections
    // within kTlsRefreshS of being written, with or without the SIGHUP that usually follows.
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options.tls_key, options.tls_cert, options.tls_client_ca, kTlsRefreshS);
    grpc::experimental::TlsServerCredentialsOptions tls(provider);
    tls.watch_identity_key_cert_pairs();
    if (!options.tls_client_ca.empty()) tls.watch_root_certs();
    tls.set_cert_request_type(options.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : options.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                                            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    creds = grpc::experimental::TlsServerCredentials(tls);
  }
  // grpc.health.v1.Health: SERVING until Drain (load balancers and probes stop sending new clients).
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection (grpcurl, Postman, grpc_cli list the services without our .proto files);
  // like health, it needs no token: it describes the API, it does nothing.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // A client that vanished (a headset out of range, a cut link) holds its streams open until
  // the transport notices: ping idle connections, so their streams end within ~30 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RpcMetricsFactory>(impl_->rpc_metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(&impl_->sessions);
  builder.RegisterService(&impl_->booths);
  builder.RegisterService(&impl_->listeners);
  builder.RegisterService(&impl_->tokens);
  builder.RegisterService(&impl_->audit);
  builder.RegisterService(&impl_->recordings);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || port == 0) {
    if (error) *error = "cannot listen on " + options.listen;
    impl_->server.reset();
    return 0;
  }
  return port;
}

void ControlPlane::Drain() {
  impl_->registry.Drain();
  impl_->draining = true;
  impl_->UpdateHealth();
}

void ControlPlane::SetMediaHealthy(bool healthy) {
  if (impl_->media_ok.exchange(healthy) != healthy) impl_->UpdateHealth();
}

std::shared_ptr<grpc::Channel> ControlPlane::InProcessChannel() {
  return impl_->server->InProcessChannel(grpc::ChannelArguments());
}

bool ControlPlane::Serving() const { return !impl_->draining.load() && impl_->media_ok.load(); }

void ControlPlane::Shutdown() {
  if (!impl_->server) return;
  impl_->events.CloseAll();  // ends WatchSession streams so Shutdown does not wait for them
  // In-flight calls get 250 ms (a drain, if any, was the grace period): gRPC otherwise waits for
  // the whole deadline whenever a client still holds an idle connection open.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
}

const metrics::RpcMetrics& ControlPlane::rpc_metrics() const { return impl_->rpc_metrics; }

void ControlPlane::Wait() {
  if (impl_->server) impl_->server->Wait();
}

}  // namespace tilmash::grpcapi
