// Which handler an HTTP request goes to, decided from its method, path and two headers alone:
// pure, no I/O, no libsoup, so the HTTP side's parsing is unit-tested and fuzzed
// (tests/fuzz/http_fuzz.cpp) without a server. Every name a route hands on (session, channel,
// viewer, file) has passed a strict alphabet; anything else is refused here with its status.
//
//   GET  /healthz                             "ok" (503 "not serving" while draining or the media side is stuck)
//   GET  /metrics                             Prometheus text; bearer token of an operator or admin
//   GET  /tech                                the technician's page (tech.html of web_root)
//   GET  /tech/events                         its Server-Sent Events; bearer token of an operator or admin
//   GET  /, /app.js, /style.css, /vendor/...  the listener page (files of web_root)
//   GET  /api/sessions/{session}              the session's languages (JSON, for the page)
//   POST /whep/{session}/{channel}            WHEP (draft-ietf-wish-whep): SDP offer + bearer token -> 201
//   DELETE /whep/{session}/{channel}/{viewer} ends that viewer (the Location of the 201)
//   GET  /booth                               the interpreter's console (booth.html of web_root)
//   POST /booth/{session}/console             the console's WebRTC offer + bearer token -> 201 (Location: its DELETE)
//   DELETE /booth/{session}/console/{console} the console leaves
//   POST /api/v1/{Service}/{Method}           tilmash.v1's RPCs as JSON (bearer token); a server-streaming
//                                             method answers with Server-Sent Events
//   GET  /hls/{session}/master.m3u8           every language as an alternate audio rendition
//   GET  /hls/{session}/{channel}/playlist.m3u8, /hls/{session}/{channel}/segNNNNN.ts
#pragma once
#include <string>
#include <string_view>

namespace tilmash::web {

struct HttpRequest {
  std::string_view method, path;
  std::string_view authorization;  // the Authorization header, "" when absent
  std::string_view content_type;   // the Content-Type header without parameters, "" when absent
};

struct RouteOptions {
  bool page = false;  // a web_root is configured
  bool hls = false;
  bool whep = false;
  bool metrics = false;
  bool tech = false;     // the technician's event stream is served
  bool api = false;      // /api/v1: the RPCs as JSON
  bool console = false;  // /booth/{session}/console: browser consoles
};

struct Route {
  enum class Kind {
    kRefuse,        // status + message (+ allow, + bearer challenge)
    kHealth,        // GET /healthz
    kMetrics,       // GET /metrics: token
    kTechEvents,    // GET /tech/events: token
    kPage,          // file: a file of the page ("index.html", "vendor/x.js")
    kSessionInfo,   // session
    kHlsMaster,     // session
    kHlsFile,       // session, channel, file ("playlist.m3u8" or "segNNNNN.ts")
    kWhepOptions,   // CORS preflight
    kWhepOffer,     // session, channel, token
    kWhepEnd,       // session, channel, resource, token
    kApiCall,       // method ("tilmash.v1.BoothService/SetMic"), token
    kConsoleOffer,  // session, token
    kConsoleEnd,    // session, resource (the console), token
  } kind = Kind::kRefuse;
  int status = 404;
  std::string message;
  std::string allow;              // 405: the Allow header
  bool bearer_challenge = false;  // 401: WWW-Authenticate: Bearer
  std::string session, channel, resource, file, token, method;
  std::string content_type;  // kPage, kHlsFile: what the file is served as
};

Route RouteRequest(const HttpRequest& request, const RouteOptions& options);

// Session ids, channel tags, viewer ids: 1-64 of letters, digits, '-' and '_' (never '.', '/', '%').
bool SafeName(std::string_view s);
// The bearer token of an Authorization header ("Bearer <token>", scheme case-insensitive), or "".
std::string BearerToken(std::string_view authorization);

}  // namespace tilmash::web
