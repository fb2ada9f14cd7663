// tilmash-bench: measures running tilmashd daemons from the outside, as a sound desk and
// delegates would see them.
//  1. service-added latency: floor/console packet in -> listener packet out (latency.cpp);
//  2. fan-out at scale: K channels x N listeners through ListenerService, daemon CPU and
//     memory from /proc, loss and burst spread at a loopback sink (fanout_bench.cpp), at 20 ms
//     and at 10 ms packets (one daemon per --frame-ms);
//  2b. fan-out delay Push -> last listener from FanoutEngine's histogram (fanout_delay.cpp),
//      with the precomputed HMAC-SHA1 and again with libsrtp's own (the previous design);
//  2c. the SRTP protect step alone, both HMACs and GCM (protect_bench.cpp);
//  2d. the fixed cost of idle sessions, per channel (idle_bench.cpp);
//  3. the same fan-out done the GStreamer-only way, in this process (baseline.cpp);
//  4. with --watchers / --mic-presses, the control plane instead (control_bench.cpp): open
//     WatchKeys streams at scale, and SetMic latency while another session churns.
// The last line is machine-readable.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "baseline.h"
#include "client/connect.h"
#include "control_bench.h"
#include "fanout_bench.h"
#include "fanout_delay.h"
#include "idle_bench.h"
#include "latency.h"
#include "protect_bench.h"
#include "scrape_bench.h"

using namespace tilmash;

