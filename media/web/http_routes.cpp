#include "web/http_routes.h"

#include <cctype>
#include <vector>

namespace tilmash::web {

namespace {

constexpr std::size_t kMaxPath = 1024;

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// What hlssink2 writes: playlist.m3u8 and segNNNNN.ts.
bool HlsFile(std::string_view f) {
  if (f == "playlist.m3u8") return true;
  if (f.size() != 11 || f.substr(0, 3) != "seg" || f.substr(8) != ".ts") return false;
  for (std::size_t i = 3; i < 8; ++i)
    if (!std::isdigit(static_cast<unsigned char>(f[i]))) return false;
  return true;
}

// A file of the page: lower-case letters, digits, '.', '-', '_', a known extension.
const char* WebType(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return nullptr;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '-' || c == '_'))
      return nullptr;
  auto ends = [&](std::string_view e) { return name.size() > e.size() && name.substr(name.size() - e.size()) == e; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return nullptr;
}

Route Refuse(int status, std::string message, std::string allow = "") {
  Route r;
  r.kind = Route::Kind::kRefuse;
  r.status = status;
  r.message = std::move(message);
  r.allow = std::move(allow);
  return r;
}

Route Whep(const HttpRequest& req, const std::vector<std::string_view>& parts) {
  constexpr const char* kAllow = "POST, DELETE, OPTIONS";
  if (req.method == "OPTIONS") {
    Route r;
    r.kind = Route::Kind::kWhepOptions;
    r.status = 204;
    return r;
  }
  if (req.method == "PATCH") return Refuse(405, "no trickle ICE: the answer carries every candidate", kAllow);
  const bool offer = parts.size() == 3, end = parts.size() == 4;
  if ((!offer && !end) || !SafeName(parts[1]) || !SafeName(parts[2]) || (end && !SafeName(parts[3])))
    return Refuse(404, "WHEP: POST /whep/{session}/{channel}; DELETE the Location it answers with");
  if (offer && req.method != "POST") return Refuse(405, "WHEP: POST an SDP offer here", kAllow);
  if (end && req.method != "DELETE") return Refuse(405, "WHEP: DELETE ends this viewer", kAllow);
  Route r;
  r.session = std::string(parts[1]);
  r.channel = std::string(parts[2]);
  if (end) r.resource = std::string(parts[3]);
  if (offer && req.content_type != "application/sdp") return Refuse(415, "Content-Type must be application/sdp");
  r.token = BearerToken(req.authorization);
  if (r.token.empty()) {
    Route refused = Refuse(401, "a bearer token is required (Authorization: Bearer ...)");
    refused.bearer_challenge = true;
    return refused;
  }
  r.kind = offer ? Route::Kind::kWhepOffer : Route::Kind::kWhepEnd;
  r.status = offer ? 201 : 200;
  return r;
}

Route NeedToken(Route r, const char* who) {
  r.token = BearerToken(r.token);
  if (r.token.empty()) {
    Route refused = Refuse(
        401, std::string("a bearer token") + (*who ? " " : "") + who + " is required (Authorization: Bearer ...)");
    refused.bearer_challenge = true;
    return refused;
  }
  return r;
}

bool Word(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  return true;
}

// POST /api/v1/{Service}/{Method}: the public services only (TokenService and AuditService stay gRPC).
Route Api(const HttpRequest& req, const std::vector<std::string_view>& parts) {
  if (parts.size() != 4 || parts[1] != "v1" || !Word(parts[2]) || !Word(parts[3]))
    return Refuse(404, "API: POST /api/v1/{Service}/{Method} with the request as JSON");
  if (parts[2] != "SessionService" && parts[2] != "BoothService" && parts[2] != "ListenerService" &&
      parts[2] != "RecordingService")
    return Refuse(404, "API: no service " + std::string(parts[2]) +
                           " (SessionService, BoothService, ListenerService, RecordingService)");
  if (req.method != "POST") return Refuse(405, "API: POST the request as JSON", "POST");
  if (req.content_type != "application/json") return Refuse(415, "Content-Type must be application/json");
  Route r;
  r.kind = Route::Kind::kApiCall;
  r.status = 200;
  r.method = "tilmash.v1." + std::string(parts[2]) + "/" + std::string(parts[3]);
  r.token = std::string(req.authorization);
  return NeedToken(std::move(r), "");
}

// POST /booth/{session}/console, DELETE /booth/{session}/console/{console}.
Route Console(const HttpRequest& req, const std::vector<std::string_view>& parts) {
  const bool offer = parts.size() == 3, end = parts.size() == 4;
  if ((!offer && !end) || parts[2] != "console" || !SafeName(parts[1]) || (end && !SafeName(parts[3])))
    return Refuse(404, "console: POST /booth/{session}/console; DELETE the Location it answers with");
  if (offer && req.method != "POST") return Refuse(405, "console: POST an SDP offer here", "POST");
  if (end && req.method != "DELETE") return Refuse(405, "console: DELETE ends this console", "DELETE");
  if (offer && req.content_type != "application/sdp") return Refuse(415, "Content-Type must be application/sdp");
  Route r;
  r.kind = offer ? Route::Kind::kConsoleOffer : Route::Kind::kConsoleEnd;
  r.status = offer ? 201 : 200;
  r.session = std::string(parts[1]);
  if (end) r.resource = std::string(parts[3]);
  r.token = std::string(req.authorization);
  return NeedToken(std::move(r), "of an interpreter");
}

}  // namespace

