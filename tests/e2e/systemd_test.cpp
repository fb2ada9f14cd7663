// The daemon under systemd's Type=notify, with a notify socket of the test's own (as systemd
// gives one through NOTIFY_SOCKET): READY=1 once it serves, WATCHDOG=1 pings at half of
// WATCHDOG_USEC while the media thread answers, RELOADING=1 then READY=1 around SIGHUP,
// STOPPING=1 on SIGTERM.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>
#include <csignal>
#include <cstdlib>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

class NotifySocket {
 public:
  NotifySocket() : path_("/tmp/tilmash-notify-" + std::to_string(getpid())) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    unlink(path_.c_str());
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  bool ok() const { return bound_; }
  const std::string& path() const { return path_; }
  // The next datagram, or "" after `limit`.
  std::string Next(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, int(limit.count())) <= 0) return "";
    char buf[1024];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, std::size_t(n)) : "";
  }
  // Waits for a datagram holding `what`; the ones before it are in *skipped.
  bool WaitFor(const std::string& what, std::chrono::milliseconds limit, std::vector<std::string>* skipped = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const std::string m = Next(std::max(left, 1ms));
      if (m.find(what) != std::string::npos) return true;
      if (skipped && !m.empty()) skipped->push_back(m);
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(Systemd, ReadyWatchdogReloadingAndStoppingReachTheNotifySocket) {
  NotifySocket notify;
  ASSERT_TRUE(notify.ok());
  setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);  // pings every 200 ms (on the 250 ms tick)
  DaemonProcess daemon;
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(daemon.ok());
  // "listening on" came first (DaemonProcess waited for it): READY is already queued.
  const std::string ready = notify.Next(2s);
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=serving gRPC on 127.0.0.1:"), std::string::npos) << ready;

  int pings = 0;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until)
    if (notify.Next(100ms).find("WATCHDOG=1") != std::string::npos) ++pings;
  std::cout << "[ measured ] " << pings << " watchdog pings in 1.5 s (WATCHDOG_USEC 400 ms)\n";
  EXPECT_GE(pings, 3);
  EXPECT_LE(pings, 7) << "at most one per half interval and tick";

  daemon.Signal(SIGHUP);
  ASSERT_TRUE(notify.WaitFor("RELOADING=1", 2s));
  EXPECT_TRUE(notify.WaitFor("READY=1", 2s)) << "ready again after the reload";

  daemon.Signal(SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", 3s));
  EXPECT_EQ(daemon.WaitExit(5s), 0);
}

}  // namespace
}  // namespace tilmash::testing
