#include "web/hls_relay.h"

#include <libsoup/soup.h>

#include "log/log.h"

namespace tilmash::web {

namespace {

constexpr auto kSegmentKept = std::chrono::seconds(120);
constexpr auto kPlaylistKept = std::chrono::milliseconds(500);
constexpr auto kMasterKept = std::chrono::seconds(2);
constexpr std::size_t kEvictAbove = 512;  // entries; about 40 channels' two minutes of segments

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("http");
  return l;
}

}  // namespace

// One fetch from the origin in flight: what its answer is for.
struct HlsRelay::Fetch {
  HlsRelay* relay;
  std::string path;
  SoupMessage* msg;
};

std::unique_ptr<HlsRelay> HlsRelay::Create(const std::string& origin, const std::string& ca_file, std::string* error) {
  if (origin.rfind("https://", 0) != 0 && origin.rfind("http://", 0) != 0) {
    *error = "edge_hls_origin: '" + origin + "' is not an http:// or https:// URL of the origin's HTTP side";
    return nullptr;
  }
  // A timeout under the players' own: a stalled origin is a 502 they retry, not a hung request.
  SoupSession* session =
      soup_session_new_with_options("timeout", 5u, "idle-timeout", 60u, "user-agent", "tilmash-edge", nullptr);
  if (!ca_file.empty()) {
    GError* err = nullptr;
    GTlsDatabase* db = g_tls_file_database_new(ca_file.c_str(), &err);
    if (!db) {
      *error = "edge_hls_origin: the CA file " + ca_file + ": " + (err ? err->message : "unreadable");
      g_clear_error(&err);
      g_object_unref(session);
      return nullptr;
    }
    soup_session_set_tls_database(session, db);
    g_object_unref(db);
  }
  std::string base = origin;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<HlsRelay>(new HlsRelay(base, session));
}

HlsRelay::HlsRelay(std::string origin, SoupSession* session)
    : origin_(std::move(origin)), session_(session), cancel_(g_cancellable_new()) {}

HlsRelay::~HlsRelay() {
  g_cancellable_cancel(cancel_);
  // The cancelled fetches call back on this thread's context: let them, so none outlives us.
  for (int i = 0; in_flight_ > 0 && i < 1000; ++i) g_main_context_iteration(g_main_context_get_thread_default(), TRUE);
  for (auto& [path, e] : entries_)
    for (auto& done : e.waiting) done(RelayReply{503, "the edge is stopping\n", "text/plain", "no-store"});
  g_object_unref(cancel_);
  g_object_unref(session_);
}

void HlsRelay::Get(const std::string& path, const std::string& session, const std::string& channel,
                   std::function<void(const RelayReply&)> done) {
  const auto now = Clock::now();
  Entry& e = entries_[path];
  if (e.fetching) {
    e.waiting.push_back(std::move(done));
    return;
  }
  if (now < e.fresh_until) {
    done(e.reply);
    return;
  }
  e.fetching = true;
  e.waiting.push_back(std::move(done));
  ++counters_.fetches[{session, channel}];
  SoupMessage* msg = soup_message_new("GET", (origin_ + path).c_str());
  if (!msg) {  // cannot happen for a routed path; answered rather than left waiting
    Fetched(path, RelayReply{502, "not a URL: " + origin_ + path + "\n", "text/plain", "no-store"});
    return;
  }
  ++in_flight_;
  auto* fetch = new Fetch{this, path, msg};
  soup_session_send_and_read_async(
      session_, msg, G_PRIORITY_DEFAULT, cancel_,
      [](GObject* source, GAsyncResult* result, gpointer data) {
        std::unique_ptr<Fetch> f(static_cast<Fetch*>(data));
        GError* err = nullptr;
        GBytes* body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
        --f->relay->in_flight_;
        RelayReply r;
        if (err) {
          ++f->relay->counters_.failures;
          const bool stopping = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          r = {stopping ? 503 : 502,
               (stopping ? "the edge is stopping"
                         : "the origin's HTTP side did not answer: " + std::string(err->message)) +
                   "\n",
               "text/plain", "no-store"};
          if (!stopping) Log()->warn("HLS relay: {}{}: {}", f->relay->origin_, f->path, err->message);
          g_clear_error(&err);
        } else {
          r.status = int(soup_message_get_status(f->msg));
          gsize n = 0;
          const auto* d = static_cast<const char*>(g_bytes_get_data(body, &n));
          r.body.assign(d ? d : "", n);
          SoupMessageHeaders* h = soup_message_get_response_headers(f->msg);
          const char* type = soup_message_headers_get_content_type(h, nullptr);
          const char* cache = soup_message_headers_get_one(h, "Cache-Control");
          r.content_type = type ? type : "application/octet-stream";
          r.cache_control = cache ? cache : "no-store";
        }
        if (body) g_bytes_unref(body);
        g_object_unref(f->msg);
        f->relay->Fetched(f->path, std::move(r));
      },
      fetch);
}

void HlsRelay::Fetched(const std::string& path, RelayReply reply) {
  const auto now = Clock::now();
  Entry& e = entries_[path];
  e.fetching = false;
  const bool segment = path.size() > 3 && path.compare(path.size() - 3, 3, ".ts") == 0;
  const bool master = path.size() > 11 && path.compare(path.size() - 11, 11, "master.m3u8") == 0;
  if (reply.status == 200)
    e.fresh_until = now + (segment  ? std::chrono::duration_cast<Clock::duration>(kSegmentKept)
                           : master ? std::chrono::duration_cast<Clock::duration>(kMasterKept)
                                    : std::chrono::duration_cast<Clock::duration>(kPlaylistKept));
  else
    e.fresh_until = reply.status >= 500 ? now : now + kPlaylistKept;  // a 404 "not yet" for a moment
  e.reply = std::move(reply);
  auto waiting = std::move(e.waiting);
  e.waiting.clear();
  for (auto& done : waiting) done(e.reply);
  Evict(now);
}

void HlsRelay::Evict(Clock::time_point now) {
  if (entries_.size() <= kEvictAbove) return;
  for (auto it = entries_.begin(); it != entries_.end();)
    it = !it->second.fetching && it->second.fresh_until < now ? entries_.erase(it) : ++it;
}

}  // namespace tilmash::web
