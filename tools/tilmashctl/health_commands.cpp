// tilmashctl health: grpc.health.v1.Health/Check, for scripts and Kubernetes exec probes (the
// native `grpc:` probe speaks no TLS, and the daemon's gRPC is TLS off loopback). Needs no token.
#include "command.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tilmash::ctl {

namespace {

// Shorter than a probe's timeout, so the probe hears our answer rather than its own timeout.
constexpr std::chrono::milliseconds kHealthTimeout{2000};

// Whether a failed call means the daemon was never reached (exit 2) rather than that it
// answered with an error (exit 1): refused, unresolvable, TLS handshake, no answer in time.
bool NotReached(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

int Health(Context& ctx, const std::string& service) {
  ::grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::ClientContext context;
  client::SetDeadline(context, kHealthTimeout);
  ::grpc::health::v1::HealthCheckResponse response;
  const auto status = ::grpc::health::v1::Health::NewStub(ctx.channel())->Check(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "error: Check: " << client::StatusText(status) << "\n";
    return NotReached(status) ? 2 : 1;
  }
  if (ctx.json)
    PrintJson(response);
  else
    std::cout << ::grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == ::grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace

void AddHealthCommands(CLI::App& app, Context& ctx, Action& action) {
  auto service = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("health",
                                 "grpc.health.v1 Check: prints SERVING or NOT_SERVING; exit 0 only when SERVING, "
                                 "1 otherwise, 2 when the daemon cannot be reached");
  cmd->add_option("--service", *service, "a service name (default: the whole server)");
  cmd->callback([&, service] { action = [&ctx, service] { return Health(ctx, *service); }; });
}

}  // namespace tilmash::ctl
