// tilmash-bench: measures a running tilmashd from the outside, as a sound desk and a delegate
// would see it. Service-added latency = time from the floor packet that carries a tone onset
// leaving the desk to the first listener packet that carries it arriving, on loopback.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
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

using namespace tilmash;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kFloorHz = 1000, kConsoleHz = 1500;

struct Percentiles {
  double p50 = 0, p99 = 0, min = 0, max = 0;
  std::size_t n = 0;
};

Percentiles Summarise(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, std::size_t(q * double(v.size() - 1) + 0.5))]; };
  p.p50 = at(0.5);
  p.p99 = at(0.99);
  p.min = v.front();
  p.max = v.back();
  return p;
}

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

int main(int argc, char** argv) {
  std::string server = client::kDefaultServer;
  int seconds = 20;
  int period_ms = 200;
  CLI::App app{"tilmash-bench - measure a running tilmashd (service-added latency, loss)"};
  app.add_option("--server", server, "tilmashd gRPC address");
  app.add_option("--seconds", seconds, "how long to measure")->check(CLI::Range(2, 3600));
  app.add_option("--period-ms", period_ms, "tone on/off period")->check(CLI::Range(40, 5000));
  CLI11_PARSE(app, argc, argv);

  auto channel = client::Connect(server);
  auto sessions = v1::SessionService::NewStub(channel);
  v1::CreateSessionRequest create;
  create.set_name("bench");
  create.add_languages("en");
  create.mutable_floor_source()->mutable_rtp();
  v1::Session session;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    auto st = sessions->CreateSession(&ctx, create, &session);
    if (!st.ok()) {
      std::cerr << "tilmash-bench: CreateSession: " << client::StatusText(st) << "\n";
      return 1;
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
      return 1;
    }
    listeners.push_back(std::move(l));
  }
  client::RtpSender desk(client::IngestFromProto(session.floor_ingest()));
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
      return 1;
    }
  }
  client::RtpSender interpreter(client::IngestFromProto(console.ingest()));
  if (!desk.Start(&error) || !interpreter.Start(&error)) {
    std::cerr << "tilmash-bench: sender: " << error << "\n";
    return 1;
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

  std::printf("service-added latency, sender packet in -> listener packet out (loopback, 10 ms frames)\n");
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
  measure("floor -> floor channel", *listeners[0], kFloorHz, sent);
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
      "bench: added_latency_p50_ms=%.2f added_latency_p99_ms=%.2f interpreter_latency_p99_ms=%.2f "
      "onsets=%zu loss=%llu\n",
      mixed.p50, mixed.p99, booth.p99, mixed.n + booth.n, (unsigned long long)lost);
  return mixed.n == 0 || booth.n == 0 ? 1 : 0;
}
