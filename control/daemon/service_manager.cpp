#include "daemon/service_manager.h"

#include <systemd/sd-daemon.h>

namespace tilmash::daemon {

ServiceManager::ServiceManager() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_period_ = std::chrono::microseconds(usec / 2);
}

void ServiceManager::Ready(const std::string& status) const { sd_notify(0, ("READY=1\nSTATUS=" + status).c_str()); }

void ServiceManager::Reloading() const { sd_notify(0, "RELOADING=1\nSTATUS=reloading (SIGHUP)"); }

void ServiceManager::Stopping(const std::string& status) const {
  sd_notify(0, ("STOPPING=1\nSTATUS=" + status).c_str());
}

void ServiceManager::Watchdog() {
  if (watchdog_period_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ < watchdog_period_) return;
  last_ping_ = now;
  sd_notify(0, "WATCHDOG=1");
}

}  // namespace tilmash::daemon
