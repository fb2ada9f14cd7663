#include "control_bench.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/convert.h"
#include "client/credentials.h"
#include "client/listener_client.h"
#include "client/rtp_sender.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::bench {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One open WatchKeys stream of a listener: notes when its first (current) key and the next
// key arrive.
class Watch : public grpc::ClientReadReactor<v1::KeyUpdate> {
 public:
  void Start(v1::ListenerService::Stub* stub, const std::string& session, const std::string& listener) {
    req_.set_session_id(session);
    req_.set_listener_id(listener);
    stub->async()->WatchKeys(&ctx_, &req_, this);
    StartRead(&msg_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (msg_.key_id() == 0)
      first_.store(true);
    else if (rotated_ns_.load() == 0)
      rotated_ns_.store(Clock::now().time_since_epoch().count());
    StartRead(&msg_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void Cancel() { ctx_.TryCancel(); }
  void WaitDone() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return done_; });
  }
  bool first() const { return first_.load(); }
  int64_t rotated_ns() const { return rotated_ns_.load(); }

 private:
  grpc::ClientContext ctx_;
  v1::WatchKeysRequest req_;
  v1::KeyUpdate msg_;
  std::atomic<bool> first_{false};
  std::atomic<int64_t> rotated_ns_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

v1::Session Create(v1::SessionService::Stub& s, const std::string& name, const std::vector<std::string>& languages,
                   std::string* error) {
  grpc::ClientContext ctx;
  client::SetDeadline(ctx);
  v1::CreateSessionRequest req;
  req.set_name(name);
  for (const auto& l : languages) req.add_languages(l);
  req.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
  v1::Session out;
  const auto st = s.CreateSession(&ctx, req, &out);
  if (!st.ok()) *error = "CreateSession: " + client::StatusText(st);
  return out;
}

void End(v1::SessionService::Stub& s, const std::string& id) {
  grpc::ClientContext ctx;
  client::SetDeadline(ctx);
  v1::EndSessionRequest req;
  req.set_session_id(id);
  v1::EndSessionResponse r;
  s.EndSession(&ctx, req, &r);
}

}  // namespace

std::string FillState(const std::string& server, int sessions, int channels, int listeners) {
  auto admin = client::Connect(server);
  auto session_stub = v1::SessionService::NewStub(admin);
  auto booth_stub = v1::BoothService::NewStub(admin);
  auto listener_stub = v1::ListenerService::NewStub(admin);
  static const char* kLanguages[] = {"en", "ru", "kk", "uz", "ky", "tk", "hy", "fr",
                                     "es", "ar", "zh", "de", "tr", "fa", "hi", "ja"};
  for (int s = 0; s < sessions; ++s) {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::CreateSessionRequest req;
    req.set_session_id("fill-" + std::to_string(s));
    req.set_name("fill " + std::to_string(s));
    for (int c = 0; c < channels; ++c) req.add_languages(kLanguages[c % 16]);
    // The first session's floor is a tone (the probe listens to it); the others wait for a desk on SRTP.
    if (s == 0)
      req.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
    else
      req.mutable_floor_source()->mutable_rtp()->set_srtp(true);
    v1::Session out;
    if (auto st = session_stub->CreateSession(&ctx, req, &out); !st.ok())
      return "CreateSession: " + client::StatusText(st);
    for (int c = 0; c < channels; ++c) {
      grpc::ClientContext jctx;
      client::SetDeadline(jctx);
      v1::JoinConsoleRequest join;
      join.set_session_id(out.id());
      join.set_booth(kLanguages[c % 16]);
      v1::JoinConsoleResponse joined;
      if (auto st = booth_stub->JoinConsole(&jctx, join, &joined); !st.ok())
        return "JoinConsole: " + client::StatusText(st);
    }
    std::atomic<int> next{0}, failed{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 8; ++t)
      callers.emplace_back([&] {
        for (int i = next++; i < listeners; i = next++) {
          grpc::ClientContext lctx;
          client::SetDeadline(lctx);
          v1::SubscribeRequest sub;
          sub.set_session_id(out.id());
          sub.set_channel(kLanguages[i % channels % 16]);
          sub.set_transport(v1::MULTICAST);
          v1::SubscribeResponse r;
          if (!listener_stub->Subscribe(&lctx, sub, &r).ok()) ++failed;
        }
      });
    for (auto& t : callers) t.join();
    if (failed > 0) return std::to_string(failed.load()) + " Subscribe calls failed (is --multicast-group set?)";
  }
  return "";
}

