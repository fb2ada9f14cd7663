// libFuzzer target: the HTTP side's parsing of outside input, as the daemon does it - request
// routing (media/web/http_routes.cpp: method, path, Authorization, Content-Type) and, for a WHEP
// offer, the SDP offer parser and the answer check (media/sdp/whep_sdp.cpp).
//
// Input: a request as text: "METHOD PATH\n", header lines ("Authorization: ...",
// "Content-Type: ..."), an empty line, then the body (the SDP offer). A line "--answer--" in the
// body starts an SDP answer to check against the offer.
// Checks: nothing throws or crashes; every name a route hands on passed the strict alphabet
// (no '/', '.', '%'); files are the page's or hlssink2's names; WHEP, /metrics and
// /tech/events routes carry a token (and exist only when served); refusals are 4xx; an
// accepted offer names a dynamic Opus payload type; error messages stay short (outside values
// are quoted at most 64 bytes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/aes67.h"
#include "fuzz_check.h"
#include "sdp/whep_sdp.h"
#include "web/http_routes.h"

namespace {

using tilmash::web::Route;

constexpr std::size_t kMaxMessage = 400;

// One file name: no directory part, no hidden or parent name ("..x.js" starts with '.'), no escapes.
bool NoPathTricks(const std::string& s) {
  return !s.empty() && s[0] != '.' && s.find('/') == std::string::npos && s.find('%') == std::string::npos;
}

void CheckRoute(const Route& r) {
  switch (r.kind) {
    case Route::Kind::kRefuse:
      CHECK(r.status >= 400 && r.status < 500);
      CHECK(!r.message.empty() && r.message.size() < kMaxMessage);
      break;
    case Route::Kind::kPage:
      CHECK(r.file.rfind("vendor/", 0) == 0 ? NoPathTricks(r.file.substr(7)) : NoPathTricks(r.file));
      CHECK(!r.content_type.empty());
      break;
    case Route::Kind::kHlsFile:
      CHECK(tilmash::web::SafeName(r.session) && tilmash::web::SafeName(r.channel));
      CHECK(r.file == "playlist.m3u8" || (r.file.size() == 11 && r.file.rfind("seg", 0) == 0));
      break;
    case Route::Kind::kHlsMaster:
    case Route::Kind::kSessionInfo:
      CHECK(tilmash::web::SafeName(r.session));
      break;
    case Route::Kind::kWhepOffer:
    case Route::Kind::kWhepEnd:
      CHECK(tilmash::web::SafeName(r.session) && tilmash::web::SafeName(r.channel));
      CHECK(r.kind == Route::Kind::kWhepOffer || tilmash::web::SafeName(r.resource));
      CHECK(!r.token.empty());
      break;
    case Route::Kind::kMetrics:
    case Route::Kind::kTechEvents:
      CHECK(!r.token.empty());  // never answered without a bearer token
      break;
    case Route::Kind::kApiCall:
      // "tilmash.v1.<Service>/<Method>": letters only after the package, one slash.
      CHECK(!r.token.empty());
      CHECK(r.method.rfind("tilmash.v1.", 0) == 0 && r.method.find('/') != std::string::npos);
      CHECK(r.method.find('/') == r.method.rfind('/') && r.method.find('%') == std::string::npos);
      break;
    case Route::Kind::kConsoleOffer:
    case Route::Kind::kConsoleEnd:
      CHECK(tilmash::web::SafeName(r.session) && !r.token.empty());
      CHECK(r.kind == Route::Kind::kConsoleOffer || tilmash::web::SafeName(r.resource));
      break;
    case Route::Kind::kHealth:
    case Route::Kind::kWhepOptions:
      break;
  }
}

std::string_view NextLine(std::string_view& in) {
  const auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view request_line = NextLine(in);
  const auto space = request_line.find(' ');
  tilmash::web::HttpRequest req;
  req.method = request_line.substr(0, space);
  req.path = space == std::string_view::npos ? std::string_view() : request_line.substr(space + 1);
  while (!in.empty()) {
    const std::string_view h = NextLine(in);
    if (h.empty()) break;
    if (h.rfind("Authorization: ", 0) == 0) req.authorization = h.substr(15);
    if (h.rfind("Content-Type: ", 0) == 0) req.content_type = h.substr(14);
  }
  // Every combination of what the server serves: page, HLS, WHEP, /metrics, /tech/events, the
  // JSON API, browser consoles.
  for (int options = 0; options < 128; ++options) {
    const Route r =
        tilmash::web::RouteRequest(req, {bool(options & 1), bool(options & 2), bool(options & 4), bool(options & 8),
                                         bool(options & 16), bool(options & 32), bool(options & 64)});
    CheckRoute(r);
    if (!(options & 4)) CHECK(r.kind != Route::Kind::kWhepOffer && r.kind != Route::Kind::kWhepEnd);
    if (!(options & 8)) CHECK(r.kind != Route::Kind::kMetrics);
    if (!(options & 16)) CHECK(r.kind != Route::Kind::kTechEvents);
    if (!(options & 32)) CHECK(r.kind != Route::Kind::kApiCall);
    if (!(options & 64)) CHECK(r.kind != Route::Kind::kConsoleOffer && r.kind != Route::Kind::kConsoleEnd);
  }
  // The body as a sound desk's AES67 SDP (a floor source's description).
  if (auto aes67 = tilmash::domain::ParseAes67Sdp(in, "sdp"); aes67.ok()) {
    CHECK(aes67->port != 0 && (aes67->bits == 16 || aes67->bits == 24));
    CHECK(aes67->channels >= 1 && aes67->channels <= 8);
    CHECK(aes67->ptime_us >= 125 && aes67->ptime_us <= 4000);
    CHECK(!aes67->address.empty());
  } else {
    CHECK(aes67.status().code() == tilmash::domain::StatusCode::kInvalidArgument);
    CHECK(aes67.status().message().size() < kMaxMessage);
  }
  // The body as a WHEP offer (and an answer to it, after "--answer--").
  std::string_view offer_text = in, answer_text;
  if (const auto cut = in.find("\n--answer--\n"); cut != std::string_view::npos) {
    offer_text = in.substr(0, cut + 1);
    answer_text = in.substr(cut + 12);
  }
  auto offer = tilmash::sdp::ParseWhepOffer(offer_text);
  if (!offer.ok()) {
    CHECK(offer.status().code() == tilmash::domain::StatusCode::kInvalidArgument);
    CHECK(offer.status().message().size() < kMaxMessage);
    return 0;
  }
  CHECK(offer->opus_payload_type >= 96 && offer->opus_payload_type <= 127);
  CHECK(offer->audio_mid.size() <= 32);
  CHECK(offer->audio_section < offer->sections.size());
  // The shared WebRTC port's answer to any offer we accept passes our own answer check.
  const tilmash::sdp::LiteAnswer lite{"ufrg", "0123456789abcdefghijkl", "AA:BB", "192.0.2.1", 40000, 7, "en"};
  CHECK(tilmash::sdp::CheckWhepAnswer(offer.value(), tilmash::sdp::BuildLiteAnswer(offer.value(), lite)).ok());
  const auto checked = tilmash::sdp::CheckWhepAnswer(offer.value(), answer_text);
  if (checked.ok())
    CHECK(answer_text.find("a=candidate") != std::string_view::npos);
  else
    CHECK(checked.code() == tilmash::domain::StatusCode::kInternal && checked.message().size() < kMaxMessage);
  return 0;
}
