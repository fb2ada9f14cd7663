// The daemon's side of systemd's Type=notify (sd_notify(3), from Debian's libsystemd): READY
// once it serves, RELOADING/READY around a SIGHUP, STOPPING when it begins to stop, and
// WATCHDOG pings while the media thread answers, so a stuck media side is restarted by systemd
// (WatchdogSec=). Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
#pragma once
#include <chrono>
#include <string>

namespace tilmash::daemon {

class ServiceManager {
 public:
  ServiceManager();
  void Ready(const std::string& status) const;
  void Reloading() const;
  void Stopping(const std::string& status) const;
  // A WATCHDOG=1 ping, sent at most every half of the watchdog interval.
  void Watchdog();
  // Half of WatchdogSec, or zero when systemd asked for no watchdog.
  std::chrono::microseconds watchdog_period() const { return watchdog_period_; }

 private:
  std::chrono::microseconds watchdog_period_{0};
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace tilmash::daemon