WatchersResult RunWatchersBench(const std::string& server, pid_t daemon, int streams, int connections) {
  WatchersResult r;
  r.streams = streams;
  r.connections = connections;
  auto admin = client::Connect(server);
  auto sessions = v1::SessionService::NewStub(admin);
  auto listeners = v1::ListenerService::NewStub(admin);
  const v1::Session session = Create(*sessions, "watchers", {"ru"}, &r.error);
  if (!r.error.empty()) return r;
  // The audience: members of ru's venue multicast group (one stream for all of them, so the
  // daemon's cost measured below is the streams', not the fan-out's).
  std::vector<std::string> ids(static_cast<std::size_t>(streams));
  std::atomic<int> next{0}, failed{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&] {
      for (int i = next++; i < streams; i = next++) {
        grpc::ClientContext ctx;
        client::SetDeadline(ctx);
        v1::SubscribeRequest req;
        req.set_session_id(session.id());
        req.set_channel("ru");
        req.set_transport(v1::MULTICAST);
        v1::SubscribeResponse resp;
        if (listeners->Subscribe(&ctx, req, &resp).ok())
          ids[std::size_t(i)] = resp.listener_id();
        else
          ++failed;
      }
    });
  for (auto& t : callers) t.join();
  r.subscribe_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed > 0) {
    r.error = std::to_string(failed.load()) + " Subscribe calls failed (is --multicast-group set?)";
    End(*sessions, session.id());
    return r;
  }
  std::this_thread::sleep_for(1s);
  const auto before = SampleProcess(daemon);
  r.threads_before = ThreadsOf(daemon);

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::ListenerService::Stub>> stubs;
  const auto creds = client::CredentialsFromEnvironment({});
  for (int c = 0; c < connections; ++c) {
    channels.push_back(client::ConnectWith(server, creds, /*own_connection=*/true));
    stubs.push_back(v1::ListenerService::NewStub(channels.back()));
  }
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < streams; ++i) {
    watches.push_back(std::make_unique<Watch>());
    watches.back()->Start(stubs[std::size_t(i % connections)].get(), session.id(), ids[std::size_t(i)]);
  }
  const auto deadline = Clock::now() + 120s;
  auto opened = [&] { return std::count_if(watches.begin(), watches.end(), [](auto& w) { return w->first(); }); };
  while (opened() < streams && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  if (opened() < streams) r.error = std::to_string(streams - opened()) + " streams got no first key";
  std::this_thread::sleep_for(2s);
  const auto open = SampleProcess(daemon);
  r.threads_open = ThreadsOf(daemon);
  std::this_thread::sleep_for(5s);
  const auto idle = SampleProcess(daemon);
  if (before && open && idle) {
    r.rss_per_stream_kib = (open->rss_kib - before->rss_kib) / streams;
    r.idle_cpu_percent = 100.0 * (idle->cpu_seconds - open->cpu_seconds) / 5.0;
  }
  // One member leaves the venue: the group's key is replaced for every other member.
  const auto left = Clock::now();
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::UnsubscribeRequest req;
    req.set_session_id(session.id());
    req.set_listener_id(ids[0]);
    v1::UnsubscribeResponse resp;
    listeners->Unsubscribe(&ctx, req, &resp);
  }
  auto rotated = [&] {
    return std::count_if(watches.begin() + 1, watches.end(), [](auto& w) { return w->rotated_ns() != 0; });
  };
  const auto rot_deadline = Clock::now() + 20s;
  while (rotated() < streams - 1 && Clock::now() < rot_deadline) std::this_thread::sleep_for(10ms);
  std::vector<double> ms;
  for (auto it = watches.begin() + 1; it != watches.end(); ++it)
    if ((*it)->rotated_ns() != 0) ms.push_back(Ms(Clock::duration((*it)->rotated_ns()) - left.time_since_epoch()));
  r.rotation_received = int(ms.size());
  r.rotation_ms = Summarise(ms);
  for (auto& w : watches) w->Cancel();
  for (auto& w : watches) w->WaitDone();
  End(*sessions, session.id());
  r.ok = r.error.empty() && r.rotation_received == streams - 1;
  if (r.error.empty() && !r.ok) r.error = "the new key reached " + std::to_string(r.rotation_received) + " streams";
  return r;
}

