#include "web/http_server.h"

#include <libsoup/soup.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "domain/status.h"
#include "gst/gst_ptr.h"
#include "log/log.h"

namespace tilmash::web {

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("http");
  return l;
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

void Respond(SoupServerMessage* msg, int status, const char* type, const std::string& body, const char* cache) {
  soup_server_message_set_status(msg, status, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Cache-Control", cache);
  // Players on other origins (a CDN, a conference site) may read the streams.
  soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_server_message_set_response(msg, type, SOUP_MEMORY_COPY, body.data(), body.size());
}

// A staff-only request refused: 401 (with the bearer challenge) or 403, and the reason.
void RespondRefused(SoupServerMessage* msg, const MetricsReply& reply) {
  if (reply.status == 401)
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "WWW-Authenticate", "Bearer");
  Respond(msg, reply.status, "text/plain", reply.body + "\n", "no-store");
}

}  // namespace

HttpServer::HttpServer(HttpOptions options, HlsCatalog catalog, WhepBackend* whep)
    : options_(std::move(options)), catalog_(std::move(catalog)), whep_(whep), alive_(std::make_shared<Alive>()) {
  alive_->server = this;
}

std::unique_ptr<HttpServer> HttpServer::Start(const HttpOptions& options, HlsCatalog catalog, WhepBackend* whep,
                                              std::string* error) {
  const auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    *error = "http_listen must be HOST:PORT, not '" + options.listen + "'";
    return nullptr;
  }
  const std::string host = options.listen.substr(0, colon);
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    *error = "http TLS needs both http_tls_cert and http_tls_key";
    return nullptr;
  }
  if (options.tls_cert.empty() && !IsLoopback(host)) {
    *error = "plain HTTP is allowed on a loopback http_listen only; give http_tls_cert and http_tls_key for " + host;
    return nullptr;
  }
  std::unique_ptr<HttpServer> s(new HttpServer(options, std::move(catalog), whep));
  bool ok = false;
  s->thread_.Invoke([&] { ok = s->Listen(error); });
  if (!ok) return nullptr;
  return s;
}

bool HttpServer::Listen(std::string* error) {
  gst::ErrorPtr err;
  gst::GObjectPtr<GTlsCertificate> cert;
  if (!options_.tls_cert.empty()) {
    cert = gst::GObjectPtr<GTlsCertificate>::Adopt(
        g_tls_certificate_new_from_files(options_.tls_cert.c_str(), options_.tls_key.c_str(), err.out()));
    if (!cert) {
      *error = "http TLS certificate: " + err.message();
      return false;
    }
  }
  if (!options_.hls_origin.empty()) {
    relay_ = HlsRelay::Create(options_.hls_origin, options_.hls_origin_ca, error);
    if (!relay_) return false;
  }
  server_ = cert ? soup_server_new("server-header", "tilmash", "tls-certificate", cert.get(), nullptr)
                 : soup_server_new("server-header", "tilmash", nullptr);
  soup_server_add_handler(server_, nullptr, &HttpServer::OnRequest, this, nullptr);
  // A technician's stream ends when its page goes (aborted) or the server ends it (finished).
  g_signal_connect(server_, "request-finished", G_CALLBACK(&HttpServer::OnRequestDone), this);
  g_signal_connect(server_, "request-aborted", G_CALLBACK(&HttpServer::OnRequestDone), this);
  // Keep-alive clients that leave between requests: libsoup 3.2 would hold their sockets forever.
  idle_connections_ = std::make_unique<IdleConnections>(server_, thread_.context());
  const auto colon = options_.listen.rfind(':');
  std::string host = options_.listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port_text = options_.listen.substr(colon + 1);
  uint16_t want = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), want);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) {
    *error = "http_listen: the port " + domain::Quoted(port_text) + " is not a number from 0 to 65535";
    return false;
  }
  auto ia = gst::GObjectPtr<GInetAddress>::Adopt(g_inet_address_new_from_string(host.c_str()));
  if (!ia) {
    *error = "http_listen: " + domain::Quoted(host) + " is not an IP address";
    return false;
  }
  auto sa = gst::GObjectPtr<GSocketAddress>::Adopt(g_inet_socket_address_new(ia.get(), want));
  const auto flags = cert ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0);
  if (!soup_server_listen(server_, sa.get(), flags, err.out())) {
    *error = "cannot listen for HTTP on " + options_.listen + ": " + err.message();
    return false;
  }
  GSList* uris = soup_server_get_uris(server_);
  if (uris) port_ = g_uri_get_port(static_cast<GUri*>(uris->data));
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  tls_ = bool(cert);
  Log()->debug("serving {} on port {}", tls_ ? "HTTPS" : "HTTP", port_);
  return port_ > 0;
}

