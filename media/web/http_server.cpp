#include "web/http_server.h"

#include <libsoup/soup.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "log/log.h"

namespace tilmash::web {

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("http");
  return l;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '/'))
    if (!p.empty()) parts.push_back(p);
  return parts;
}

// Session ids and channel tags: letters, digits, '-' and '_' (never '.', '/', '%').
bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// What hlssink2 writes: playlist.m3u8 and segNNNNN.ts.
bool HlsFile(const std::string& f) {
  if (f == "playlist.m3u8") return true;
  if (f.size() != 11 || f.compare(0, 3, "seg") != 0 || f.compare(8, 3, ".ts") != 0) return false;
  for (int i = 3; i < 8; ++i)
    if (!std::isdigit(static_cast<unsigned char>(f[i]))) return false;
  return true;
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
  GError* err = nullptr;
  GTlsCertificate* cert = nullptr;
  if (!options_.tls_cert.empty()) {
    cert = g_tls_certificate_new_from_files(options_.tls_cert.c_str(), options_.tls_key.c_str(), &err);
    if (!cert) {
      *error = "http TLS certificate: " + std::string(err ? err->message : "?");
      g_clear_error(&err);
      return false;
    }
  }
  server_ = cert ? soup_server_new("server-header", "tilmash", "tls-certificate", cert, nullptr)
                 : soup_server_new("server-header", "tilmash", nullptr);
  if (cert) g_object_unref(cert);
  soup_server_add_handler(server_, nullptr, &HttpServer::OnRequest, this, nullptr);
  const auto colon = options_.listen.rfind(':');
  std::string host = options_.listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int want = std::atoi(options_.listen.c_str() + colon + 1);
  GInetAddress* ia = g_inet_address_new_from_string(host.c_str());
  if (!ia) {
    *error = "http_listen: '" + host + "' is not an IP address";
    return false;
  }
  GSocketAddress* sa = g_inet_socket_address_new(ia, guint16(want));
  g_object_unref(ia);
  const auto flags = cert ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0);
  const gboolean listening = soup_server_listen(server_, sa, flags, &err);
  g_object_unref(sa);
  if (!listening) {
    *error = "cannot listen for HTTP on " + options_.listen + ": " + (err ? err->message : "?");
    g_clear_error(&err);
    return false;
  }
  GSList* uris = soup_server_get_uris(server_);
  if (uris) port_ = g_uri_get_port(static_cast<GUri*>(uris->data));
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  tls_ = cert != nullptr;
  Log()->debug("serving {} on port {}", tls_ ? "HTTPS" : "HTTP", port_);
  return port_ > 0;
}

HttpServer::~HttpServer() {
  {
    std::lock_guard lock(alive_->mu);
    alive_->server = nullptr;  // a WHEP answer that arrives from now on is dropped
  }
  thread_.Invoke([this] {
    if (server_) {
      soup_server_disconnect(server_);
      g_object_unref(server_);
      server_ = nullptr;
    }
  });
}

void HttpServer::OnRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, void* self) {
  static_cast<HttpServer*>(self)->Handle(msg, path ? path : "/");
}

void HttpServer::Handle(SoupServerMessage* msg, const std::string& path) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  const std::string method = soup_server_message_get_method(msg);
  const auto parts = Split(path);
  if (!parts.empty() && parts[0] == "whep" && whep_) return ServeWhep(msg, method, parts);
  if (method != "GET" && method != "HEAD") {
    counters_.bad_method.fetch_add(1, std::memory_order_relaxed);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
    Respond(msg, 405, "text/plain", method + " is not allowed here\n", "no-store");
    return;
  }
  if (parts.size() == 1 && parts[0] == "healthz") return Respond(msg, 200, "text/plain", "ok\n", "no-store");
  if (!parts.empty() && parts[0] == "hls" && !options_.hls_dir.empty()) return ServeHls(msg, parts);
  if (parts.size() == 3 && parts[0] == "api" && parts[1] == "sessions" && SafeName(parts[2]))
    return ServeSessionInfo(msg, parts[2]);
  if (!options_.web_root.empty() && (parts.empty() || parts[0] != "hls")) return ServeWeb(msg, parts);
  counters_.not_found.fetch_add(1, std::memory_order_relaxed);
  Respond(msg, 404, "text/plain", "not found: " + path + "\n", "no-store");
}

void HttpServer::ServeHls(SoupServerMessage* msg, const std::vector<std::string>& parts) {
  auto not_found = [&](const std::string& why) {
    counters_.not_found.fetch_add(1, std::memory_order_relaxed);
    Respond(msg, 404, "text/plain", why + "\n", "no-store");
  };
  if (parts.size() < 3 || !SafeName(parts[1])) return not_found("not found");
  const std::string& session = parts[1];
  if (parts.size() == 3 && parts[2] == "master.m3u8") {
    auto listing = catalog_(session);
    if (!listing) return not_found("no session " + session);
    // Channels come and go rarely; a CDN may keep the master for a few seconds.
    return Respond(msg, 200, "application/vnd.apple.mpegurl",
                   MasterPlaylist(listing->renditions, options_.hls_bandwidth), "public, max-age=5");
  }
  if (parts.size() != 4 || !SafeName(parts[2]) || !HlsFile(parts[3])) return not_found("not found");
  std::ifstream f(options_.hls_dir + "/" + session + "/" + parts[2] + "/" + parts[3], std::ios::binary);
  if (!f) return not_found("no " + parts[3] + " for " + session + "/" + parts[2] + " (yet)");
  const std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const bool playlist = parts[3] == "playlist.m3u8";
  // The live playlist changes every segment; a segment never changes while it is listed.
  Respond(msg, 200, playlist ? "application/vnd.apple.mpegurl" : "video/mp2t", body,
          playlist ? "public, max-age=1" : "public, max-age=30");
}