void PrintWatchers(const WatchersResult& r) {
  std::printf("\n== WatchKeys streams: %d listeners over %d connections ==\n", r.streams, r.connections);
  if (!r.error.empty()) std::printf("  FAILED: %s\n", r.error.c_str());
  std::printf("  %d Subscribe calls in %.2f s\n", r.streams, r.subscribe_s);
  std::printf("  daemon threads: %d with the listeners, %d with every stream open\n", r.threads_before, r.threads_open);
  std::printf("  daemon memory per open stream: %.2f KiB (RSS difference / streams)\n", r.rss_per_stream_kib);
  std::printf("  daemon CPU while the streams are open and idle: %.2f %% of one core\n", r.idle_cpu_percent);
  std::printf(
      "  a member leaves: the new group key at %d streams, p50 %.1f ms, p99 %.1f ms, max %.1f ms after Unsubscribe\n",
      r.rotation_received, r.rotation_ms.p50, r.rotation_ms.p99, r.rotation_ms.max);
}

MicLatencyResult RunMicLatencyBench(const std::string& server, int presses) {
  MicLatencyResult r;
  constexpr double kVoiceHz = 880;
  auto admin = client::Connect(server);
  auto sessions = v1::SessionService::NewStub(admin);
  auto booths = v1::BoothService::NewStub(admin);
  const v1::Session a = Create(*sessions, "mic", {"ru"}, &r.error);
  if (!r.error.empty()) return r;
  v1::JoinConsoleResponse joined;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::JoinConsoleRequest req;
    req.set_session_id(a.id());
    req.set_booth("ru");
    if (const auto st = booths->JoinConsole(&ctx, req, &joined); !st.ok()) {
      r.error = "JoinConsole: " + client::StatusText(st);
      return r;
    }
  }
  client::RtpSender voice(client::IngestFromProto(joined.ingest()));
  voice.SetTone(kVoiceHz, -20);
  std::string error;
  if (!voice.Start(&error)) {
    r.error = error;
    return r;
  }
  client::ListenerClient::Options o;
  o.grpc_channel = admin;
  o.session_id = a.id();
  o.channel = "ru";
  auto listener = client::ListenerClient::Start(o, &error);
  if (!listener) {
    r.error = error;
    return r;
  }
  auto set_mic = [&](bool live) {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::SetMicRequest req;
    req.set_session_id(a.id());
    req.set_console_id(joined.console().id());
    req.set_live(live);
    v1::Console c;
    return booths->SetMic(&ctx, req, &c).ok();
  };
  // Presses: off, a pause, then live; the latency is from the call to the first packet whose
  // 10 ms frame carries the interpreter at (nearly) full level.
  auto measure = [&](int n, std::vector<double>* out) {
    for (int i = 0; i < n; ++i) {
      set_mic(false);
      std::this_thread::sleep_for(250ms);
      const std::size_t from = listener->SampleCount();
      const auto t0 = Clock::now();
      if (!set_mic(true)) continue;
      if (!listener->WaitForSamples(from + 48 * 150, 5s)) continue;
      const auto samples = listener->Samples();
      for (const auto& f : listener->Arrivals()) {
        if (f.arrival < t0 || f.sample_index + 480 > samples.size()) continue;
        std::span<const float> frame(samples.data() + f.sample_index, 480);
        if (audio::ToneLevelDb(frame, kVoiceHz) > -26) {
          out->push_back(Ms(f.arrival - t0));
          break;
        }
      }
    }
  };
  std::vector<double> quiet, churned;
  measure(presses, &quiet);
  // Another session changes its graph in a loop: channels and consoles come and go, and a
  // balanced listener makes a mix each time.
  std::atomic<bool> stop{false};
  std::atomic<int> cycles{0}, refused{0};
  std::thread churn([&] {
    std::string e;
    const v1::Session b = Create(*sessions, "churn", {"en"}, &e);
    if (!e.empty()) return;
    auto listeners = v1::ListenerService::NewStub(admin);
    while (!stop) {
      grpc::ClientContext c1, c2, c3, c4, c5, c6;
      v1::AddChannelRequest add;
      add.set_session_id(b.id());
      add.set_language("kk");
      v1::Channel ch;
      if (auto st = sessions->AddChannel(&c1, add, &ch); !st.ok()) {
        // The media thread is behind: the daemon refuses instead of queueing; back off a little.
        if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused;
        std::this_thread::sleep_for(2ms);
        continue;
      }
      v1::JoinConsoleRequest join;
      join.set_session_id(b.id());
      join.set_booth("kk");
      v1::JoinConsoleResponse console;
      if (auto st = booths->JoinConsole(&c2, join, &console);
          !st.ok() && st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        ++refused;
      v1::SubscribeRequest sub;
      sub.set_session_id(b.id());
      sub.set_channel("kk");
      sub.mutable_endpoint()->set_host("127.0.0.1");
      sub.mutable_endpoint()->set_port(9);
      sub.set_interpretation_percent(50);
      v1::SubscribeResponse l;
      listeners->Subscribe(&c3, sub, &l);
      v1::UnsubscribeRequest unsub;
      unsub.set_session_id(b.id());
      unsub.set_listener_id(l.listener_id());
      v1::UnsubscribeResponse u;
      listeners->Unsubscribe(&c4, unsub, &u);
      v1::LeaveConsoleRequest leave;
      leave.set_session_id(b.id());
      leave.set_console_id(console.console().id());
      v1::LeaveConsoleResponse left;
      booths->LeaveConsole(&c5, leave, &left);
      v1::RemoveChannelRequest remove;
      remove.set_session_id(b.id());
      remove.set_language("kk");
      v1::RemoveChannelResponse removed;
      sessions->RemoveChannel(&c6, remove, &removed);
      ++cycles;
    }
    End(*sessions, b.id());
  });
  std::this_thread::sleep_for(500ms);
  const int before = cycles;
  measure(presses, &churned);
  r.churn_cycles = cycles - before;
  r.churn_refused = refused;
  stop = true;
  churn.join();
  listener->Stop(true);
  voice.Stop();
  End(*sessions, a.id());
  r.quiet_ms = Summarise(quiet);
  r.churn_ms = Summarise(churned);
  for (auto* v : {&quiet, &churned}) {
    std::sort(v->begin(), v->end());
    std::string line;
    for (double x : *v) line += std::to_string(std::lround(x)) + " ";
    (v == &quiet ? r.quiet_list : r.churn_list) = line;
  }
  r.ok = int(quiet.size()) == presses && int(churned.size()) == presses;
  if (!r.ok) r.error = "some presses were not heard at the listener";
  return r;
}

void PrintMicLatency(const MicLatencyResult& r) {
  std::printf("\n== SetMic(live) -> the interpreter at full level at an SRTP listener ==\n");
  if (!r.error.empty()) std::printf("  FAILED: %s\n", r.error.c_str());
  std::printf("  alone:                  p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu presses)\n", r.quiet_ms.p50,
              r.quiet_ms.p99, r.quiet_ms.max, r.quiet_ms.n);
  std::printf(
      "  another session churns: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%zu presses; %d churn cycles meanwhile, "
      "%d changes refused while the media thread was behind)\n",
      r.churn_ms.p50, r.churn_ms.p99, r.churn_ms.max, r.churn_ms.n, r.churn_cycles, r.churn_refused);
  std::printf("  every press, ms (alone): %s\n  every press, ms (churn): %s\n", r.quiet_list.c_str(),
              r.churn_list.c_str());
}

}  // namespace tilmash::bench
