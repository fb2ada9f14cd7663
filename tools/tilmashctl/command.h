// What every tilmashctl subcommand shares: the connection, the output mode, and how a result
// or an error is reported.
#pragma once
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "client/connect.h"
#include "client/credentials.h"
#include "client/interrupt.h"
#include "output.h"

namespace tilmash::ctl {

struct Context {
  std::string server = client::kDefaultServer;
  bool json = false;
  client::Credentials credentials;  // from --token, --token-file, --ca, ...; the environment fills the rest
  // Connects on first use (after the command line, with its --server, has been parsed).
  std::shared_ptr<grpc::Channel> channel() {
    if (!channel_) channel_ = client::Connect(server, credentials);
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

// Reads a server stream (WatchSession, WatchBooth) until it ends or Ctrl-C, printing each event as
// JSON (--json) or through `human`. `start` opens the stream on the given context. Exit code 0 when
// the stream ended or was interrupted, 1 on an error status.
template <class Event>
int ReadStream(Context& ctx, const char* rpc,
               const std::function<std::unique_ptr<grpc::ClientReader<Event>>(grpc::ClientContext*)>& start,
               const std::function<void(const Event&)>& human);

void AddSessionCommands(CLI::App& app, Context& ctx, Action& action);
void AddBoothCommands(CLI::App& app, Context& ctx, Action& action);
void AddDeskCommands(CLI::App& app, Context& ctx, Action& action);
void AddTokenCommands(CLI::App& app, Context& ctx, Action& action);   // token mint/revoke, audit
void AddRecordCommands(CLI::App& app, Context& ctx, Action& action);  // record start/stop/list
void AddHealthCommands(CLI::App& app, Context& ctx, Action& action);  // health (grpc.health.v1)

template <class Event>
int ReadStream(Context& ctx, const char* rpc,
               const std::function<std::unique_ptr<grpc::ClientReader<Event>>(grpc::ClientContext*)>& start,
               const std::function<void(const Event&)>& human) {
  client::InstallInterruptHandler();
  grpc::ClientContext context;  // no deadline: runs until Ctrl-C or the server ends the stream
  auto reader = start(&context);
  // The signal handler only sets a flag; this thread turns it into a cancel of the stream.
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (!done.load()) {
      if (client::Interrupted()) {
        context.TryCancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  Event event;
  while (reader->Read(&event)) {
    if (ctx.json)
      PrintJson(event);
    else
      human(event);
    std::cout.flush();
  }
  const grpc::Status status = reader->Finish();
  done.store(true);
  canceller.join();
  if (status.ok() || client::Interrupted()) return 0;
  std::cerr << "error: " << rpc << ": " << client::StatusText(status) << "\n";
  return 1;
}

}  // namespace tilmash::ctl
