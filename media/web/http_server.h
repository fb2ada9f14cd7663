// The daemon's HTTP side (libsoup-3.0 on its own GLib thread): HLS now; the web page and WHEP
// join it. Plain HTTP only on a loopback address; anywhere else it needs a certificate.
//
//   GET /healthz                              "ok"
//   GET /hls/{session}/master.m3u8            every language as an alternate audio rendition
//   GET /hls/{session}/{channel}/playlist.m3u8, /hls/{session}/{channel}/segNNNNN.ts
//
// Names in a path are checked against a strict alphabet before they touch the file system;
// anything else is 404, a method other than GET/HEAD 405.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gst/media_thread.h"
#include "web/hls_playlist.h"

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace tilmash::web {

struct HttpOptions {
  std::string listen = "127.0.0.1:7380";  // HOST:PORT; port 0 picks a free port
  std::string tls_cert, tls_key;          // PEM files; both empty: plain HTTP (loopback only)
  std::string hls_dir;                    // where the media engine writes HLS; "": no HLS
  int hls_bandwidth = 110000;             // bits/s announced per rendition
};

// The channels of a session as HLS renditions, or nullopt when the session does not exist.
using HlsCatalog = std::function<std::optional<std::vector<HlsRendition>>(const std::string& session)>;

struct HttpCounters {
  std::atomic<uint64_t> requests{0}, not_found{0}, bad_method{0};
};

class HttpServer {
 public:
  // Binds and serves; nullptr with *error naming the problem.
  static std::unique_ptr<HttpServer> Start(const HttpOptions& options, HlsCatalog catalog, std::string* error);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }
  const HttpCounters& counters() const { return counters_; }

 private:
  HttpServer(HttpOptions options, HlsCatalog catalog);
  bool Listen(std::string* error);  // on the server's thread
  static void OnRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, void* self);
  void Handle(SoupServerMessage* msg, const std::string& path);
  void ServeHls(SoupServerMessage* msg, const std::vector<std::string>& parts);

  const HttpOptions options_;
  const HlsCatalog catalog_;
  HttpCounters counters_;
  int port_ = 0;
  bool tls_ = false;
  SoupServer* server_ = nullptr;  // owned; created, used and destroyed on thread_
  gst::MediaThread thread_;       // last: stops first, before the members it uses
};

}  // namespace tilmash::web
