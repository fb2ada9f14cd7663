#include "web/http_server.h"

#include <libsoup/soup.h>

#include <cctype>
#include <fstream>
#include <iterator>
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

HttpServer::HttpServer(HttpOptions options, HlsCatalog catalog)
    : options_(std::move(options)), catalog_(std::move(catalog)) {}

std::unique_ptr<HttpServer> HttpServer::Start(const HttpOptions& options, HlsCatalog catalog, std::string* error) {
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
  std::unique_ptr<HttpServer> s(new HttpServer(options, std::move(catalog)));
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
  if (method != "GET" && method != "HEAD") {
    counters_.bad_method.fetch_add(1, std::memory_order_relaxed);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
    Respond(msg, 405, "text/plain", method + " is not allowed here\n", "no-store");
    return;
  }
  const auto parts = Split(path);
  if (parts.size() == 1 && parts[0] == "healthz") return Respond(msg, 200, "text/plain", "ok\n", "no-store");
  if (!parts.empty() && parts[0] == "hls" && !options_.hls_dir.empty()) return ServeHls(msg, parts);
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
    auto renditions = catalog_(session);
    if (!renditions) return not_found("no session " + session);
    // Channels come and go rarely; a CDN may keep the master for a few seconds.
    return Respond(msg, 200, "application/vnd.apple.mpegurl", MasterPlaylist(*renditions, options_.hls_bandwidth),
                   "public, max-age=5");
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

}  // namespace tilmash::web
