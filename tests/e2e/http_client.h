// One HTTP request with libsoup's client (a real HTTP client, not our server's code), for the
// end-to-end tests of the daemon's HTTP side (HLS, WHEP, the page).
#pragma once
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <string>

namespace tilmash::testing {

struct HttpReply {
  int status = 0;
  std::string body, content_type, cache_control, allow, cors, location;
};

// `body_type` empty: no request body. `token` non-empty: "Authorization: Bearer <token>".
// `ca_file` non-empty: an https:// server's certificate is checked with that CA.
inline HttpReply Http(const std::string& url, const char* method = "GET", const std::string& body_type = "",
                      const std::string& body = "", const std::string& token = "", const std::string& ca_file = "") {
  HttpReply r;
  SoupSession* session = soup_session_new();
  if (!ca_file.empty()) {
    GError* err = nullptr;
    GTlsDatabase* db = g_tls_file_database_new(ca_file.c_str(), &err);
    if (!db) {
      ADD_FAILURE() << ca_file << ": " << (err ? err->message : "unreadable");
      g_clear_error(&err);
    } else {
      soup_session_set_tls_database(session, db);
      g_object_unref(db);
    }
  }
  SoupMessage* msg = soup_message_new(method, url.c_str());
  if (!msg) {
    g_object_unref(session);
    ADD_FAILURE() << "not a URL: " << url;
    return r;
  }
  if (!token.empty())
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", ("Bearer " + token).c_str());
  if (!body_type.empty()) {
    GBytes* b = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, body_type.c_str(), b);
    g_bytes_unref(b);
  }
  GError* err = nullptr;
  GBytes* out = soup_session_send_and_read(session, msg, nullptr, &err);
  if (err) {
    ADD_FAILURE() << method << " " << url << ": " << err->message;
    g_clear_error(&err);
  }
  r.status = int(soup_message_get_status(msg));
  if (out) {
    gsize n = 0;
    const auto* d = static_cast<const char*>(g_bytes_get_data(out, &n));
    r.body.assign(d ? d : "", n);
    g_bytes_unref(out);
  }
  SoupMessageHeaders* h = soup_message_get_response_headers(msg);
  auto get = [&](const char* name) {
    const char* v = soup_message_headers_get_one(h, name);
    return std::string(v ? v : "");
  };
  r.content_type = get("Content-Type");
  r.cache_control = get("Cache-Control");
  r.allow = get("Allow");
  r.cors = get("Access-Control-Allow-Origin");
  r.location = get("Location");
  g_object_unref(msg);
  g_object_unref(session);
  return r;
}

}  // namespace tilmash::testing
