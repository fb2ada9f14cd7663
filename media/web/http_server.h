// The daemon's HTTP side (libsoup-3.0 on its own GLib thread): the listener web page, WHEP,
// HLS, /metrics and the technician page's event streams. Plain HTTP only on a loopback
// address; anywhere else it needs a certificate.
// Which request goes where is decided by RouteRequest (http_routes.h); this file does the I/O.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gst/gst_ptr.h"
#include "gst/media_thread.h"
#include "web/hls_playlist.h"
#include "web/hls_relay.h"
#include "web/http_routes.h"
#include "web/idle_connections.h"

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace tilmash::web {

struct MetricsReply {
  int status = 200;
  std::string body;  // Prometheus text exposition (200) or the reason
};

class ApiBackend;
class ConsoleBackend;

struct HttpOptions {
  std::string listen = "127.0.0.1:7380";  // HOST:PORT; port 0 picks a free port
  std::string tls_cert, tls_key;          // PEM files; both empty: plain HTTP (loopback only)
  std::string hls_dir;                    // where the media engine writes HLS; "": no HLS
  // An edge's HLS: a session `hls_relayed` says is mirrored is served from the origin's HTTP
  // side at hls_origin (its certificate checked with hls_origin_ca) through HlsRelay.
  std::string hls_origin, hls_origin_ca;
  std::function<bool(const std::string& session)> hls_relayed;
  int hls_bandwidth = 110000;  // bits/s announced per rendition
  std::string web_root;        // the listener page's files; "": no page
  // /healthz: 200 while this says true, 503 otherwise (null: always 200). Called on the HTTP
  // thread; must not block.
  std::function<bool()> serving;
  // /metrics: the daemon's series for a bearer token (200), or 401/403 and the reason; the
  // server adds its own (HTTP requests, HLS segment requests). Null: no /metrics. Called on
  // the HTTP thread.
  std::function<MetricsReply(const std::string& token)> metrics;
  // /tech/events: a technician's Server-Sent Events for a bearer token: 200 and the data of its
  // first "state" event, or 401/403 and the reason. Null: no stream. Called on the HTTP thread.
  std::function<MetricsReply(const std::string& token)> tech;
  ApiBackend* api = nullptr;          // /api/v1 (null: none); outlives the server
  ConsoleBackend* console = nullptr;  // /booth/{session}/console (null: none); outlives the server
};

// What a WHEP request becomes: 201 with the SDP answer and the resource id, or a status and
// the reason (401 bad token, 403 not this channel, 404 no such session/channel, ...).
struct WhepResult {
  int status = 500;
  std::string body;      // the answer (201) or the reason
  std::string resource;  // the viewer id (201)
};

// The daemon's side of WHEP: authorises the token and starts or ends a viewer.
class WhepBackend {
 public:
  virtual ~WhepBackend() = default;
  // Calls `done` exactly once, on any thread (the answer waits for ICE gathering). A 201's
  // resource is the viewer id; the Location is /whep/{session}/{channel}/{resource}.
  virtual void Offer(const std::string& token, const std::string& session, const std::string& channel,
                     const std::string& offer_sdp, std::function<void(WhepResult)> done) = 0;
  // 200 ended, 401, 403 not the token's viewer, 404 unknown; body: the reason.
  virtual WhepResult End(const std::string& token, const std::string& session, const std::string& viewer) = 0;
};

// tilmash.v1's RPCs as JSON (POST /api/v1/{Service}/{Method}), for the booth page and scripts:
// the same calls with the same rules as gRPC (the daemon runs them through its own server).
struct ApiReply {
  int status = 200;  // 200, or the HTTP status of the gRPC code
  std::string body;  // the response as JSON, or {"code": ..., "message": ...}
};
class ApiBackend {
 public:
  virtual ~ApiBackend() = default;
  // "tilmash.v1.BoothService/WatchBooth": answered as Server-Sent Events.
  virtual bool Streaming(const std::string& method) const = 0;
  // A unary call: `done` exactly once, on any thread.
  virtual void Call(const std::string& token, const std::string& method, const std::string& json,
                    std::function<void(ApiReply)> done) = 0;
  // A server stream: each message (JSON) to on_message, then on_end once, on any thread. The
  // returned function cancels it (the page left); on_end still comes.
  virtual std::function<void()> Watch(const std::string& token, const std::string& method, const std::string& json,
                                      std::function<void(std::string)> on_message,
                                      std::function<void(ApiReply)> on_end) = 0;
};

// The booth page's console: its WebRTC offer, answered once ICE gathering is done.
struct ConsoleOffer {
  std::string token, session;
  std::string booth;    // ?booth=; "" = the token's booth binding
  std::string name;     // ?name=, shown to the technician
  std::string console;  // ?console=: a console this page had (a reconnect); "" = join
  std::string sdp;
};
class ConsoleBackend {
 public:
  virtual ~ConsoleBackend() = default;
  // `done` exactly once, on any thread: 201 with the answer, resource = the console id.
  virtual void Offer(const ConsoleOffer& offer, std::function<void(WhepResult)> done) = 0;
  virtual WhepResult End(const std::string& token, const std::string& session, const std::string& console) = 0;
};

// A session as the page and the HLS master playlist show it.
struct SessionListing {
  std::string name;                      // "Plenary", shown as the page's title
  std::vector<HlsRendition> renditions;  // its channels, the original first
};
// The session's listing, or nullopt when the session does not exist.
using HlsCatalog = std::function<std::optional<SessionListing>(const std::string& session)>;

struct HttpCounters {
  std::atomic<uint64_t> requests{0}, not_found{0}, bad_method{0}, whep_offers{0}, whep_answered{0};
};

class HttpServer {
 public:
  // Binds and serves; nullptr with *error naming the problem.
  // `whep` may be null (no WHEP); it must outlive the server.
  static std::unique_ptr<HttpServer> Start(const HttpOptions& options, HlsCatalog catalog, WhepBackend* whep,
                                           std::string* error);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }
  const HttpCounters& counters() const { return counters_; }
  // Sends one event to every open /tech/events stream (after a "state", the HLS segment counts
  // as an "hls" event). Any thread; never waits for the HTTP thread.
  void Broadcast(const std::string& event, std::string data);
  // /tech/events streams open now (any thread).
  int tech_streams() const { return tech_open_.load(std::memory_order_relaxed); }
  // Reads the TLS certificate and key files again; new connections get them. "" or the problem
  // (the old certificate stays then). Nothing to do for plain HTTP.
  std::string ReloadTls();

 private:
  HttpServer(HttpOptions options, HlsCatalog catalog, WhepBackend* whep);
  bool Listen(std::string* error);  // on the server's thread
  static void OnRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, void* self);
  void Handle(SoupServerMessage* msg, const std::string& path, GHashTable* query);
  void ServeFile(SoupServerMessage* msg, const std::string& file, const std::string& type, const char* cache);
  void ServeRelayed(SoupServerMessage* msg, const std::string& path, const Route& route);
  void ServeSessionInfo(SoupServerMessage* msg, const std::string& session);
  void ServeWhepOffer(SoupServerMessage* msg, const Route& route);
  // Parks `msg` until `start`'s callback answers (any thread) or 10 s pass; a 201 gets
  // `location_base` + its resource as Location and the answer as application/sdp.
  using Answer = std::function<void(const WhepResult&)>;
  void AnswerLater(SoupServerMessage* msg, const std::string& location_base, const std::function<void(Answer)>& start);
  void ServeConsoleOffer(SoupServerMessage* msg, const Route& route, GHashTable* query);
  void ServeApi(SoupServerMessage* msg, const Route& route);
  // Sets up `msg` as a Server-Sent Events response (chunked, nothing accumulated).
  static void StartEventStream(SoupServerMessage* msg);
  void ServeMetrics(SoupServerMessage* msg, const Route& route);
  void ServeTechEvents(SoupServerMessage* msg, const Route& route);
  static void OnRequestDone(SoupServer*, SoupServerMessage* msg, void* self);
  std::string HlsEvent() const;

  struct Alive {  // lets a late WHEP answer find out the server is gone
    std::mutex mu;
    HttpServer* server = nullptr;
  };
  struct PendingWhep {                       // HTTP thread only
    gst::GObjectPtr<SoupServerMessage> msg;  // held (and paused) until answered
    bool done = false;
  };

  struct TechStream {  // HTTP thread only
    gst::GObjectPtr<SoupServerMessage> msg;
    uint64_t queued = 0;  // chunks appended, not yet written (a page that stopped reading)
    bool ended = false;
    gst::SignalConnection wrote;
    void Send(const std::string& frame);
    void End();
  };

  const HttpOptions options_;
  const HlsCatalog catalog_;
  WhepBackend* const whep_;
  HttpCounters counters_;
  std::shared_ptr<Alive> alive_;
  // HLS segments served, per (session, channel) that existed when asked (HTTP thread only).
  std::map<std::pair<std::string, std::string>, uint64_t> hls_segments_;
  std::vector<std::unique_ptr<TechStream>> tech_streams_;  // HTTP thread only
  struct ApiStream {                                       // a server-streaming API call (HTTP thread only)
    TechStream out;
    std::function<void()> cancel;
  };
  std::vector<std::shared_ptr<ApiStream>> api_streams_;  // HTTP thread only
  std::atomic<int> tech_open_{0};
  std::unique_ptr<HlsRelay> relay_;  // an edge's HLS (HTTP thread only)
  int port_ = 0;
  bool tls_ = false;
  SoupServer* server_ = nullptr;                       // owned; created, used and destroyed on thread_
  std::unique_ptr<IdleConnections> idle_connections_;  // thread_ only; ends before server_
  gst::MediaThread thread_;                            // last: stops first, before the members it uses
};

}  // namespace tilmash::web
