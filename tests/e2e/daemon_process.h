// The real daemon as a child process on a free port (port 0), for end-to-end tests.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "client/credentials.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::testing {

// How the daemon is started, beyond its flags.
struct DaemonLaunch {
  std::vector<std::string> prefix;  // run under this command (e.g. {"ip", "netns", "exec", "NAME"})
  std::string ca_file;              // a daemon with --tls-cert: the CA the test's channels check it with
};

class DaemonProcess {
 public:
  // Starts build/bin/tilmashd (from $TILMASH_BIN) and waits for its "listening on" line.
  // With capture_stderr, its stderr (the log) goes to a file read by Stderr() instead of the test's.
  explicit DaemonProcess(std::vector<std::string> extra_args = {}, bool capture_stderr = false,
                         DaemonLaunch launch = {});
  // Sends SIGTERM and waits; exit_code() is then the daemon's status.
  ~DaemonProcess();
  int Stop();

  bool ok() const { return port_ > 0; }
  const std::string& address() const { return address_; }
  // The HTTP side ("http://127.0.0.1:PORT/"; 0 and "" when the daemon runs without it).
  int http_port() const { return http_port_; }
  const std::string& http_url() const { return http_url_; }
  // A channel that acts as the bootstrap admin (plaintext on loopback, or TLS checked with the
  // launch's CA; admin bearer token). A daemon listening on 0.0.0.0 is reached on 127.0.0.1.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& admin_token() const { return admin_token_; }
  // A channel that presents `token` (or none).
  std::shared_ptr<grpc::Channel> ChannelWith(const std::string& token) const;
  v1::TokenService::Stub& tokens() { return *tokens_; }
  v1::SessionService::Stub& sessions() { return *sessions_; }
  v1::BoothService::Stub& booths() { return *booths_; }
  v1::ListenerService::Stub& listeners() { return *listeners_; }
  bool Alive() const;
  void Signal(int sig) const;
  // Waits up to `limit` for the daemon to exit on its own: its exit code, or -1 if it still runs.
  int WaitExit(std::chrono::milliseconds limit);
  pid_t pid() const { return pid_; }
  // What the daemon wrote to stderr so far (capture_stderr only).
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int http_port_ = 0;
  std::string http_url_;
  int exit_code_ = -1;
  std::string address_;
  std::string admin_token_;
  std::string dir_;
  std::string ca_file_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SessionService::Stub> sessions_;
  std::unique_ptr<v1::BoothService::Stub> booths_;
  std::unique_ptr<v1::ListenerService::Stub> listeners_;
  std::unique_ptr<v1::TokenService::Stub> tokens_;
};

std::string BinDir();

}  // namespace tilmash::testing
