#include "daemon/console_gateway.h"

#include <glib.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>

#include <vector>

#include "daemon/api_gateway.h"
#include "daemon/whep_gateway.h"
#include "graph/console_bridge.h"
#include "log/log.h"
#include "sdp/whep_sdp.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::daemon {

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("booth");
  return l;
}
graph::SrtpKey KeyOf(const v1::SrtpKeying& k) {
  return {k.suite() == v1::AEAD_AES_128_GCM ? rtp::SrtpSuite::kAeadAes128Gcm : rtp::SrtpSuite::kAesCm128HmacSha1_80,
          std::vector<uint8_t>(k.master_key().begin(), k.master_key().end())};
}
web::WhepResult Failed(int status, std::string why) { return {status, std::move(why), ""}; }

// The answer asks the browser for Opus in-band FEC (RFC 7587 useinbandfec=1), mono, and 10 ms
// packets (a=ptime:10; a browser's default is 20): the console's decoder recovers a lost packet
// from the next one, and the voice waits half as long for its packet.
std::string AskForFec(std::string answer, int pt) {
  if (answer.find("a=ptime:") == std::string::npos) {
    const auto audio = answer.find("m=audio");
    const auto eol = audio == std::string::npos ? audio : answer.find('\n', audio);
    if (eol != std::string::npos) answer.insert(eol + 1, "a=ptime:10\r\n");
  }
  const std::string fmtp = "a=fmtp:" + std::to_string(pt) + " ";
  const auto at = answer.find(fmtp);
  if (at != std::string::npos) {
    const auto eol = answer.find_first_of("\r\n", at);
    const std::string params = answer.substr(at + fmtp.size(), eol - at - fmtp.size());
    if (params.find("useinbandfec") == std::string::npos) answer.insert(eol, ";useinbandfec=1");
    if (params.find("minptime") == std::string::npos) answer.insert(eol, ";minptime=10");
    return answer;
  }
  const std::string rtpmap = "a=rtpmap:" + std::to_string(pt) + " ";
  const auto map = answer.find(rtpmap);
  if (map == std::string::npos) return answer;
  const auto eol = answer.find('\n', map);
  if (eol != std::string::npos) answer.insert(eol + 1, fmtp + "useinbandfec=1;stereo=0;minptime=10\r\n");
  return answer;
}
}  // namespace

struct ConsoleGateway::Impl : std::enable_shared_from_this<Impl> {
  struct Record {
    std::string session, console, token;
    std::shared_ptr<graph::ConsoleLink> link;
    std::unique_ptr<graph::ConsoleBridge> bridge;
    std::chrono::steady_clock::time_point gone_since;  // without a connected bridge since
  };

  Impl(std::shared_ptr<grpc::Channel> c, auth::Access& a, std::shared_ptr<fanout::PortAllocator> p,
       ConsoleGatewayOptions o)
      : channel(std::move(c)), stub(v1::BoothService::NewStub(channel)), access(a), ports(std::move(p)), options(o) {}

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::BoothService::Stub> stub;
  auth::Access& access;
  std::shared_ptr<fanout::PortAllocator> ports;
  const ConsoleGatewayOptions options;
  mutable std::mutex mu;
  std::map<std::string, Record> records;  // by session + "/" + console
  std::condition_variable cv;
  bool stopping = false;
  std::thread ticker;

  static std::string Key(const std::string& session, const std::string& console) { return session + "/" + console; }

