#include "latency.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/convert.h"
#include "client/listener_client.h"
#include "client/rtp_sender.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::bench {

using Clock = std::chrono::steady_clock;

namespace {

constexpr double kFloorHz = 1000, kConsoleHz = 1500;

// Arrival times of the listener frames where a tone burst begins.
std::vector<Clock::time_point> Onsets(const client::ListenerClient& l, double hz) {
  auto samples = l.Samples();
  std::vector<Clock::time_point> out;
  bool on = false;
  for (const auto& a : l.Arrivals()) {
    if (a.sample_index + 480 > samples.size()) break;
    const double db = audio::ToneLevelDb(std::span<const float>(samples.data() + a.sample_index, 480), hz);
    if (!on && db > -45) {
      out.push_back(a.arrival);
      on = true;
    } else if (on && db < -55) {
      on = false;  // hysteresis: a burst ends only when the tone is clearly gone
    }
  }
  return out;
}

}  // namespace

LatencyResult RunLatencyBench(const std::string& server, const std::shared_ptr<grpc::Channel>& channel, int seconds,
                              int period_ms, const LatencyTiming& timing) {
  auto sessions = v1::SessionService::NewStub(channel);
  v1::CreateSessionRequest create;
  create.set_name("bench");
  create.add_languages("en");
  create.mutable_floor_source()->mutable_rtp();
  if (timing.frame_ms > 0) create.set_frame_ms(timing.frame_ms);
  if (timing.jitter_ms > 0) create.set_jitter_ms(timing.jitter_ms);
  v1::Session session;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    auto st = sessions->CreateSession(&ctx, create, &session);
    if (!st.ok()) {
      std::cerr << "tilmash-bench: CreateSession: " << client::StatusText(st) << "\n";
      return {};
    }
  }
  std::string error;
  std::vector<std::unique_ptr<client::ListenerClient>> listeners;
  for (const char* ch : {"floor", "en"}) {
    client::ListenerClient::Options o;
    o.server = server;
    o.grpc_channel = channel;
    o.session_id = session.id();
    o.channel = ch;
    auto l = client::ListenerClient::Start(o, &error);
    if (!l) {
      std::cerr << "tilmash-bench: listener: " << error << "\n";
      return {};
    }
    listeners.push_back(std::move(l));
  }
  auto sender_options = [&](const v1::IngestEndpoint& ingest) {
    auto o = client::IngestFromProto(ingest);
    o.frame_ms = timing.sender_frame_ms;
    return o;
  };
  client::RtpSender desk(sender_options(session.floor_ingest()));
  // An interpreter live on en: its bursts measure the console -> listener path.
  auto booths = v1::BoothService::NewStub(channel);
  v1::JoinConsoleResponse console;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::JoinConsoleRequest req;
    req.set_session_id(session.id());
    req.set_booth("en");
    auto st = booths->JoinConsole(&ctx, req, &console);
    if (!st.ok()) {
      std::cerr << "tilmash-bench: JoinConsole: " << client::StatusText(st) << "\n";
      return {};
    }
  }
  client::RtpSender interpreter(sender_options(console.ingest()));
  if (!desk.Start(&error) || !interpreter.Start(&error)) {
    std::cerr << "tilmash-bench: sender: " << error << "\n";
    return {};
  }
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::SetMicRequest req;
    req.set_session_id(session.id());
    req.set_console_id(console.console().id());
    req.set_live(true);
    v1::Console c;
    booths->SetMic(&ctx, req, &c);
  }
  // Tone bursts, floor and interpreter in turn: the sender records each onset packet's send time.
  std::vector<Clock::time_point> sent, sent_console;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  bool on = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  while (Clock::now() < end) {
    on = !on;
    client::RtpSender& who = on ? desk : interpreter;
    who.SetTone(on ? kFloorHz : kConsoleHz, -20);
    std::this_thread::sleep_for(std::chrono::milliseconds(period_ms / 2));
    if (auto change = who.LastSourceChange()) (on ? sent : sent_console).push_back(change->sent);
    who.SetSilence();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  desk.Stop();
  interpreter.Stop();

  std::printf(
      "service-added latency, sender packet in -> listener packet out (loopback; session frames %.1f ms, jitter "
      "buffer %u ms, desk and console packets %d ms)\n",
      session.frame_ms(), session.jitter_ms(), timing.sender_frame_ms);
  std::printf("%-26s %8s %8s %8s %8s %6s\n", "path", "p50 ms", "p99 ms", "min ms", "max ms", "n");
  for (auto& l : listeners) l->Stop();
  auto measure = [&](const char* name, const client::ListenerClient& l, double hz,
                     const std::vector<Clock::time_point>& sends) {
    auto onsets = Onsets(l, hz);
    std::vector<double> ms;
    for (auto s : sends) {
      auto it = std::lower_bound(onsets.begin(), onsets.end(), s);
      if (it != onsets.end() && *it - s < std::chrono::milliseconds(period_ms / 2))
        ms.push_back(std::chrono::duration<double, std::milli>(*it - s).count());
    }
    auto p = Summarise(ms);
    std::printf("%-26s %8.2f %8.2f %8.2f %8.2f %6zu\n", name, p.p50, p.p99, p.min, p.max, p.n);
    return p;
  };
  Percentiles floor = measure("floor -> floor channel", *listeners[0], kFloorHz, sent);
  Percentiles mixed = measure("floor -> en (ducked mix)", *listeners[1], kFloorHz, sent);
  Percentiles booth = measure("interpreter -> en", *listeners[1], kConsoleHz, sent_console);
  uint64_t lost = listeners[0]->stats().lost + listeners[1]->stats().lost;
  std::printf("listener packets lost: %llu\n", (unsigned long long)lost);
  {
    grpc::ClientContext ctx;
    v1::EndSessionRequest req;
    req.set_session_id(session.id());
    v1::EndSessionResponse r;
    sessions->EndSession(&ctx, req, &r);
  }
  std::printf(
      "latency: added_latency_p50_ms=%.2f added_latency_p99_ms=%.2f interpreter_latency_p99_ms=%.2f onsets=%zu\n",
      mixed.p50, mixed.p99, booth.p99, mixed.n + booth.n);
  LatencyResult r;
  r.floor = floor;
  r.mixed = mixed;
  r.booth = booth;
  r.lost = lost;
  r.ok = mixed.n > 0 && booth.n > 0;
  return r;
}

}  // namespace tilmash::bench
