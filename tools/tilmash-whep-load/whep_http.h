// The WHEP signalling of the load tool: POST an offer, DELETE the viewer it made, over one
// libsoup session (its sync API: one request at a time, keep-alive connections reused).
#pragma once
#include <memory>
#include <string>

namespace tilmash::whepload {

struct HttpReply {
  int status = 0;     // 0: no HTTP answer at all (see `error`)
  std::string error;  // transport error (refused, timeout, not a URL)
  std::string body;
  std::string location;  // absolute (resolved against the request's URL), "" when none
  bool ok() const { return status >= 200 && status < 300; }
  // "HTTP 403 Forbidden: <body>" or the transport error, for messages.
  std::string Describe() const;
};

class WhepHttp {
 public:
  // `token`: sent as "Authorization: Bearer <token>" ("" sends none). `timeout_s`: per request.
  WhepHttp(std::string token, unsigned timeout_s);
  ~WhepHttp();
  WhepHttp(const WhepHttp&) = delete;
  WhepHttp& operator=(const WhepHttp&) = delete;

  HttpReply PostOffer(const std::string& url, const std::string& sdp);
  HttpReply Delete(const std::string& url);

 private:
  HttpReply Send(const char* method, const std::string& url, const std::string* sdp);
  struct Session;  // libsoup's, kept out of this header
  const std::string token_;
  const std::unique_ptr<Session> session_;
};

}  // namespace tilmash::whepload
