#include "daemon_process.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tilmash::testing {

std::string DaemonProcess::Stderr() const {
  std::ifstream in(dir_ + "/stderr");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BinDir() {
  const char* dir = std::getenv("TILMASH_BIN");
  return dir ? dir : "build/bin";
}

DaemonProcess::DaemonProcess(std::vector<std::string> extra_args, bool capture_stderr, DaemonLaunch launch)
    : ca_file_(launch.ca_file) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return;
  char dir[] = "/tmp/tilmashd-test-XXXXXX";
  if (!mkdtemp(dir)) return;
  dir_ = dir;
  const std::string token_file = dir_ + "/admin.token";
  std::vector<std::string> args = {BinDir() + "/tilmashd", "--admin-token-file", token_file};
  // A free port unless a test needs a fixed one (an origin restarted under its edges).
  if (std::find(extra_args.begin(), extra_args.end(), "--grpc-listen") == extra_args.end())
    args.insert(args.end(), {"--grpc-listen", "127.0.0.1:0"});
  if (std::find(extra_args.begin(), extra_args.end(), "--log-level") == extra_args.end())
    args.insert(args.end(), {"--log-level", "warn"});
  const bool tls = std::find(extra_args.begin(), extra_args.end(), "--tls-cert") != extra_args.end();
  if (!tls) args.push_back("--plaintext");
  // Many daemons run at once under ctest -j: HTTP on a free port unless a test says otherwise.
  if (std::find(extra_args.begin(), extra_args.end(), "--http-listen") == extra_args.end())
    args.insert(args.end(), {"--http-listen", "127.0.0.1:0"});
  // Tests stop the daemon with SIGTERM: no drain unless a test asks for one.
  if (std::find(extra_args.begin(), extra_args.end(), "--drain-s") == extra_args.end())
    args.insert(args.end(), {"--drain-s", "0"});
  // Memory only unless a test gives a state directory (its restart tests do).
  if (std::find(extra_args.begin(), extra_args.end(), "--state-dir") == extra_args.end())
    args.insert(args.end(), {"--state-dir", "none"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.insert(args.begin(), launch.prefix.begin(), launch.prefix.end());
  // Under ASan, a daemon with an HTTPS side (or an HTTPS client: an edge's HLS) runs without the
  // leak check: clang 14's LeakSanitizer crashes at exit ("Tracer caught signal 11") reading the dynamic TLS block of a
  // thread that ran GnuTLS (glib-networking's module). ASan itself stays on; every other daemon
  // is leak-checked. Built before fork: the child only execs.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  if (std::find(extra_args.begin(), extra_args.end(), "--http-tls-cert") != extra_args.end() ||
      std::find(extra_args.begin(), extra_args.end(), "--edge-hls-origin") != extra_args.end()) {
    for (auto& e : env)
      if (e.rfind("ASAN_OPTIONS=", 0) == 0) e += ":detect_leaks=0";
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (capture_stderr) {
      const int err = open((dir_ + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (err >= 0) dup2(err, STDERR_FILENO);
    }
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  // Wait (bounded) for the line that names the gRPC port (the HTTP line, if any, comes first).
  std::string text;
  const std::string marker = "listening on ";
  auto complete = [&] {
    const auto at = text.find(marker);
    return at != std::string::npos && text.find('\n', at) != std::string::npos;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline && !complete()) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[256];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, std::size_t(n));
  }
  close(out[0]);
  if (auto http = text.find("http on "); http != std::string::npos) {
    const auto end = text.find('\n', http);
    http_url_ = text.substr(http + 8, end - http - 8);
    const auto colon = http_url_.rfind(':');
    http_port_ = std::atoi(http_url_.c_str() + colon + 1);
  }
  auto at = text.find(marker);
  if (!complete()) return;
  address_ = text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
  port_ = std::atoi(address_.substr(address_.rfind(':') + 1).c_str());
  admin_token_ = client::ReadTokenFile(token_file);
  channel_ = ChannelWith(admin_token_);
  sessions_ = v1::SessionService::NewStub(channel_);
  booths_ = v1::BoothService::NewStub(channel_);
  listeners_ = v1::ListenerService::NewStub(channel_);
  tokens_ = v1::TokenService::NewStub(channel_);
}

std::shared_ptr<grpc::Channel> DaemonProcess::ChannelWith(const std::string& token) const {
  client::Credentials c;
  c.plaintext = ca_file_.empty();
  c.ca_file = ca_file_;
  c.token = token;
  const bool any = address_.rfind("0.0.0.0:", 0) == 0;
  return client::ConnectWith(any ? "127.0.0.1" + address_.substr(7) : address_, c);
}

bool DaemonProcess::Alive() const { return pid_ > 0 && kill(pid_, 0) == 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

void DaemonProcess::Signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

int DaemonProcess::WaitExit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    usleep(10000);  // polling a child's exit: there is no fd to wait on
  }
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

int DaemonProcess::Stop() {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  if (const int code = WaitExit(std::chrono::seconds(10)); code >= 0) return code;
  kill(pid_, SIGKILL);  // hung: its exit code (137) fails the test that stopped it
  return WaitExit(std::chrono::seconds(10));
}

DaemonProcess::~DaemonProcess() {
  Stop();
  if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
}

}  // namespace tilmash::testing