std::string HttpServer::ReloadTls() {
  if (!tls_) return "";
  gst::ErrorPtr err;
  auto cert = gst::GObjectPtr<GTlsCertificate>::Adopt(
      g_tls_certificate_new_from_files(options_.tls_cert.c_str(), options_.tls_key.c_str(), err.out()));
  if (!cert) return "http TLS certificate not reloaded: " + err.message();
  thread_.Invoke([&] { soup_server_set_tls_certificate(server_, cert.get()); });
  return "";
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(alive_->mu);
    alive_->server = nullptr;  // a WHEP answer that arrives from now on is dropped
  }
  thread_.Invoke([this] {
    for (auto& t : tech_streams_) t->End();
    tech_streams_.clear();
    for (auto& a : api_streams_) {
      a->out.End();
      if (a->cancel) a->cancel();
    }
    api_streams_.clear();
    tech_open_ = 0;
    idle_connections_.reset();
    relay_.reset();  // its waiting players are answered before the server goes
    if (server_) {
      soup_server_disconnect(server_);
      g_object_unref(server_);
      server_ = nullptr;
    }
  });
}

void HttpServer::OnRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable* query, void* self) {
  // Nothing from outside may end the process: whatever a handler throws is a 500 for this
  // request only.
  try {
    static_cast<HttpServer*>(self)->Handle(msg, path ? path : "/", query);
  } catch (const std::exception& e) {
    Log()->error("request for {} failed: {}", domain::Quoted(path ? path : "/"), e.what());
    Respond(msg, 500, "text/plain", "internal error\n", "no-store");
  }
}

