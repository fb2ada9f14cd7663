// The booth page's consoles (POST /booth/{session}/console): each page's WebRTC connection is
// bridged to a console that the gateway joins through the daemon's own gRPC server with the
// page's token (JoinConsole, with its return feed to the bridge), so the console is an RTP
// console to everything else: the same ingest, rules, state and events (graph/console_bridge.h).
// The page's desk functions go through the JSON API (api_gateway.h) to the same RPCs.
//
// A page that loses its connection reconnects with ?console=ID and keeps its console (mic,
// output, input); meanwhile the server's link-loss rule applies. A console whose page has been
// gone for `abandon_after` is left (LeaveConsole) and its bridge ends.
#pragma once
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "auth/access.h"
#include "fanout/port_range.h"
#include "web/http_server.h"

namespace grpc {
class Channel;
}

namespace tilmash::daemon {

struct ConsoleGatewayOptions {
  std::chrono::milliseconds abandon_after{30000};
  std::chrono::milliseconds quiet_limit{3000};  // no packet from the page this long: its connection is lost
  int jitter_min_ms = 20, jitter_max_ms = 200, jitter_start_ms = 20;
};

class ConsoleGateway : public web::ConsoleBackend {
 public:
  ConsoleGateway(std::shared_ptr<grpc::Channel> channel, auth::Access& access,
                 std::shared_ptr<fanout::PortAllocator> ports, ConsoleGatewayOptions options);
  ~ConsoleGateway() override;  // every bridge ends (the consoles stay: the daemon is stopping)

  void Offer(const web::ConsoleOffer& offer, std::function<void(web::WhepResult)> done) override;
  web::WhepResult End(const std::string& token, const std::string& session, const std::string& console) override;

  // Bridged consoles now, and their connections (for logs and tests).
  std::size_t consoles() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tilmash::daemon