namespace {
// A file of the page: lower-case letters, digits, '.', '-', '_', a known extension.
const char* WebType(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return nullptr;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == '_'))
      return nullptr;
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return nullptr;
}
}  // namespace

void HttpServer::ServeWeb(SoupServerMessage* msg, const std::vector<std::string>& parts) {
  std::string rel;
  if (parts.empty())
    rel = "index.html";
  else if (parts.size() == 1)
    rel = parts[0];
  else if (parts.size() == 2 && parts[0] == "vendor")
    rel = "vendor/" + parts[1];
  const char* type = rel.empty() ? nullptr : WebType(parts.empty() ? rel : parts.back());
  std::ifstream f;
  if (type) f.open(options_.web_root + "/" + rel, std::ios::binary);
  if (!type || !f) {
    counters_.not_found.fetch_add(1, std::memory_order_relaxed);
    return Respond(msg, 404, "text/plain", "not found\n", "no-store");
  }
  const std::string body((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Respond(msg, 200, type, body, rel == "index.html" ? "no-cache" : "public, max-age=300");
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
  Respond(msg, 200, "application/json", j.dump(), "no-store");
}

void HttpServer::ServeWhep(SoupServerMessage* msg, const std::string& method, const std::vector<std::string>& parts) {
  SoupMessageHeaders* in = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders* out = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(out, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
  soup_message_headers_replace(out, "Access-Control-Allow-Headers", "Authorization, Content-Type");
  soup_message_headers_replace(out, "Access-Control-Expose-Headers", "Location");
  if (method == "OPTIONS") return Respond(msg, 204, "text/plain", "", "no-store");
  std::string token;
  if (const char* auth = soup_message_headers_get_one(in, "Authorization");
      auth && g_ascii_strncasecmp(auth, "Bearer ", 7) == 0)
    token = auth + 7;
  auto refuse = [&](int status, const std::string& why) { Respond(msg, status, "text/plain", why + "\n", "no-store"); };
  if (method == "DELETE" && parts.size() == 3 && parts[1] == "resource" && SafeName(parts[2])) {
    if (token.empty()) return refuse(401, "a bearer token is required");
    const int status = whep_->End(token, parts[2]);
    return refuse(status, status == 200 ? "ended" : status == 404 ? "no viewer " + parts[2] : "not your viewer");
  }
  if (method == "PATCH") {
    soup_message_headers_replace(out, "Allow", "POST, DELETE, OPTIONS");
    return refuse(405, "no trickle ICE: the answer carries every candidate");
  }
  if (method != "POST" || parts.size() != 3 || !SafeName(parts[1]) || !SafeName(parts[2]) || parts[1] == "resource")
    return refuse(method == "POST" ? 404 : 405, "WHEP: POST /whep/{session}/{channel}");
  const char* type = soup_message_headers_get_content_type(in, nullptr);
  if (!type || std::string(type) != "application/sdp") return refuse(415, "Content-Type must be application/sdp");
  if (token.empty()) {
    soup_message_headers_replace(out, "WWW-Authenticate", "Bearer");
    return refuse(401, "a bearer token is required (Authorization: Bearer ...)");
  }
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  GBytes* bytes = soup_message_body_flatten(body);
  gsize n = 0;
  const auto* data = static_cast<const char*>(g_bytes_get_data(bytes, &n));
  const std::string offer(data ? data : "", n);
  g_bytes_unref(bytes);
  if (offer.size() > 64 * 1024) return refuse(413, "the offer is larger than 64 KiB");
  counters_.whep_offers.fetch_add(1, std::memory_order_relaxed);
  // The answer waits for ICE gathering on a GStreamer thread: park the request meanwhile.
  auto pending = std::make_shared<PendingWhep>();
  pending->msg = msg;
  g_object_ref(msg);
  soup_server_message_pause(msg);
  auto finish = [this, pending](const WhepResult& r) {
    if (pending->done) return;
    pending->done = true;
    SoupServerMessage* m = pending->msg;
    if (r.status == 201) {
      counters_.whep_answered.fetch_add(1, std::memory_order_relaxed);
      soup_message_headers_replace(soup_server_message_get_response_headers(m), "Location",
                                   ("/whep/resource/" + r.resource).c_str());
      Respond(m, 201, "application/sdp", r.body, "no-store");
    } else {
      Respond(m, r.status, "text/plain", r.body + "\n", "no-store");
    }
    soup_server_message_unpause(m);
    g_object_unref(m);
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
  whep_->Offer(token, parts[1], parts[2], offer, [alive, finish](WhepResult r) {
    std::lock_guard lock(alive->mu);
    if (alive->server) alive->server->thread_.Post([finish, r] { finish(r); });
  });
}

}  // namespace tilmash::web
