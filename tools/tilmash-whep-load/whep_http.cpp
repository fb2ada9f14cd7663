#include "whep_http.h"

#include <libsoup/soup.h>

namespace tilmash::whepload {

std::string HttpReply::Describe() const {
  if (status == 0) return error.empty() ? "no HTTP answer" : error;
  std::string s = "HTTP " + std::to_string(status);
  if (const char* phrase = soup_status_get_phrase(guint(status))) s += std::string(" ") + phrase;
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) s += ": " + (text.size() > 500 ? text.substr(0, 500) + "..." : text);
  return s;
}

struct WhepHttp::Session {
  explicit Session(unsigned timeout_s) : soup(soup_session_new_with_options("timeout", timeout_s, nullptr)) {}
  ~Session() { g_object_unref(soup); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  SoupSession* const soup;
};

WhepHttp::WhepHttp(std::string token, unsigned timeout_s)
    : token_(std::move(token)), session_(std::make_unique<Session>(timeout_s)) {}

WhepHttp::~WhepHttp() = default;

HttpReply WhepHttp::PostOffer(const std::string& url, const std::string& sdp) { return Send("POST", url, &sdp); }

HttpReply WhepHttp::Delete(const std::string& url) { return Send("DELETE", url, nullptr); }

HttpReply WhepHttp::Send(const char* method, const std::string& url, const std::string* sdp) {
  HttpReply r;
  SoupMessage* msg = soup_message_new(method, url.c_str());
  if (!msg) {
    r.error = "not an http(s) URL: " + url;
    return r;
  }
  SoupMessageHeaders* request = soup_message_get_request_headers(msg);
  if (!token_.empty()) soup_message_headers_replace(request, "Authorization", ("Bearer " + token_).c_str());
  if (sdp) {
    GBytes* b = g_bytes_new(sdp->data(), sdp->size());
    soup_message_set_request_body_from_bytes(msg, "application/sdp", b);
    g_bytes_unref(b);
  }
  GError* err = nullptr;
  GBytes* body = soup_session_send_and_read(session_->soup, msg, nullptr, &err);
  if (err) {
    r.error = err->message;
    g_clear_error(&err);
  } else {
    r.status = int(soup_message_get_status(msg));
  }
  if (body) {
    gsize n = 0;
    const auto* d = static_cast<const char*>(g_bytes_get_data(body, &n));
    r.body.assign(d ? d : "", n);
    g_bytes_unref(body);
  }
  // WHEP's Location is usually a path: resolved against the POST's URL it can be DELETEd as is.
  if (const char* location = soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location")) {
    if (gchar* absolute = g_uri_resolve_relative(url.c_str(), location, G_URI_FLAGS_NONE, nullptr)) {
      r.location = absolute;
      g_free(absolute);
    }
  }
  g_object_unref(msg);
  return r;
}

}  // namespace tilmash::whepload