void HttpServer::Handle(SoupServerMessage* msg, const std::string& path, GHashTable* query) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  SoupMessageHeaders* in = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders* out = soup_server_message_get_response_headers(msg);
  const char* method = soup_server_message_get_method(msg);
  const char* auth = soup_message_headers_get_one(in, "Authorization");
  const char* type = soup_message_headers_get_content_type(in, nullptr);
  const Route route = RouteRequest(
      HttpRequest{method ? method : "", path, auth ? auth : "", type ? type : ""},
      RouteOptions{!options_.web_root.empty(), !options_.hls_dir.empty() || relay_, whep_ != nullptr,
                   bool(options_.metrics), bool(options_.tech), options_.api != nullptr, options_.console != nullptr});
  if (path.rfind("/whep/", 0) == 0) {
    soup_message_headers_replace(out, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
    soup_message_headers_replace(out, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    soup_message_headers_replace(out, "Access-Control-Expose-Headers", "Location");
  }
  switch (route.kind) {
    case Route::Kind::kRefuse:
      if (route.status == 404) counters_.not_found.fetch_add(1, std::memory_order_relaxed);
      if (route.status == 405) counters_.bad_method.fetch_add(1, std::memory_order_relaxed);
      if (!route.allow.empty()) soup_message_headers_replace(out, "Allow", route.allow.c_str());
      if (route.bearer_challenge) soup_message_headers_replace(out, "WWW-Authenticate", "Bearer");
      return Respond(msg, route.status, "text/plain", route.message + "\n", "no-store");
    case Route::Kind::kHealth:
      // The same state as grpc.health.v1: a load balancer or probe stops sending new clients.
      if (options_.serving && !options_.serving()) return Respond(msg, 503, "text/plain", "not serving\n", "no-store");
      return Respond(msg, 200, "text/plain", "ok\n", "no-store");
    case Route::Kind::kMetrics:
      return ServeMetrics(msg, route);
    case Route::Kind::kTechEvents:
      return ServeTechEvents(msg, route);
    case Route::Kind::kPage:
      return ServeFile(msg, options_.web_root + "/" + route.file, route.content_type,
                       route.file.ends_with(".html") ? "no-cache" : "public, max-age=300");
    case Route::Kind::kSessionInfo:
      return ServeSessionInfo(msg, route.session);
    case Route::Kind::kHlsMaster: {
      if (relay_ && options_.hls_relayed && options_.hls_relayed(route.session)) return ServeRelayed(msg, path, route);
      auto listing = catalog_(route.session);
      if (!listing) {
        counters_.not_found.fetch_add(1, std::memory_order_relaxed);
        return Respond(msg, 404, "text/plain", "no session " + route.session + "\n", "no-store");
      }
      // Channels come and go rarely; a CDN may keep the master for a few seconds.
      return Respond(msg, 200, route.content_type.c_str(), MasterPlaylist(listing->renditions, options_.hls_bandwidth),
                     "public, max-age=5");
    }
    case Route::Kind::kHlsFile: {
      if (relay_ && options_.hls_relayed && options_.hls_relayed(route.session)) return ServeRelayed(msg, path, route);
      // Only what the session has now: an ended session's or a removed channel's files may
      // linger on disk a moment (the media thread removes them), but are never served.
      auto listing = catalog_(route.session);
      const bool live = listing && std::any_of(listing->renditions.begin(), listing->renditions.end(),
                                               [&](const HlsRendition& r) { return r.channel == route.channel; });
      if (!live || options_.hls_dir.empty()) {
        counters_.not_found.fetch_add(1, std::memory_order_relaxed);
        return Respond(msg, 404, "text/plain", "no channel " + route.channel + " in session " + route.session + "\n",
                       "no-store");
      }
      if (route.file != "playlist.m3u8") ++hls_segments_[{route.session, route.channel}];
      // The live playlist changes every segment; a segment never changes while it is listed.
      return ServeFile(msg, options_.hls_dir + "/" + route.session + "/" + route.channel + "/" + route.file,
                       route.content_type, route.file == "playlist.m3u8" ? "public, max-age=1" : "public, max-age=30");
    }
    case Route::Kind::kWhepOptions:
      soup_message_headers_replace(out, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
      soup_message_headers_replace(out, "Access-Control-Allow-Headers", "Authorization, Content-Type");
      return Respond(msg, 204, "text/plain", "", "no-store");
    case Route::Kind::kWhepOffer:
      return ServeWhepOffer(msg, route);
    case Route::Kind::kWhepEnd: {
      const WhepResult r = whep_->End(route.token, route.session, route.resource);
      return Respond(msg, r.status, "text/plain", r.body + "\n", "no-store");
    }
    case Route::Kind::kApiCall:
      return ServeApi(msg, route);
    case Route::Kind::kConsoleOffer:
      return ServeConsoleOffer(msg, route, query);
    case Route::Kind::kConsoleEnd: {
      const WhepResult r = options_.console->End(route.token, route.session, route.resource);
      return Respond(msg, r.status, "text/plain", r.body + "\n", "no-store");
    }
  }
}

void HttpServer::ServeFile(SoupServerMessage* msg, const std::string& file, const std::string& type,
                           const char* cache) {
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    counters_.not_found.fetch_add(1, std::memory_order_relaxed);
    return Respond(msg, 404, "text/plain", "not found (yet)\n", "no-store");
  }
  const std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Respond(msg, 200, type.c_str(), body, cache);
}

void HttpServer::ServeRelayed(SoupServerMessage* msg, const std::string& path, const Route& route) {
  if (route.kind == Route::Kind::kHlsFile && route.file != "playlist.m3u8")
    ++hls_segments_[{route.session, route.channel}];
  // From memory at once, or parked until the origin answers (or the relay goes).
  struct Held {
    gst::GObjectPtr<SoupServerMessage> msg;
    bool paused = false;
  };
  auto held = std::make_shared<Held>();
  held->msg = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
  relay_->Get(path, route.session, route.channel, [held](const RelayReply& r) {
    SoupServerMessage* m = held->msg.get();
    Respond(m, r.status, r.content_type.c_str(), r.body, r.cache_control.c_str());
    if (held->paused) soup_server_message_unpause(m);
    held->msg.Reset();
  });
  if (held->msg) {
    held->paused = true;
    soup_server_message_pause(msg);
  }
}

void HttpServer::ServeMetrics(SoupServerMessage* msg, const Route& route) {
  MetricsReply reply = options_.metrics(route.token);
  if (reply.status != 200) return RespondRefused(msg, reply);
  std::string& out = reply.body;
  // Names are SafeName()s (letters, digits, '-', '_'): nothing to escape in the labels.
  out += "# HELP tilmash_http_requests_total HTTP requests received (page, WHEP, HLS, health, metrics).\n";
  out += "# TYPE tilmash_http_requests_total counter\n";
  out += "tilmash_http_requests_total " + std::to_string(counters_.requests.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP tilmash_tech_streams Technician pages connected to /tech/events.\n";
  out += "# TYPE tilmash_tech_streams gauge\n";
  out += "tilmash_tech_streams " + std::to_string(tech_streams_.size()) + "\n";
  out += "# HELP tilmash_hls_segment_requests_total HLS segments served, by session and channel.\n";
  out += "# TYPE tilmash_hls_segment_requests_total counter\n";
  for (const auto& [key, n] : hls_segments_)
    out += "tilmash_hls_segment_requests_total{session=\"" + key.first + "\",channel=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  if (relay_) {
    out +=
        "# HELP tilmash_hls_relay_fetches_total HLS files this edge fetched from its origin, by session and channel.\n";
    out += "# TYPE tilmash_hls_relay_fetches_total counter\n";
    for (const auto& [key, n] : relay_->counters().fetches)
      out += "tilmash_hls_relay_fetches_total{session=\"" + key.first + "\",channel=\"" + key.second + "\"} " +
             std::to_string(n) + "\n";
    out += "# HELP tilmash_hls_relay_failures_total HLS fetches the origin did not answer.\n";
    out += "# TYPE tilmash_hls_relay_failures_total counter\n";
    out += "tilmash_hls_relay_failures_total " + std::to_string(relay_->counters().failures) + "\n";
  }
  Respond(msg, 200, "text/plain; version=0.0.4; charset=utf-8", out, "no-store");
}

namespace {

// A page that has not read this many events (about ten seconds of them) has stopped reading:
// its stream ends rather than grow without bound.
constexpr uint64_t kMaxQueuedEvents = 200;

std::string SseFrame(const std::string& event, const std::string& data) {
  return "event: " + event + "\ndata: " + data + "\n\n";  // data is one line of JSON
}

}  // namespace

void HttpServer::TechStream::Send(const std::string& frame) {
  soup_message_body_append(soup_server_message_get_response_body(msg.get()), SOUP_MEMORY_COPY, frame.data(),
                           frame.size());
  ++queued;
  soup_server_message_unpause(msg.get());  // libsoup pauses a chunked response that ran out of chunks
}

void HttpServer::TechStream::End() {
  if (ended) return;
  ended = true;
  wrote.Disconnect();
  soup_message_body_complete(soup_server_message_get_response_body(msg.get()));
  soup_server_message_unpause(msg.get());
}

void HttpServer::StartEventStream(SoupServerMessage* msg) {
  soup_server_message_set_status(msg, 200, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_content_type(h, "text/event-stream", nullptr);
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  soup_message_headers_replace(h, "X-Accel-Buffering", "no");  // a proxy in front must not hold events back
  soup_message_headers_set_encoding(h, SOUP_ENCODING_CHUNKED);
  // Written chunks are dropped, not kept for a body nobody will read whole.
  soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);
}

void HttpServer::ServeTechEvents(SoupServerMessage* msg, const Route& route) {
  MetricsReply reply = options_.tech(route.token);
  if (reply.status != 200) return RespondRefused(msg, reply);
  StartEventStream(msg);
  auto stream = std::make_unique<TechStream>();
  stream->msg = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
  stream->wrote = gst::SignalConnection(msg, "wrote-chunk", G_CALLBACK(+[](SoupServerMessage*, gpointer p) {
                                          auto* t = static_cast<TechStream*>(p);
                                          if (t->queued > 0) --t->queued;
                                        }),
                                        stream.get());
  stream->Send(SseFrame("state", reply.body) + SseFrame("hls", HlsEvent()));
  tech_streams_.push_back(std::move(stream));
  tech_open_.store(int(tech_streams_.size()), std::memory_order_relaxed);
}

void HttpServer::OnRequestDone(SoupServer*, SoupServerMessage* msg, void* self) {
  auto* s = static_cast<HttpServer*>(self);
  auto& a = s->api_streams_;
  if (auto it = std::find_if(a.begin(), a.end(), [&](const auto& t) { return t->out.msg.get() == msg; });
      it != a.end()) {
    std::shared_ptr<ApiStream> gone = *it;
    a.erase(it);
    gone->out.ended = true;
    if (gone->cancel) gone->cancel();
    return;
  }
  auto& v = s->tech_streams_;
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& t) { return t->msg.get() == msg; });
  if (it == v.end()) return;
  (*it)->wrote.Disconnect();
  v.erase(it);
  s->tech_open_.store(int(v.size()), std::memory_order_relaxed);
}

