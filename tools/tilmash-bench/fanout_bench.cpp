#include "fanout_bench.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "client/connect.h"
#include "client/convert.h"
#include "client/rtp_sender.h"
#include "loopback_sink.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::bench {

using Clock = std::chrono::steady_clock;

namespace {

constexpr int kListenersPerSocket = 1000;
constexpr const char* kLanguages[] = {"en", "ru", "kk", "uz", "ky", "tg", "tk", "mn",
                                      "hy", "zh", "fr", "de", "es", "ar", "tr", "fa"};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU cores the daemon used over `seconds` (sampled from /proc before and after).
double MeasureCores(pid_t pid, int seconds, std::optional<ProcessSample>* after = nullptr) {
  auto a = SampleProcess(pid);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  auto b = SampleProcess(pid);
  if (after) *after = b;
  if (!a || !b) return 0;
  return (b->cpu_seconds - a->cpu_seconds) / Seconds(Clock::now() - t0);
}

// The daemon's node-wide fan-out counters (listener packets sent, send errors).
v1::SessionStats DaemonStats(v1::SessionService::Stub& sessions, const std::string& id) {
  grpc::ClientContext ctx;
  client::SetDeadline(ctx);
  v1::GetSessionStatsRequest req;
  req.set_session_id(id);
  v1::SessionStats s;
  sessions.GetSessionStats(&ctx, req, &s);
  return s;
}

}  // namespace

FanoutResult RunFanoutBench(const FanoutConfig& config, const std::shared_ptr<grpc::Channel>& channel) {
  FanoutResult r;
  r.frame_ms = config.frame_ms;
  r.send_side = !config.dummy_prefix.empty();
  r.suite = v1::CryptoSuite_Name(config.suite);
  const int total = config.listener_steps.empty() ? 0 : config.listener_steps.back();
  const int channels = std::clamp(config.channels, 1, int(std::size(kLanguages)));
  std::string error;
  std::unique_ptr<LoopbackSink> sink;
  if (!r.send_side) {
    sink = LoopbackSink::Create((total + kListenersPerSocket - 1) / kListenersPerSocket, &error);
    if (!sink) {
      r.error = error;
      return r;
    }
  }
  auto sessions = v1::SessionService::NewStub(channel);
  v1::CreateSessionRequest create;
  create.set_name("bench-fanout");
  for (int i = 0; i < channels; ++i) create.add_languages(kLanguages[i]);
  create.mutable_floor_source()->mutable_rtp();
  v1::Session session;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    auto st = sessions->CreateSession(&ctx, create, &session);
    if (!st.ok()) {
      r.error = "CreateSession: " + client::StatusText(st);
      return r;
    }
  }
  // The sound desk: a tone on the floor keeps every channel's encoder producing real packets.
  auto desk_opts = client::IngestFromProto(session.floor_ingest());
  desk_opts.frame_ms = config.frame_ms;
  client::RtpSender desk(desk_opts);
  desk.SetTone(440, -20);
  if (!desk.Start(&error)) {
    r.error = "floor sender: " + error;
    return r;
  }
  // A run before this one may still be draining (a saturated sender's queue): wait until the
  // daemon is back to its idle load, at most 15 s.
  for (int i = 0; i < 15 && MeasureCores(config.daemon_pid, 1) > 0.6; ++i) {
  }
  std::optional<ProcessSample> idle_sample;
  r.idle_cores = MeasureCores(config.daemon_pid, 2, &idle_sample);
  const double rss0 = idle_sample ? idle_sample->rss_kib : 0;

  auto listeners = v1::ListenerService::NewStub(channel);
  std::atomic<int> next{0}, joined{0}, failures{0};
  std::mutex error_mu;
  Clock::time_point join_start, at_1500{};
  auto subscribe_until = [&](int target) {
    auto caller = [&] {
      for (int i; (i = next.fetch_add(1)) < target;) {
        grpc::ClientContext ctx;
        client::SetDeadline(ctx);
        v1::SubscribeRequest req;
        req.set_session_id(session.id());
        req.set_channel(kLanguages[i % channels]);
        if (sink) {
          // An endpoint each: the same one again would replace the listener before it.
          req.mutable_endpoint()->set_host("127.0." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250));
          req.mutable_endpoint()->set_port(sink->port(i / kListenersPerSocket));
        } else {
          // One host behind the tap device, a port per listener (as many hosts would cost
          // a neighbour entry each, a table of 1,024 by default).
          req.mutable_endpoint()->set_host(config.dummy_prefix + ".0.2");
          req.mutable_endpoint()->set_port(uint32_t(10000 + i));
        }
        req.set_suite(config.suite);
        v1::SubscribeResponse resp;
        auto st = listeners->Subscribe(&ctx, req, &resp);
        if (!st.ok()) {
          if (failures.fetch_add(1) == 0) {
            std::lock_guard lock(error_mu);
            error = "Subscribe: " + client::StatusText(st);
          }
          continue;
        }
        if (sink) sink->Expect(resp.ssrc(), i % channels);
        if (joined.fetch_add(1) + 1 == 1500) {
          std::lock_guard lock(error_mu);
          at_1500 = Clock::now();
        }
      }
    };
    std::vector<std::thread> callers;
    for (int c = 0; c < std::max(1, config.join_callers); ++c) callers.emplace_back(caller);
    for (auto& t : callers) t.join();
    next.store(target);
  };

  join_start = Clock::now();
  for (int step : config.listener_steps) {
    const auto t0 = Clock::now();
    subscribe_until(step);
    if (step == config.listener_steps.back()) r.join_all_s = Seconds(Clock::now() - join_start);
    (void)t0;
    if (failures.load() > 0) {
      r.error = error + " (" + std::to_string(failures.load()) + " failed)";
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let every new stream start
    FanoutStep s;
    s.listeners = joined.load();
    const auto stats0 = DaemonStats(*sessions, session.id());
    if (sink) sink->BeginWindow();
    std::optional<ProcessSample> after;
    const auto w0 = Clock::now();
    s.daemon_cores = MeasureCores(config.daemon_pid, config.window_s, &after);
    LoopbackSink::Window w;
    if (sink)
      w = sink->EndWindow(config.frame_ms);
    else
      w.seconds = Seconds(Clock::now() - w0);
    const auto stats1 = DaemonStats(*sessions, session.id());
    s.daemon_send_errors = stats1.listener_send_errors() - stats0.listener_send_errors();
    // Socket-full drops, plus what a sender that fell behind skipped or its ring refused (counted
    // per listener as late_dropped: the gaps in their sequences).
    s.daemon_dropped = stats1.listener_packets_dropped() - stats0.listener_packets_dropped() +
                       stats1.listener_packets_late() - stats0.listener_packets_late();
    s.expected_per_s = double(s.listeners) * 1000.0 / config.frame_ms;
    s.sent_per_s = double(stats1.listener_packets_sent() - stats0.listener_packets_sent()) / config.window_s;
    s.window_s = w.seconds;
    s.added_cores = std::max(1e-9, s.daemon_cores - r.idle_cores);
    // Cost per packet the daemon really sent (its own counter): an overloaded sender that
    // falls behind does not look cheaper than it is, nor a sink that falls behind dearer.
    s.delivered_per_s = double(w.received) / std::max(1e-9, w.seconds);
    s.us_per_listener_packet = s.added_cores / std::max(1.0, s.sent_per_s) * 1e6;
    s.listeners_per_core = 1e6 / (s.us_per_listener_packet * 1000.0 / config.frame_ms);
    s.received = sink ? w.received : stats1.listener_packets_sent() - stats0.listener_packets_sent();
    // Send side: what the daemon dropped, failed to send, or fell short of its schedule by.
    s.lost = sink ? w.lost : s.daemon_dropped;
    s.silent = w.silent_listeners;
    s.burst_ms = w.burst_ms;
    s.copies_per_burst = w.copies_per_burst;
    s.rss_kib = after ? after->rss_kib : 0;
    s.mem_per_listener_kib = s.listeners ? (s.rss_kib - rss0) / s.listeners : 0;
    r.steps.push_back(s);
  }
  if (at_1500 != Clock::time_point{}) r.join_1500_s = Seconds(at_1500 - join_start);
  desk.Stop();
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx, std::chrono::seconds(30));
    v1::EndSessionRequest req;
    req.set_session_id(session.id());
    v1::EndSessionResponse resp;
    sessions->EndSession(&ctx, req, &resp);
  }
  r.ok = r.error.empty() && !r.steps.empty();
  return r;
}

