#include "scrape_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include "client/connect.h"
#include "client/convert.h"
#include "client/credentials.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::bench {

namespace {

using Clock = std::chrono::steady_clock;

// GET /metrics over a fresh loopback connection (as Prometheus does with keep-alive off):
// the body's size, or 0 when the answer is not a 200.
std::size_t Get(const std::string& host, int port, const std::string& token) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return 0;
  }
  const std::string req =
      "GET /metrics HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), 0) != ssize_t(req.size())) {
    close(fd);
    return 0;
  }
  std::string in;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, std::size_t(n));
  close(fd);
  if (in.rfind("HTTP/1.1 200", 0) != 0) return 0;
  const auto body = in.find("\r\n\r\n");
  return body == std::string::npos ? 0 : in.size() - body - 4;
}

}  // namespace

ScrapeResult RunScrapeBench(const std::string& server, const std::string& http, pid_t daemon, int listeners,
                            int scrapes) {
  ScrapeResult r;
  r.listeners = listeners;
  r.scrapes = scrapes;
  const char* token_file = std::getenv("TILMASH_TOKEN_FILE");
  const std::string token = token_file ? client::ReadTokenFile(token_file) : "";
  const auto colon = http.rfind(':');
  const std::string host = http.substr(7, colon - 7);
  const int port = std::atoi(http.c_str() + colon + 1);
  // Where every listener's packets go: one socket nobody reads (the kernel drops what overflows),
  // bound to every address so each listener can have an endpoint of its own (127.0.x.y: one
  // stream per destination, a second Subscribe to the same one would replace the first).
  const int sink = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof a;
  if (bind(sink, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(sink, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    r.error = "cannot bind the listeners' sink socket";
    close(sink);
    return r;
  }
  const int sink_port = ntohs(a.sin_port);

  auto admin = client::Connect(server);
  auto sessions = v1::SessionService::NewStub(admin);
  auto subscribe = v1::ListenerService::NewStub(admin);
  const std::vector<std::string> languages = {"en", "ru", "kk", "uz", "ky", "tg", "tk", "mn", "hy", "zh"};
  v1::Session session;
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::CreateSessionRequest req;
    req.set_name("scrape");
    for (const auto& l : languages) req.add_languages(l);
    req.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
    const auto st = sessions->CreateSession(&ctx, req, &session);
    if (!st.ok()) {
      r.error = "CreateSession: " + client::StatusText(st);
      close(sink);
      return r;
    }
  }
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&] {
      for (int i = next++; i < listeners; i = next++) {
        grpc::ClientContext ctx;
        client::SetDeadline(ctx);
        v1::SubscribeRequest req;
        req.set_session_id(session.id());
        req.set_channel(languages[std::size_t(i) % languages.size()]);
        req.mutable_endpoint()->set_host("127.0." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250));
        req.mutable_endpoint()->set_port(uint32_t(sink_port));
        v1::SubscribeResponse resp;
        if (!subscribe->Subscribe(&ctx, req, &resp).ok()) ++failed;
      }
    });
  for (auto& t : callers) t.join();
  if (failed > 0) r.error = std::to_string(failed.load()) + " Subscribe calls failed";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Every one of them is a listener of its own at scrape time.
  if (r.error.empty()) {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::GetSessionRequest req;
    req.set_session_id(session.id());
    v1::Session now;
    uint32_t counted = 0;
    if (sessions->GetSession(&ctx, req, &now).ok())
      for (const auto& c : now.channels()) counted += c.listener_count();
    if (counted != uint32_t(listeners))
      r.error = std::to_string(counted) + " listeners at scrape time, not " + std::to_string(listeners);
  }
  if (r.error.empty()) {
    r.bytes = Get(host, port, token);  // warm-up (and the size)
    if (r.bytes == 0) r.error = "GET " + http + "metrics did not answer 200";
    std::vector<double> wall;
    const auto c0 = SampleProcess(daemon);
    const auto t0 = Clock::now();
    for (int i = 0; i < scrapes && r.error.empty(); ++i) {
      const auto s = Clock::now();
      if (Get(host, port, token) == 0) r.error = "a scrape failed";
      wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    }
    const auto span = Clock::now() - t0;
    const auto c1 = SampleProcess(daemon);
    // As long again without scrapes: what the daemon spends anyway in that time.
    std::this_thread::sleep_for(span);
    const auto c2 = SampleProcess(daemon);
    r.wall_ms = Summarise(wall);
    if (c0 && c1 && c2 && scrapes > 0) {
      r.cpu_ms_per_scrape = (c1->cpu_seconds - c0->cpu_seconds) * 1000.0 / scrapes;
      r.idle_cpu_ms_per_interval = (c2->cpu_seconds - c1->cpu_seconds) * 1000.0 / scrapes;
    }
  }
  {
    grpc::ClientContext ctx;
    client::SetDeadline(ctx);
    v1::EndSessionRequest req;
    req.set_session_id(session.id());
    v1::EndSessionResponse out;
    sessions->EndSession(&ctx, req, &out);
  }
  close(sink);
  r.ok = r.error.empty();
  return r;
}

void PrintScrape(const ScrapeResult& r) {
  std::printf("\n/metrics scrape with %d unicast listeners over 10 channels (%d scrapes, %zu bytes each)\n",
              r.listeners, r.scrapes, r.bytes);
  if (!r.ok) {
    std::printf("  FAILED: %s\n", r.error.c_str());
    return;
  }
  std::printf("  wall per scrape (connect to last byte): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.wall_ms.p50,
              r.wall_ms.p99, r.wall_ms.max);
  std::printf("  daemon CPU per scrape interval: %.2f ms while scraping, %.2f ms without (the fan-out's share)\n",
              r.cpu_ms_per_scrape, r.idle_cpu_ms_per_interval);
}

}  // namespace tilmash::bench