int main(int argc, char** argv) {
  std::string server = client::kDefaultServer, server20;
  pid_t pid = 0, pid20 = 0;
  int seconds = 20, period_ms = 200, channels = 10, window = 5, baseline_listeners = 200, join_callers = 8;
  int delay_listeners = 2000, delay_threads = 1, protect_contexts = 2000, idle_sessions = 8;
  std::vector<int> steps20{2000, 10000}, steps10{2000};
  bool skip_latency = false, also_gcm = false;
  std::string dummy_net;
  int watchers = 0, watch_connections = 100, mic_presses = 0;
  CLI::App app{"tilmash-bench - measure running tilmashd daemons (latency, fan-out at scale, GStreamer baseline)"};
  app.add_option("--server", server, "tilmashd gRPC address (10 ms frames: latency and 10 ms fan-out)");
  app.add_option("--daemon-pid", pid, "its process id (CPU and memory from /proc); 0 skips its fan-out run");
  app.add_option("--server-20ms", server20, "a tilmashd started with --frame-ms 20 (20 ms fan-out)");
  app.add_option("--daemon-pid-20ms", pid20, "its process id");
  app.add_option("--seconds", seconds, "how long to measure latency")->check(CLI::Range(2, 3600));
  app.add_option("--period-ms", period_ms, "tone on/off period")->check(CLI::Range(40, 5000));
  app.add_flag("--skip-latency", skip_latency, "only the fan-out and baseline runs");
  double low_delay_frame_ms = 2.5;
  uint32_t low_delay_jitter_ms = 3;
  int low_delay_sender_ms = 5;
  app.add_option("--low-delay-frame-ms", low_delay_frame_ms,
                 "the low-delay latency run's session frame (2.5 or 5; 0: no low-delay run)")
      ->check(CLI::IsMember({0.0, 2.5, 5.0}));
  app.add_option("--low-delay-jitter-ms", low_delay_jitter_ms, "its session's jitter buffer")
      ->check(CLI::Range(1, 200));
  app.add_option("--low-delay-sender-ms", low_delay_sender_ms, "its desk's and console's packets (5 or 10 ms)")
      ->check(CLI::IsMember({5, 10}));
  app.add_option("--channels", channels, "language channels the listeners spread over")->check(CLI::Range(1, 16));
  app.add_option("--listeners-20ms", steps20, "listener counts measured in turn at 20 ms packets");
  app.add_option("--listeners-10ms", steps10, "listener counts measured in turn at 10 ms packets");
  app.add_option("--window", window, "seconds measured at each listener count")->check(CLI::Range(1, 600));
  app.add_option("--join-callers", join_callers, "concurrent Subscribe callers")->check(CLI::Range(1, 256));
  app.add_option("--delay-listeners", delay_listeners, "listeners of the in-process fan-out delay run (0: skip)");
  app.add_option("--delay-threads", delay_threads, "its sender threads")->check(CLI::Range(1, 64));
  app.add_option("--idle-sessions", idle_sessions,
                 "idle sessions measured on --server's daemon (needs --daemon-pid; 0: skip)")
      ->check(CLI::Range(0, 100));
  app.add_option("--protect-contexts", protect_contexts, "SRTP contexts of the protect-step run (0: skip)");
  app.add_option("--baseline-listeners", baseline_listeners, "srtpenc branches of the baseline (0: skip)");
  app.add_option("--dummy-net", dummy_net,
                 "20 ms fan-out to PREFIX.x.y on a dummy device (send side only; tools/bench sets it up)");
  app.add_flag("--also-gcm", also_gcm, "repeat the 20 ms fan-out with AEAD_AES_128_GCM listeners");
  app.add_option("--watchers", watchers, "control plane: listeners holding WatchKeys open (needs --daemon-pid)");
  app.add_option("--watch-connections", watch_connections, "connections the WatchKeys streams spread over")
      ->check(CLI::Range(1, 10000));
  app.add_option("--mic-presses", mic_presses, "control plane: SetMic presses measured, alone and under churn");
  int fill_sessions = 0, fill_channels = 10, fill_listeners = 2000;
  app.add_option("--fill-sessions", fill_sessions, "state for bench-restart: this many sessions, then exit");
  app.add_option("--fill-channels", fill_channels, "their language channels (a console joined in each)")
      ->check(CLI::Range(1, 16));
  app.add_option("--fill-listeners", fill_listeners, "venue multicast members per session");

  std::string scrape_url;
  int scrape_listeners = 2000, scrapes = 200;
  app.add_option("--scrape-url", scrape_url, "the daemon's HTTP side (http://HOST:PORT/): time /metrics scrapes");
  app.add_option("--scrape-listeners", scrape_listeners, "unicast listeners subscribed for the scrape run");
  app.add_option("--scrapes", scrapes, "scrapes timed")->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);

  if (fill_sessions > 0) {
    const std::string problem = bench::FillState(server, fill_sessions, fill_channels, fill_listeners);
    if (!problem.empty()) std::fprintf(stderr, "fill: %s\n", problem.c_str());
    return problem.empty() ? 0 : 1;
  }

  bench::ScrapeResult scrape;
  if (!scrape_url.empty()) {
    scrape = bench::RunScrapeBench(server, scrape_url, pid, scrape_listeners, scrapes);
    bench::PrintScrape(scrape);
    if (!scrape.ok) return 1;
    if (watchers == 0 && mic_presses == 0) {
      std::printf("bench-control: scrape_listeners=%d scrape_p50_ms=%.2f scrape_p99_ms=%.2f\n", scrape.listeners,
                  scrape.wall_ms.p50, scrape.wall_ms.p99);
      return 0;
    }
  }

  if (watchers > 0 || mic_presses > 0) {
    bool ok = true;
    bench::WatchersResult w;
    bench::MicLatencyResult m;
    if (watchers > 0) {
      w = bench::RunWatchersBench(server, pid, watchers, watch_connections);
      bench::PrintWatchers(w);
      ok = ok && w.ok;
    }
    if (mic_presses > 0) {
      m = bench::RunMicLatencyBench(server, mic_presses);
      bench::PrintMicLatency(m);
      ok = ok && m.ok;
    }
    std::printf(
        "bench-control: watch_streams=%d daemon_threads=%d kib_per_stream=%.2f idle_cpu_pct=%.2f "
        "rekey_all_max_ms=%.1f mic_p99_ms=%.1f mic_churn_p99_ms=%.1f scrape_listeners=%d scrape_p50_ms=%.2f "
        "scrape_p99_ms=%.2f\n",
        w.streams, w.threads_open, w.rss_per_stream_kib, w.idle_cpu_percent, w.rotation_ms.max, m.quiet_ms.p99,
        m.churn_ms.p99, scrape.listeners, scrape.wall_ms.p50, scrape.wall_ms.p99);
    return ok ? 0 : 1;
  }

  bench::LatencyResult latency;
  if (!skip_latency) latency = bench::RunLatencyBench(server, client::Connect(server), seconds, period_ms);
  // The low-delay mode: a session of its own at 2.5 ms frames and a few ms of jitter buffer.
  bench::LatencyResult low_delay;
  if (!skip_latency && low_delay_frame_ms > 0) {
    std::printf("\n");
    low_delay = bench::RunLatencyBench(server, client::Connect(server), seconds, period_ms,
                                       {low_delay_frame_ms, low_delay_jitter_ms, low_delay_sender_ms});
  }

  auto run = [&](const std::string& addr, pid_t p, int frame_ms, const std::vector<int>& steps,
                 const std::string& dummy = "", v1::CryptoSuite suite = v1::AES_CM_128_HMAC_SHA1_80) {
    bench::FanoutConfig c;
    c.dummy_prefix = dummy;
    c.suite = suite;
    c.server = addr;
    c.daemon_pid = p;
    c.frame_ms = frame_ms;
    c.channels = channels;
    c.listener_steps = steps;
    c.window_s = window;
    c.join_callers = join_callers;
    auto r = bench::RunFanoutBench(c, client::Connect(addr));
    bench::PrintFanout(r);
    return r;
  };
  bench::FanoutResult f20, f20gcm, f10;
  if (!server20.empty() && pid20 > 0 && !steps20.empty()) {
    f20 = run(server20, pid20, 20, steps20, dummy_net);
    if (also_gcm) f20gcm = run(server20, pid20, 20, steps20, dummy_net, v1::AEAD_AES_128_GCM);
  }
  if (pid > 0 && !steps10.empty()) f10 = run(server, pid, 10, steps10);

  bench::DelayResult delay, delay_gcm, delay_libsrtp, delay_no_prefetch, delay_ordinary;
  if (delay_listeners > 0) {
    delay = bench::RunFanoutDelay(delay_listeners, channels, 20, delay_threads, window, dummy_net);
    bench::PrintDelay(delay);
    delay_libsrtp = bench::RunFanoutDelay(delay_listeners, channels, 20, delay_threads, window, dummy_net, false,
                                          bench::DelayDesign::kLibsrtpHmac);
    bench::PrintDelay(delay_libsrtp);
    delay_no_prefetch = bench::RunFanoutDelay(delay_listeners, channels, 20, delay_threads, window, dummy_net, false,
                                              bench::DelayDesign::kNoPrefetch);
    bench::PrintDelay(delay_no_prefetch);
    delay_ordinary = bench::RunFanoutDelay(delay_listeners, channels, 20, delay_threads, window, dummy_net, false,
                                           bench::DelayDesign::kOrdinary);
    bench::PrintDelay(delay_ordinary);
    if (also_gcm) {
      delay_gcm = bench::RunFanoutDelay(delay_listeners, channels, 20, delay_threads, window, dummy_net, true);
      bench::PrintDelay(delay_gcm);
    }
  }

  bench::IdleResult idle, idle_low_delay;
  if (pid > 0 && idle_sessions > 0) {
    idle = bench::RunIdleBench(client::Connect(server), pid, idle_sessions, window);
    bench::PrintIdle(idle);
    if (low_delay_frame_ms > 0) {
      idle_low_delay = bench::RunIdleBench(client::Connect(server), pid, idle_sessions, window, low_delay_frame_ms);
      bench::PrintIdle(idle_low_delay);
    }
  }

  bench::ProtectResult protect;
  if (protect_contexts > 0) {
    protect = bench::RunProtectBench(protect_contexts, 80, 200);
    bench::PrintProtect(protect);
  }

  bench::BaselineResult base;
  if (baseline_listeners > 1) {
    base = bench::RunGstBaseline(baseline_listeners, 20, window);
    bench::PrintBaseline(base);
  }

  // Headline numbers: 20 ms packets at the last (largest) listener step; fan-out delay from
  // FanoutEngine's histogram at --delay-listeners.
  const bench::FanoutStep none;
  const auto& last = f20.steps.empty() ? none : f20.steps.back();
  uint64_t loss = 0;
  for (const auto* r : {&f20, &f20gcm, &f10})
    for (const auto& s : r->steps) loss += s.lost + s.daemon_send_errors;
  const double ratio =
      base.ok && last.us_per_listener_packet > 0 ? base.us_per_listener_packet / last.us_per_listener_packet : 0;
  if (!f10.steps.empty())
    std::printf("\nlisteners per core: %.0f at 20 ms packets%s, %.0f at 10 ms packets\n", last.listeners_per_core,
                f20.send_side ? " (send side)" : "", f10.steps.back().listeners_per_core);
  if (!f20gcm.steps.empty())
    std::printf("listeners per core with AEAD_AES_128_GCM: %.0f at 20 ms packets%s\n",
                f20gcm.steps.back().listeners_per_core, f20gcm.send_side ? " (send side)" : "");
  std::printf(
      "bench: listeners_per_core=%.0f added_latency_p99_ms=%.2f fanout_p99_ms=%.2f loss=%llu "
      "mem_per_listener_kib=%.2f join_1500_s=%.3f baseline_ratio=%.1f fanout_p99_libsrtp_hmac_ms=%.2f "
      "protect_us=%.3f protect_libsrtp_hmac_us=%.3f protect_gcm_us=%.3f idle_pct_per_channel=%.2f "
      "idle_threads_per_session=%.1f interpreter_latency_p99_ms=%.2f low_delay_p50_ms=%.2f low_delay_p99_ms=%.2f "
      "low_delay_idle_pct_per_channel=%.2f fanout_us_per_lpkt=%.2f fanout_us_per_lpkt_no_prefetch=%.2f "
      "fanout_p99_no_prefetch_ms=%.2f idle_heard_pct_per_channel=%.2f fanout_p50_ms=%.2f fanout_p99_ordinary_ms=%.2f "
      "fanout_p50_ordinary_ms=%.2f\n",
      last.listeners_per_core, latency.mixed.p99, delay.p99_ms, (unsigned long long)loss, last.mem_per_listener_kib,
      f20.join_1500_s, ratio, delay_libsrtp.p99_ms, protect.precomputed_us, protect.stock_us, protect.gcm_us,
      idle.pct_per_channel(), idle.threads_per_session(), latency.booth.p99, low_delay.booth.p50, low_delay.booth.p99,
      idle_low_delay.pct_per_channel(), delay.us_per_listener_packet, delay_no_prefetch.us_per_listener_packet,
      delay_no_prefetch.p99_ms, idle.heard_pct_per_channel(), delay.p50_ms, delay_ordinary.p99_ms,
      delay_ordinary.p50_ms);
  const bool ok =
      (skip_latency || latency.ok) && (server20.empty() || f20.ok) && (!also_gcm || f20gcm.ok) && (pid == 0 || f10.ok);
  return ok ? 0 : 1;
}