  // Starts a connection on the record's link; `done` gets the answer. Called without mu.
  void Connect(const std::string& session, const std::string& console, const std::string& offer, int pt,
               const std::function<void(web::WhepResult)>& done) {
    std::shared_ptr<graph::ConsoleLink> link;
    std::unique_ptr<graph::ConsoleBridge> old;
    {
      std::lock_guard lock(mu);
      auto it = records.find(Key(session, console));
      if (it == records.end()) return done(Failed(404, "console " + console + " has left"));
      link = it->second.link;
      old = std::move(it->second.bridge);
    }
    old.reset();  // its pipeline stops (joins webrtcbin's threads) before the new one starts
    link->Restart();
    auto checked = sdp::ParseWhepOffer(offer);
    auto handshake = std::make_shared<graph::WebrtcHandshake>(
        [done, console, pt](bool ok, const std::string& text) {
          done(ok ? web::WhepResult{201, AskForFec(text, pt), console} : Failed(500, text));
        },
        [want = checked.value()](const std::string& answer) {
          auto s = sdp::CheckWhepAnswer(want, answer);
          return s.ok() ? std::string() : s.message();
        });
    graph::ConsoleBridgeOptions bo;
    bo.id = console;
    bo.jitter_min_ms = options.jitter_min_ms;
    bo.jitter_max_ms = options.jitter_max_ms;
    bo.jitter_start_ms = options.jitter_start_ms;
    auto bridge = graph::ConsoleBridge::Start(link, bo, offer, pt, ports->range(), handshake);
    if (!bridge.ok()) {
      handshake->Cancel();
      return done(Failed(HttpStatus(bridge.status()), bridge.status().message()));
    }
    std::lock_guard lock(mu);
    auto it = records.find(Key(session, console));
    if (it == records.end()) return;  // left meanwhile: the bridge ends here
    it->second.bridge = std::move(bridge.value());
  }

  void Leave(const std::string& token, const std::string& session, const std::string& console) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::LeaveConsoleRequest req;
    req.set_session_id(session);
    req.set_console_id(console);
    v1::LeaveConsoleResponse resp;
    const grpc::Status st = stub->LeaveConsole(&ctx, req, &resp);
    if (!st.ok() && st.error_code() != grpc::NOT_FOUND)
      Log()->warn("session {}: console {} could not leave: {}", session, console, st.error_message());
  }

  void Tick() {
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::milliseconds(250));
      if (stopping) break;
      const auto now = std::chrono::steady_clock::now();
      std::vector<std::unique_ptr<graph::ConsoleBridge>> ended;
      std::vector<Record> abandoned;
      for (auto it = records.begin(); it != records.end();) {
        Record& r = it->second;
        // A browser sends a packet every 10-20 ms, silence included: one that stopped for the
        // quiet limit is gone (WebRTC's own failure detection takes much longer, or never comes).
        const int64_t since_us = std::max(r.bridge ? r.bridge->started_us() : 0, r.link->last_up_us());
        const bool quiet = r.bridge && g_get_monotonic_time() - since_us > options.quiet_limit.count() * 1000;
        if (r.bridge && (r.bridge->over() || quiet)) {
          Log()->info("session {}: console {}'s page lost its connection{}", r.session, r.console,
                      quiet ? " (nothing from it for " + std::to_string(options.quiet_limit.count()) + " ms)" : "");
          ended.push_back(std::move(r.bridge));
          r.gone_since = now;
        }
        if (r.bridge) r.bridge->Adapt();
        if (!r.bridge && now - r.gone_since > options.abandon_after) {
          abandoned.push_back(std::move(r));
          it = records.erase(it);
          continue;
        }
        ++it;
      }
      lock.unlock();
      ended.clear();
      for (auto& r : abandoned) {
        Log()->info("session {}: console {}'s page has been gone for {} s: it leaves", r.session, r.console,
                    options.abandon_after.count() / 1000);
        r.bridge.reset();
        Leave(r.token, r.session, r.console);
      }
      abandoned.clear();
      lock.lock();
    }
  }
};

ConsoleGateway::ConsoleGateway(std::shared_ptr<grpc::Channel> channel, auth::Access& access,
                               std::shared_ptr<fanout::PortAllocator> ports, ConsoleGatewayOptions options)
    : impl_(std::make_shared<Impl>(std::move(channel), access, std::move(ports), options)) {
  impl_->ticker = std::thread([impl = impl_.get()] { impl->Tick(); });
}

ConsoleGateway::~ConsoleGateway() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->ticker.join();
  std::map<std::string, Impl::Record> all;
  {
    std::lock_guard lock(impl_->mu);
    all.swap(impl_->records);
  }
  all.clear();  // the bridges end; the consoles stay (a restarted daemon restores them)
}

std::size_t ConsoleGateway::consoles() const {
  std::lock_guard lock(impl_->mu);
  return impl_->records.size();
}

