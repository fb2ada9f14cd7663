// An edge's HLS (tilmashd --edge-of with edge_hls_origin): the origin's playlists and segments,
// fetched from the origin's HTTP side and served to this node's players from memory, without
// decoding or re-encoding. One fetch per file however many players ask at once (the others wait
// for it, as nginx's proxy_cache_lock); a segment never changes while it is listed, so it is
// kept for two minutes; a live playlist for half a second (the origin lets caches keep it one),
// the master playlist and a refusal for a moment. The origin's Cache-Control goes to the players.
//
// Made, used and destroyed on the HTTP server's thread: libsoup's client answers there.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

typedef struct _SoupSession SoupSession;
typedef struct _GCancellable GCancellable;

namespace tilmash::web {

struct RelayReply {
  int status = 502;
  std::string body, content_type, cache_control;
};

struct RelayCounters {
  // Files fetched from the origin, by (session, channel); channel "" for a master playlist.
  std::map<std::pair<std::string, std::string>, uint64_t> fetches;
  uint64_t failures = 0;  // fetches the origin did not answer (a 502 to the players who waited)
};

class HlsRelay {
 public:
  // `origin`: the origin's HTTP side, "https://host:port" (or "http://" on loopback);
  // `ca_file`: the CA its certificate is checked with ("": the system's). Null with *error.
  static std::unique_ptr<HlsRelay> Create(const std::string& origin, const std::string& ca_file, std::string* error);
  ~HlsRelay();  // fetches in flight are cancelled; their players get 503
  HlsRelay(const HlsRelay&) = delete;
  HlsRelay& operator=(const HlsRelay&) = delete;

  // `path`: /hls/{session}/{channel}/{file} or /hls/{session}/master.m3u8 (routed and checked
  // already). `done` once: at once from memory, or when the origin answers.
  void Get(const std::string& path, const std::string& session, const std::string& channel,
           std::function<void(const RelayReply&)> done);
  const RelayCounters& counters() const { return counters_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    RelayReply reply;
    Clock::time_point fresh_until{};
    bool fetching = false;
    std::vector<std::function<void(const RelayReply&)>> waiting;
  };
  struct Fetch;
  HlsRelay(std::string origin, SoupSession* session);
  void Fetched(const std::string& path, RelayReply reply);
  void Evict(Clock::time_point now);

  const std::string origin_;
  SoupSession* session_;
  GCancellable* cancel_;
  std::map<std::string, Entry> entries_;  // by path
  RelayCounters counters_;
  int in_flight_ = 0;
};

}  // namespace tilmash::web