bool SafeName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

std::string BearerToken(std::string_view a) {
  if (a.size() <= 7) return "";
  for (std::size_t i = 0; i < 6; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != "bearer"[i]) return "";
  if (a[6] != ' ') return "";
  a.remove_prefix(7);
  while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
  while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
  if (a.size() > 8192) return "";  // no token is this long; the verifier refuses it anyway
  return std::string(a);
}

Route RouteRequest(const HttpRequest& req, const RouteOptions& o) {
  if (req.path.size() > kMaxPath) return Refuse(414, "the path is longer than 1024 bytes");
  const auto parts = Split(req.path);
  if (!parts.empty() && parts[0] == "whep" && o.whep) return Whep(req, parts);
  if (!parts.empty() && parts[0] == "api" && parts.size() > 1 && parts[1] == "v1" && o.api) return Api(req, parts);
  if (parts.size() > 1 && parts[0] == "booth" && o.console) return Console(req, parts);
  if (req.method != "GET" && req.method != "HEAD") return Refuse(405, "this is only read here", "GET, HEAD");
  Route r;
  if (parts.size() == 1 && parts[0] == "healthz") {
    r.kind = Route::Kind::kHealth;
    r.status = 200;
    return r;
  }
  const bool metrics = parts.size() == 1 && parts[0] == "metrics" && o.metrics;
  const bool tech_events = parts.size() == 2 && parts[0] == "tech" && parts[1] == "events" && o.tech;
  if (metrics || tech_events) {
    r.token = BearerToken(req.authorization);
    if (r.token.empty()) {
      Route refused = Refuse(401, "a bearer token of an operator or admin is required (Authorization: Bearer ...)");
      refused.bearer_challenge = true;
      return refused;
    }
    r.kind = metrics ? Route::Kind::kMetrics : Route::Kind::kTechEvents;
    r.status = 200;
    return r;
  }
  if (!parts.empty() && parts[0] == "hls" && o.hls) {
    if (parts.size() < 3 || !SafeName(parts[1])) return Refuse(404, "not found");
    r.session = std::string(parts[1]);
    if (parts.size() == 3 && parts[2] == "master.m3u8") {
      r.kind = Route::Kind::kHlsMaster;
      r.status = 200;
      r.content_type = "application/vnd.apple.mpegurl";
      return r;
    }
    if (parts.size() != 4 || !SafeName(parts[2]) || !HlsFile(parts[3])) return Refuse(404, "not found");
    r.kind = Route::Kind::kHlsFile;
    r.status = 200;
    r.channel = std::string(parts[2]);
    r.file = std::string(parts[3]);
    r.content_type = parts[3] == "playlist.m3u8" ? "application/vnd.apple.mpegurl" : "video/mp2t";
    return r;
  }
  if (parts.size() == 3 && parts[0] == "api" && parts[1] == "sessions" && SafeName(parts[2])) {
    r.kind = Route::Kind::kSessionInfo;
    r.status = 200;
    r.session = std::string(parts[2]);
    return r;
  }
  if (o.page && (parts.empty() || parts[0] != "hls")) {
    std::string rel;
    const char* type = nullptr;
    if (parts.empty() || (parts.size() == 1 && (parts[0] == "tech" || parts[0] == "booth"))) {
      rel = parts.empty() ? "index.html" : std::string(parts[0]) + ".html";
      type = WebType(rel);
    } else if (parts.size() == 1) {
      type = WebType(parts[0]);
      rel = std::string(parts[0]);
    } else if (parts.size() == 2 && parts[0] == "vendor") {
      type = WebType(parts[1]);
      rel = "vendor/" + std::string(parts[1]);
    }
    if (!type) return Refuse(404, "not found");
    r.kind = Route::Kind::kPage;
    r.status = 200;
    r.file = rel;
    r.content_type = type;
    return r;
  }
  return Refuse(404, "not found");
}

}  // namespace tilmash::web