void PrintFanout(const FanoutResult& r) {
  std::printf("\nfan-out through tilmashd, %d ms packets, %s, %s (daemon idle with the session: %.1f%% of a core)\n",
              r.frame_ms, r.suite.c_str(), r.send_side ? "send side (dummy device, no receiver)" : "to a loopback sink",
              r.idle_cores * 100);
  std::printf("%9s %7s %10s %10s %8s %12s %11s %10s %9s %7s %9s %9s %7s\n", "listeners", "cores", "sent/s", "recv/s",
              "us/lpkt", "%core/1000L", "listen/core", "received", "lost", "silent", "burst p50", "burst p99", "KiB/L");
  for (const auto& s : r.steps)
    std::printf("%9d %7.3f %10.0f %10.0f %8.3f %12.2f %11.0f %10llu %9llu %7llu %8.2fms %8.2fms %7.2f\n", s.listeners,
                s.daemon_cores, s.sent_per_s, s.delivered_per_s, s.us_per_listener_packet,
                s.us_per_listener_packet * (1000.0 / r.frame_ms) * 1000.0 / 1e6 * 100.0, s.listeners_per_core,
                (unsigned long long)s.received, (unsigned long long)s.lost, (unsigned long long)s.silent,
                s.burst_ms.p50, s.burst_ms.p99, s.mem_per_listener_kib);
  std::printf(
      "(cores: the daemon during the window; sent/s: its listener packets (GetSessionStats); recv/s: at the\n"
      " sink; us/lpkt: its CPU above idle per sent listener packet, kernel loopback delivery included;\n"
      " lost: frames missing from listener timelines (send side: packets the daemon dropped); burst: first to\n"
      " last copy of one channel packet)\n");
  for (const auto& s : r.steps)
    if (r.send_side && s.sent_per_s < 0.98 * s.expected_per_s)
      std::printf("%d listeners: the daemon sent %.0f/s of %.0f/s scheduled: it is saturated\n", s.listeners,
                  s.sent_per_s, s.expected_per_s);
  std::printf("subscribe: first 1,500 in %.3f s, all in %.3f s\n", r.join_1500_s, r.join_all_s);
  if (!r.error.empty()) std::printf("fan-out error: %s\n", r.error.c_str());
}

}  // namespace tilmash::bench