void HttpServer::Broadcast(const std::string& event, std::string data) {
  thread_.Post([this, event, data = std::move(data)] {
    if (tech_streams_.empty()) return;
    std::string frame = SseFrame(event, data);
    if (event == "state") frame += SseFrame("hls", HlsEvent());
    // Ending a stream may call OnRequestDone, which edits the list: walk a copy of the pointers.
    std::vector<TechStream*> streams;
    for (auto& t : tech_streams_) streams.push_back(t.get());
    for (TechStream* t : streams) {
      if (t->ended) continue;
      if (t->queued > kMaxQueuedEvents) {
        Log()->warn("a technician's page stopped reading: its event stream ends");
        t->End();
      } else {
        t->Send(frame);
      }
    }
  });
}

// HLS has no subscription to count: its audience shows as segments served (one a second per
// player), per session and channel, counted since start; the page turns them into a rate.
std::string HttpServer::HlsEvent() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, n] : hls_segments_) j[key.first][key.second] = n;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void HttpServer::ServeSessionInfo(SoupServerMessage* msg, const std::string& session) {
  auto listing = catalog_(session);
  if (!listing) {
    counters_.not_found.fetch_add(1, std::memory_order_relaxed);
    return Respond(msg, 404, "application/json", nlohmann::json{{"error", "no session " + session}}.dump(), "no-store");
  }
  nlohmann::json j;
  j["session"] = session;
  j["name"] = listing->name;
  j["whep"] = whep_ != nullptr;
  j["hls"] = !options_.hls_dir.empty();
  j["channels"] = nlohmann::json::array();
  for (const auto& r : listing->renditions)
    j["channels"].push_back(
        {{"channel", r.channel}, {"language", r.language}, {"name", r.name}, {"original", r.is_default}});
  Respond(msg, 200, "application/json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "no-store");
}

namespace {
std::string RequestBody(SoupServerMessage* msg) {
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  std::unique_ptr<GBytes, decltype(&g_bytes_unref)> bytes(soup_message_body_flatten(body), g_bytes_unref);
  gsize n = 0;
  const auto* data = static_cast<const char*>(g_bytes_get_data(bytes.get(), &n));
  return std::string(data ? data : "", n);
}
std::string QueryValue(GHashTable* query, const char* key) {
  const char* v = query ? static_cast<const char*>(g_hash_table_lookup(query, key)) : nullptr;
  return v ? v : "";
}
}  // namespace

void HttpServer::ServeWhepOffer(SoupServerMessage* msg, const Route& route) {
  const std::string offer = RequestBody(msg);
  if (offer.size() > 64 * 1024) return Respond(msg, 413, "text/plain", "the offer is larger than 64 KiB\n", "no-store");
  counters_.whep_offers.fetch_add(1, std::memory_order_relaxed);
  AnswerLater(msg, "/whep/" + route.session + "/" + route.channel + "/", [this, route, offer](const Answer& answer) {
    whep_->Offer(route.token, route.session, route.channel, offer, [answer](const WhepResult& r) { answer(r); });
  });
}

void HttpServer::ServeConsoleOffer(SoupServerMessage* msg, const Route& route, GHashTable* query) {
  ConsoleOffer o;
  o.sdp = RequestBody(msg);
  if (o.sdp.size() > 64 * 1024) return Respond(msg, 413, "text/plain", "the offer is larger than 64 KiB\n", "no-store");
  o.token = route.token;
  o.session = route.session;
  o.booth = QueryValue(query, "booth");
  o.name = QueryValue(query, "name");
  o.console = QueryValue(query, "console");
  for (const auto* v : {&o.booth, &o.console})
    if (!v->empty() && !SafeName(*v))
      return Respond(msg, 400, "text/plain", "booth and console are names (letters, digits, '-', '_')\n", "no-store");
  if (o.name.size() > 64) return Respond(msg, 400, "text/plain", "name is longer than 64 bytes\n", "no-store");
  AnswerLater(msg, "/booth/" + route.session + "/console/", [this, o](const Answer& answer) {
    options_.console->Offer(o, [answer](const WhepResult& r) { answer(r); });
  });
}

void HttpServer::AnswerLater(SoupServerMessage* msg, const std::string& location_base,
                             const std::function<void(Answer)>& start) {
  // The answer waits for ICE gathering on a GStreamer thread: park the request meanwhile.
  auto pending = std::make_shared<PendingWhep>();
  pending->msg = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
  soup_server_message_pause(msg);
  auto finish = [this, pending, location_base](const WhepResult& r) {
    if (pending->done) return;
    pending->done = true;
    SoupServerMessage* m = pending->msg.get();
    if (r.status == 201) {
      counters_.whep_answered.fetch_add(1, std::memory_order_relaxed);
      soup_message_headers_replace(soup_server_message_get_response_headers(m), "Location",
                                   (location_base + r.resource).c_str());
      Respond(m, 201, "application/sdp", r.body, "no-store");
    } else {
      Respond(m, r.status, "text/plain", r.body + "\n", "no-store");
    }
    soup_server_message_unpause(m);
    pending->msg.Reset();
  };
  GSource* timeout = g_timeout_source_new_seconds(10);
  auto* on_timeout = new std::function<void()>([finish] { finish({504, "no answer within 10 s", ""}); });
  g_source_set_callback(
      timeout,
      [](gpointer f) -> gboolean {
        (*static_cast<std::function<void()>*>(f))();
        return G_SOURCE_REMOVE;
      },
      on_timeout, [](gpointer f) { delete static_cast<std::function<void()>*>(f); });
  g_source_attach(timeout, thread_.context());
  g_source_unref(timeout);
  std::shared_ptr<Alive> alive = alive_;
  start([alive, finish](const WhepResult& r) {
    std::lock_guard lock(alive->mu);
    if (alive->server) alive->server->thread_.Post([finish, r] { finish(r); });
  });
}

void HttpServer::ServeApi(SoupServerMessage* msg, const Route& route) {
  const std::string json = RequestBody(msg);
  if (json.size() > 64 * 1024)
    return Respond(msg, 413, "application/json", R"({"code":"INVALID_ARGUMENT","message":"larger than 64 KiB"})",
                   "no-store");
  std::shared_ptr<Alive> alive = alive_;
  if (options_.api->Streaming(route.method)) {
    StartEventStream(msg);
    auto stream = std::make_shared<ApiStream>();
    stream->out.msg = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
    std::weak_ptr<ApiStream> weak = stream;
    auto post = [alive, weak](const std::function<void(ApiStream&)>& fn) {
      std::lock_guard lock(alive->mu);
      if (!alive->server) return;
      alive->server->thread_.Post([weak, fn] {
        if (auto s = weak.lock(); s && !s->out.ended) fn(*s);
      });
    };
    api_streams_.push_back(stream);
    stream->cancel = options_.api->Watch(
        route.token, route.method, json,
        [post](std::string m) { post([m = std::move(m)](ApiStream& s) { s.out.Send(SseFrame("message", m)); }); },
        [post](ApiReply r) {
          post([r = std::move(r)](ApiStream& s) {
            s.out.Send(SseFrame("end", r.body));
            s.out.End();
          });
        });
    return;
  }
  auto pending = std::make_shared<PendingWhep>();
  pending->msg = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
  soup_server_message_pause(msg);
  options_.api->Call(route.token, route.method, json, [alive, pending](ApiReply r) {
    std::lock_guard lock(alive->mu);
    if (!alive->server) return;
    alive->server->thread_.Post([pending, r = std::move(r)] {
      if (pending->done) return;
      pending->done = true;
      SoupServerMessage* m = pending->msg.get();
      if (r.status == 401)
        soup_message_headers_replace(soup_server_message_get_response_headers(m), "WWW-Authenticate", "Bearer");
      Respond(m, r.status, "application/json", r.body, "no-store");
      soup_server_message_unpause(m);
      pending->msg.Reset();
    });
  });
}

}  // namespace tilmash::web