void ConsoleGateway::Offer(const web::ConsoleOffer& o, std::function<void(web::WhepResult)> done) {
  auto parsed = sdp::ParseWhepOffer(o.sdp);
  if (!parsed.ok()) return done(Failed(400, parsed.status().message()));
  const int pt = parsed.value().opus_payload_type;
  auto who = impl_->access.Admit(o.token, "BoothService.JoinConsole", o.session);
  if (!who.ok()) return done(Failed(HttpStatus(who.status()), who.status().message()));
  if (!o.console.empty()) {
    bool mine = false, known = false;
    {
      std::lock_guard lock(impl_->mu);
      auto it = impl_->records.find(Impl::Key(o.session, o.console));
      known = it != impl_->records.end();
      mine = known && it->second.token == o.token;
    }
    if (known && !mine) return done(Failed(403, "console " + o.console + " belongs to another page"));
    if (known) {
      Log()->info("session {}: console {}'s page reconnects", o.session, o.console);
      return impl_->Connect(o.session, o.console, o.sdp, pt, done);
    }
    // A console this gateway does not know (the daemon restarted under the page): it leaves,
    // and the page joins anew.
    impl_->Leave(o.token, o.session, o.console);
  }
  const std::string booth = o.booth.empty() ? who.value().booth : o.booth;
  if (booth.empty())
    return done(Failed(400, "which booth? the token is bound to none: add ?booth=LANGUAGE to the page's address"));
  std::string error;
  std::shared_ptr<graph::ConsoleLink> link = graph::ConsoleLink::Create(*impl_->ports, &error);
  if (!link) return done(Failed(503, error));
  struct Call {
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    v1::JoinConsoleResponse resp;
  };
  auto call = std::make_shared<Call>();
  call->ctx.AddMetadata("authorization", "Bearer " + o.token);
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  call->req.set_session_id(o.session);
  call->req.set_booth(booth);
  call->req.set_name(o.name.empty() ? "browser" : o.name);
  call->req.mutable_return_endpoint()->set_host("127.0.0.1");
  call->req.mutable_return_endpoint()->set_port(link->return_port());
  std::weak_ptr<Impl> weak = impl_;
  impl_->stub->async()->JoinConsole(
      &call->ctx, &call->req, &call->resp, [weak, call, link, o, pt, done](const grpc::Status& st) {
        if (!st.ok()) return done(Failed(HttpStatusOfGrpc(int(st.error_code())), st.error_message()));
        auto impl = weak.lock();
        if (!impl) return done(Failed(503, "the daemon is stopping"));
        const auto& resp = call->resp;
        const std::string console = resp.console().id();
        std::string error;
        if (!link->Attach(resp.ingest().endpoint().host(), uint16_t(resp.ingest().endpoint().port()),
                          resp.ingest().ssrc(), uint8_t(resp.ingest().payload_type()), KeyOf(resp.ingest().srtp()),
                          resp.return_feed().ssrc(), KeyOf(resp.return_feed().srtp()), &error)) {
          impl->Leave(o.token, o.session, console);
          return done(Failed(500, error));
        }
        {
          std::lock_guard lock(impl->mu);
          Impl::Record& r = impl->records[Impl::Key(o.session, console)];
          r.session = o.session;
          r.console = console;
          r.token = o.token;
          r.link = link;
          r.gone_since = std::chrono::steady_clock::now();
        }
        Log()->info("session {}: console {} joins booth {} from a browser", o.session, console, resp.console().booth());
        impl->Connect(o.session, console, o.sdp, pt, done);
      });
}

web::WhepResult ConsoleGateway::End(const std::string& token, const std::string& session, const std::string& console) {
  Impl::Record gone;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->records.find(Impl::Key(session, console));
    if (it == impl_->records.end()) return Failed(404, "no browser console " + console + " in session " + session);
    if (it->second.token != token) return Failed(403, "console " + console + " belongs to another page");
    gone = std::move(it->second);
    impl_->records.erase(it);
  }
  gone.bridge.reset();
  impl_->Leave(token, session, console);
  Log()->info("session {}: console {} left (its page closed)", session, console);
  return {200, "left", console};
}

}  // namespace tilmash::daemon
