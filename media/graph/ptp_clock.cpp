#include "graph/ptp_clock.h"

#include <arpa/inet.h>
#include <gst/net/gstptpclock.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

namespace tilmash::graph {

namespace {

// The name of the interface that has `ip` ("" when none has).
std::string InterfaceWith(const std::string& ip) {
  in_addr want{};
  if (inet_pton(AF_INET, ip.c_str(), &want) != 1) return "";
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return "";
  std::string name;
  for (ifaddrs* i = all; i && name.empty(); i = i->ifa_next)
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
        reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr == want.s_addr)
      name = i->ifa_name;
  freeifaddrs(all);
  return name;
}

}  // namespace

std::string PtpGrandmaster(GstClock* clock) {
  guint64 id = 0;
  g_object_get(clock, "grandmaster-clock-id", &id, nullptr);
  if (id == 0 || !gst_clock_is_synced(clock)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%02X-%02X-%02X-%02X-%02X-%02X-%02X-%02X", unsigned(id >> 56) & 0xff,
                unsigned(id >> 48) & 0xff, unsigned(id >> 40) & 0xff, unsigned(id >> 32) & 0xff,
                unsigned(id >> 24) & 0xff, unsigned(id >> 16) & 0xff, unsigned(id >> 8) & 0xff, unsigned(id) & 0xff);
  return text;
}

PtpClockStatus StartPtpClock(int domain, const std::string& interface_ip, std::chrono::milliseconds wait) {
  PtpClockStatus out;
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  std::string name;
  if (!interface_ip.empty()) {
    name = InterfaceWith(interface_ip);
    if (name.empty()) {
      out.error = "no interface has the address " + interface_ip + " (--aes67-interface)";
      return out;
    }
  }
  gchar* names[] = {name.empty() ? nullptr : name.data(), nullptr};
  if (!gst_ptp_is_initialized() && !gst_ptp_init(GST_PTP_CLOCK_ID_NONE, name.empty() ? nullptr : names)) {
    out.error =
        "GStreamer's PTP helper (gst-ptp-helper) did not start: it binds ports 319 and 320 and needs "
        "CAP_NET_BIND_SERVICE (see \"Plugging into a venue\" in the README)";
    return out;
  }
  auto clock =
      gst::GstPtr<GstClock>::Adopt(gst_ptp_clock_new(("ptp-" + std::to_string(domain)).c_str(), guint(domain)));
  if (!clock) {
    out.error = "cannot create the PTP clock of domain " + std::to_string(domain);
    return out;
  }
  const auto start = std::chrono::steady_clock::now();
  const bool synced = gst_clock_wait_for_sync(clock.get(), GstClockTime(wait.count()) * GST_MSECOND);
  out.waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (!synced) {
    out.error = "no PTP grandmaster of domain " + std::to_string(domain) + " answered within " +
                std::to_string(wait.count()) + " ms" + (name.empty() ? std::string() : " on " + name);
    return out;
  }
  out.grandmaster = PtpGrandmaster(clock.get());
  out.clock = std::move(clock);
  return out;
}

}  // namespace tilmash::graph
