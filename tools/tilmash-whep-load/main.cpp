// tilmash-whep-load: many light WebRTC viewers of one WHEP channel from one thread, to load the
// daemon's WebRTC side without a browser's cost per viewer (tools/bench-webrtc measures with
// chromium; this goes to thousands). Joins at a given rate, receives for a while, leaves, and
// prints one machine-readable line:
//   whep-load: viewers=N connected=C packets=P lost=L auth_failures=A connect_ms_p50=X connect_ms_max=Y
// Exit code 0 when every viewer connected and received packets.
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/credentials.h"
#include "client/interrupt.h"
#include "whep_http.h"
#include "whep_peer.h"

namespace {

using tilmash::whepload::WhepPeer;
using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(10);
constexpr std::size_t kShownErrors = 3;  // the same refusal N times says nothing more

struct Viewer {
  std::unique_ptr<WhepPeer> peer;
  std::string location;  // to DELETE, "" when the server gave none
  std::string refused;   // why the POST or the answer failed
};

// Sockets are file descriptors: thousands of viewers need more than the usual soft limit.
void RaiseFileLimit(std::size_t viewers) {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return;
  l.rlim_cur = l.rlim_max;
  setrlimit(RLIMIT_NOFILE, &l);
  getrlimit(RLIMIT_NOFILE, &l);
  if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < viewers + 64)
    std::cerr << "whep-load: warning: " << viewers << " viewers need about " << viewers + 64
              << " file descriptors; the limit is " << l.rlim_cur << "\n";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::size_t(std::lround(p * double(v.size() - 1)))];
}

