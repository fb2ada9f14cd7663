// What every tilmashctl subcommand shares: the connection, the output mode, and how a result
// or an error is reported.
#pragma once
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "client/connect.h"
#include "output.h"

namespace tilmash::ctl {

struct Context {
  std::string server = client::kDefaultServer;
  bool json = false;
  // Connects on first use (after the command line, with its --server, has been parsed).
  std::shared_ptr<grpc::Channel> channel() {
    if (!channel_) channel_ = client::Connect(server);
    return channel_;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

// The command chosen on the command line; run after parsing. Returns the exit code.
using Action = std::function<int()>;

// Reports the outcome of one unary call: on error "error: Rpc: CODE: message" and exit code 1;
// on success the response as JSON (--json) or through `human`.
template <class Response>
int Report(Context& ctx, const char* rpc, const grpc::Status& status, const Response& response,
           const std::function<void(const Response&)>& human) {
  if (!status.ok()) {
    std::cerr << "error: " << rpc << ": " << client::StatusText(status) << "\n";
    return 1;
  }
  if (ctx.json)
    PrintJson(response);
  else
    human(response);
  return 0;
}

void AddSessionCommands(CLI::App& app, Context& ctx, Action& action);
void AddBoothCommands(CLI::App& app, Context& ctx, Action& action);

}  // namespace tilmash::ctl
