#include "idle_bench.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "client/connect.h"
#include "stats.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::bench {
namespace {

// The daemon's CPU over `window_s`, in % of one core; nullopt when it is gone.
std::optional<double> CpuPercent(pid_t daemon, int window_s) {
  const auto before = SampleProcess(daemon);
  std::this_thread::sleep_for(std::chrono::seconds(window_s));
  const auto after = SampleProcess(daemon);
  if (!before || !after) return std::nullopt;
  return 100.0 * (after->cpu_seconds - before->cpu_seconds) / window_s;
}

}  // namespace

IdleResult RunIdleBench(const std::shared_ptr<grpc::Channel>& channel, pid_t daemon, int sessions, int window_s,
                        double frame_ms) {
  IdleResult r;
  r.frame_ms = frame_ms;
  r.sessions = sessions;
  auto without = CpuPercent(daemon, window_s);
  if (!without) return r;
  r.cpu_pct_without = *without;
  r.threads_without = ThreadsOf(daemon);
  auto session_service = v1::SessionService::NewStub(channel);
  auto booths = v1::BoothService::NewStub(channel);
  std::vector<std::string> ids;
  bool ok = true;
  for (int i = 0; i < sessions && ok; ++i) {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::CreateSessionRequest create;
    create.set_name("idle-" + std::to_string(i));
    create.add_languages("en");
    create.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
    if (frame_ms > 0) create.set_frame_ms(frame_ms);
    v1::Session s;
    auto st = session_service->CreateSession(&ctx, create, &s);
    if (!st.ok()) {
      std::cerr << "tilmash-bench: CreateSession: " << client::StatusText(st) << "\n";
      ok = false;
      break;
    }
    ids.push_back(s.id());
    grpc::ClientContext jctx;
    client::SetDeadline(jctx);
    v1::JoinConsoleRequest join;
    join.set_session_id(s.id());
    join.set_booth("en");
    v1::JoinConsoleResponse console;
    st = booths->JoinConsole(&jctx, join, &console);
    if (!st.ok()) {
      std::cerr << "tilmash-bench: JoinConsole: " << client::StatusText(st) << "\n";
      ok = false;
    }
  }
  if (ok) {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // pipelines settled
    auto with = CpuPercent(daemon, window_s);
    r.threads_with = ThreadsOf(daemon);
    if (with) {
      r.cpu_pct_with = *with;
      r.channels = 2 * sessions;  // the floor and en of each
      r.ok = true;
    }
  }
  // One listener per channel, all sent to one socket nobody reads (its buffer fills and the
  // kernel drops the rest: no ICMP, so the daemon keeps them).
  const int sink = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = sink >= 0 && ::bind(sink, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(sink, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (r.ok && bound) {
    auto listeners = v1::ListenerService::NewStub(channel);
    bool subscribed = true;
    int n = 0;
    for (const auto& id : ids) {
      for (const char* ch : {"floor", "en"}) {
        grpc::ClientContext ctx;
        client::SetDeadline(ctx);
        v1::SubscribeRequest req;
        req.set_session_id(id);
        req.set_channel(ch);
        // An address each in 127/8: the same endpoint again would replace the listener before it.
        ++n;
        req.mutable_endpoint()->set_host("127.0." + std::to_string(1 + n / 250) + "." + std::to_string(1 + n % 250));
        req.mutable_endpoint()->set_port(ntohs(addr.sin_port));
        v1::SubscribeResponse resp;
        auto st = listeners->Subscribe(&ctx, req, &resp);
        if (!st.ok()) {
          std::cerr << "tilmash-bench: Subscribe: " << client::StatusText(st) << "\n";
          subscribed = false;
        }
      }
    }
    if (subscribed) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (auto heard = CpuPercent(daemon, window_s)) r.cpu_pct_heard = *heard;
    }
  }
  if (sink >= 0) ::close(sink);
  for (const auto& id : ids) {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::EndSessionRequest end;
    end.set_session_id(id);
    v1::EndSessionResponse ended;
    (void)session_service->EndSession(&ctx, end, &ended);
  }
  return r;
}

void PrintIdle(const IdleResult& r) {
  char frame[32] = "the daemon's";
  if (r.frame_ms > 0) std::snprintf(frame, sizeof frame, "%g ms", r.frame_ms);
  std::printf("\nidle sessions (a tone floor and en with a silent console each, nobody listening; %s frames)\n", frame);
  if (!r.ok) {
    std::printf("idle run failed\n");
    return;
  }
  std::printf(
      "%d sessions: daemon %.1f %% of a core and %d threads (without them: %.1f %%, %d threads): %.2f %% of a "
      "core per channel (%d channels), %.1f threads per session\n",
      r.sessions, r.cpu_pct_with, r.threads_with, r.cpu_pct_without, r.threads_without, r.pct_per_channel(), r.channels,
      r.threads_per_session());
  if (r.cpu_pct_heard > 0)
    std::printf(
        "with one listener per channel (every channel encoding, as all did before the encoder gate): daemon %.1f %% "
        "of a core, %.2f %% per channel\n",
        r.cpu_pct_heard, r.heard_pct_per_channel());
}

}  // namespace tilmash::bench