std::string Fixed(double v, int decimals = 1) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(decimals);
  os << v;
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load a Tilmash WHEP channel with many light WebRTC viewers (ICE, DTLS, SRTP; no decoding)"};
  std::string url, token, token_file, local_ip = "127.0.0.1";
  std::size_t viewers = 0;
  double seconds = 10, join_rate = 200;
  unsigned sample = 1, http_timeout = 10;
  app.add_option("--url", url, "WHEP endpoint: http://HOST:PORT/whep/SESSION/CHANNEL")->required();
  auto* token_opt = app.add_option("--token", token, "bearer token of a viewer (or admin)");
  auto* token_file_opt = app.add_option("--token-file", token_file, "read the bearer token from FILE");
  token_opt->excludes(token_file_opt);
  app.add_option("--viewers", viewers, "how many viewers join")->required()->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "how long to receive once the last viewer joined")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--join-rate", join_rate, "viewers joining per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--sample", sample, "unprotect (decrypt and authenticate) 1 in K RTP packets; all are counted")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--local-ip", local_ip, "IPv4 address the viewers' sockets bind (their ICE candidate)")
      ->capture_default_str();
  app.add_option("--http-timeout", http_timeout, "seconds one WHEP request may take")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.footer(
      "Prints one line on stdout:\n"
      "  whep-load: viewers=N connected=C packets=P lost=L auth_failures=A connect_ms_p50=X connect_ms_max=Y\n"
      "(connect: from the answer to DTLS connected; -1.0 when none connected) and a summary on stderr.\n"
      "Exit code 0 when every viewer connected and received RTP, 1 otherwise, 2 for a usage error.");
  CLI11_PARSE(app, argc, argv);
  if (!token_file.empty()) {
    token = tilmash::client::ReadTokenFile(token_file);
    if (token.empty()) {
      std::cerr << "whep-load: error: cannot read a token from " << token_file << "\n";
      return 2;
    }
  }
  RaiseFileLimit(viewers);
  tilmash::client::InstallInterruptHandler();

  std::string error;
  auto identity = tilmash::webrtc::DtlsIdentity::Generate(&error);
  if (!identity) {
    std::cerr << "whep-load: error: " << error << "\n";
    return 1;
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    std::cerr << "whep-load: error: epoll_create1: " << std::strerror(errno) << "\n";
    return 1;
  }
  tilmash::whepload::WhepHttp http(token, http_timeout);
  tilmash::whepload::WhepPeerOptions options;
  options.local_ip = local_ip;
  options.sample = sample;

  std::vector<Viewer> all(viewers);
  std::size_t joined = 0, refused = 0;
  std::map<std::string, std::size_t> refusals;  // why, how many
  auto join = [&](std::size_t i) {
    Viewer& v = all[i];
    v.peer = WhepPeer::Create(identity, options, &error);
    if (!v.peer) {
      v.refused = error;
    } else {
      const auto reply = http.PostOffer(url, v.peer->Offer());
      v.location = reply.location;
      if (reply.status != 201)
        v.refused = "POST " + url + ": " + reply.Describe();
      else if (!v.peer->Answer(reply.body, &error))
        v.refused = error;
    }
    if (v.refused.empty()) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u64 = i;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, v.peer->fd(), &e) != 0)
        v.refused = std::string("epoll_ctl: ") + std::strerror(errno);
    }
    if (v.refused.empty()) return;
    if (refused++ < kShownErrors) std::cerr << "whep-load: viewer " << i << ": " << v.refused << "\n";
    ++refusals[v.refused];
    v.peer.reset();
  };

  const auto start = Clock::now();
  const auto join_interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / join_rate));
  const auto run_for = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto next_join = start, next_tick = start;
  Clock::time_point all_joined{}, end = Clock::time_point::max();
  uint64_t packets_before_window = 0;
  std::vector<epoll_event> events(1024);
  while (!tilmash::client::Interrupted()) {
    auto now = Clock::now();
    // Joins are synchronous POSTs: at most one tick's worth of them between two ticks.
    while (joined < viewers && next_join <= now && Clock::now() - now < kTick) {
      join(joined++);
      next_join += join_interval;
    }
    if (joined == viewers && end == Clock::time_point::max()) {
      all_joined = Clock::now();
      end = all_joined + run_for;
      // A mark for scripts that measure the server over the window (tools/bench-webrtc).
      std::cerr << "whep-load: all " << viewers << " joined" << std::endl;
      // The rate is measured once everybody is in: the joins' own ramp would dilute it.
      for (const Viewer& v : all)
        if (v.peer) packets_before_window += v.peer->stats().packets;
    }
    now = Clock::now();
    if (now >= end || refused == viewers) break;
    if (now >= next_tick) {
      for (Viewer& v : all)
        if (v.peer) v.peer->Tick(now);
      next_tick = now + kTick;
    }
    auto wake = std::min(next_tick, end);
    if (joined < viewers) wake = std::min(wake, next_join);
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now()).count();
    const int n = epoll_wait(ep, events.data(), int(events.size()), int(std::clamp<int64_t>(wait_ms, 0, 1000)));
    for (int i = 0; i < n; ++i) all[events[i].data.u64].peer->OnReadable();
  }
  const bool interrupted = tilmash::client::Interrupted();
  if (all_joined == Clock::time_point{}) all_joined = Clock::now();  // interrupted while joining
  const double received_s = std::chrono::duration<double>(Clock::now() - all_joined).count();
  close(ep);

  // Leaving is best effort: the server also ends a viewer whose consent checks stop.
  std::size_t delete_failures = 0;
  std::string delete_error;
  for (Viewer& v : all) {
    if (v.location.empty()) continue;
    const auto reply = http.Delete(v.location);
    if (!reply.ok() && delete_failures++ == 0) delete_error = "DELETE " + v.location + ": " + reply.Describe();
  }

  std::size_t connected = 0, ice_answered = 0, silent = 0;
  uint64_t packets = 0, bytes = 0, lost = 0, auth_failures = 0, unprotected = 0, reports = 0;
  std::vector<double> connect_ms;
  std::map<std::string, std::size_t> stuck;  // why viewers that joined never connected
  for (const Viewer& v : all) {
    if (!v.peer) continue;
    const auto& s = v.peer->stats();
    packets += s.packets;
    bytes += s.bytes;
    lost += s.lost;
    auth_failures += s.auth_failures;
    unprotected += s.unprotected;
    reports += s.reports_sent;
    ice_answered += s.ice_answered;
    if (s.connected) {
      ++connected;
      connect_ms.push_back(s.connect_ms);
      if (s.packets == 0) ++silent;
    } else {
      std::ostringstream why;
      why << v.peer->state();
      if (!s.error.empty())
        why << ": " << s.error;
      else if (!s.ice_answered)
        why << ": no ICE answer";
      ++stuck[why.str()];
    }
  }

  std::cout << "whep-load: viewers=" << viewers << " connected=" << connected << " packets=" << packets
            << " lost=" << lost << " auth_failures=" << auth_failures
            << " connect_ms_p50=" << Fixed(Percentile(connect_ms, 0.5))
            << " connect_ms_max=" << Fixed(Percentile(connect_ms, 1.0)) << std::endl;

  std::cerr << "whep-load: " << joined - refused << " of " << viewers << " viewers joined"
            << (refused ? " (" + std::to_string(refused) + " refused)" : std::string()) << " in "
            << Fixed(std::chrono::duration<double>(all_joined - start).count(), 2) << " s, " << ice_answered
            << " answered ICE, " << connected << " connected (DTLS); connect ms p50 "
            << Fixed(Percentile(connect_ms, 0.5)) << ", p90 " << Fixed(Percentile(connect_ms, 0.9)) << ", max "
            << Fixed(Percentile(connect_ms, 1.0)) << "\n";
  const double window_rate =
      connected && received_s > 0.1 ? double(packets - packets_before_window) / double(connected) / received_s : 0;
  std::cerr << "whep-load: " << packets << " RTP packets (" << Fixed(double(bytes) / 1e6, 2) << " MB); "
            << Fixed(window_rate) << " per second per connected viewer over the " << Fixed(received_s, 2)
            << " s after the last join; " << lost << " lost ("
            << Fixed(packets + lost ? 100.0 * double(lost) / double(packets + lost) : 0, 3) << " %); " << unprotected
            << " unprotected (1 in " << sample << "), " << auth_failures << " auth failures; " << reports
            << " receiver reports sent\n";
  if (refused > kShownErrors)
    for (const auto& [why, count] : refusals) std::cerr << "whep-load: " << count << " refused: " << why << "\n";
  for (const auto& [why, count] : stuck) std::cerr << "whep-load: " << count << " not connected: " << why << "\n";
  if (silent) std::cerr << "whep-load: " << silent << " connected viewers received no RTP\n";
  if (delete_failures)
    std::cerr << "whep-load: " << delete_failures << " DELETEs failed, the first: " << delete_error << "\n";
  if (interrupted) std::cerr << "whep-load: interrupted\n";
  return connected == viewers && silent == 0 && !interrupted ? 0 : 1;
}
