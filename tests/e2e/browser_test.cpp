// The listener page in a real browser: Debian's chromium, headless, driven by playwright-core
// (tests/browser/listen.mjs) against the real daemon. Each language has its own tone; the page's
// Web Audio analyser must hear the right one over WebRTC (WHEP), and over HLS when asked.
// Also WHEP's refusals, through a plain HTTP client.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "browser_support.h"
#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Runs listen.mjs; `on_line` sees each JSON line as it arrives (and may act on it).
int RunBrowser(const std::string& args, const std::function<void(const json&)>& on_line) {
  const std::string dir = BrowserDir();
  if (dir.empty()) return -1;
  FILE* p = popen(("cd '" + dir + "' && timeout 120 node listen.mjs " + args + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char line[8192];
  while (std::fgets(line, sizeof line, p)) {
    std::printf("[ browser  ] %s", line);
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) on_line(j);
  }
  return pclose(p);
}

// A number the page reported, or -1 when it reported none (null).
double Num(const json& r, const char* key) { return r.contains(key) && r[key].is_number() ? r[key].get<double>() : -1; }

// The media ports of the browser tests' daemon: its WebRTC viewers' ICE sockets must be in them.
constexpr int kMediaPorts = 64;
uint16_t MediaPortsStart() {
  static const uint16_t start = FreePortRange(kMediaPorts);
  return start;
}

class BrowserTest : public E2eTest {
 protected:
  BrowserTest()
      : E2eTest({"--hls", "--media-ports",
                 std::to_string(MediaPortsStart()) + "-" + std::to_string(MediaPortsStart() + kMediaPorts - 1)}) {}
  // The daemon's UDP ports outside its --media-ports (none expected) and how many it held.
  std::pair<std::vector<uint16_t>, std::size_t> PortsOutsideTheRange() {
    std::vector<uint16_t> outside;
    const auto ports = UdpPortsOf(daemon_.pid());
    for (uint16_t p : ports)
      if (p < MediaPortsStart() || p >= MediaPortsStart() + kMediaPorts) outside.push_back(p);
    return {outside, ports.size()};
  }

  std::string PageUrl(const std::string& session, const std::string& token) {
    return daemon_.http_url() + "?session=" + session + "#token=" + token;
  }
  int AudienceOf(const std::string& session, const std::string& channel) {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    req.set_session_id(session);
    v1::Session s;
    if (!daemon_.sessions().GetSession(&ctx, req, &s).ok()) return -1;
    for (const auto& c : s.channels())
      if (c.language() == channel) return int(c.listener_count());
    return -1;
  }
};

TEST_F(BrowserTest, ThePageHearsTheLanguageItPicksOverWebrtcAndHls) {
  const v1::Session s = CreateSession({"ru", "kk"}, 440.0, "en");
  ASSERT_FALSE(s.id().empty());
  auto ru = Join(s.id(), "ru");
  auto kk = Join(s.id(), "kk");
  auto ru_voice = Speak(ru.ingest(), 880);
  auto kk_voice = Speak(kk.ingest(), 1100);
  ASSERT_TRUE(SetMic(s.id(), kk.console().id(), true).ok());  // ru stays off: it carries the floor
  const std::string token = Mint(v1::VIEWER, s.id(), "", {}, 2).token();

  // WebRTC: kk (1100), the original (440), ru (floor 440 until its interpreter goes live).
  std::vector<json> results;
  int ru_audience = -1;
  std::chrono::system_clock::time_point mic_at{};
  double glass_to_ear_ms = -1;
  std::size_t udp_sockets_seen = 0;
  const int rc = RunBrowser(
      "--url '" + PageUrl(s.id(), token) + "' --expect kk:1100,floor:440,ru:440 --watch 880 --screenshot '" +
          Artifact("listener-page.png") + "'",
      [&](const json& j) {
        if (j.contains("channel")) {
          results.push_back(j);
          // A viewer is connected: its ICE socket is the daemon's, inside --media-ports.
          auto [outside, held] = PortsOutsideTheRange();
          EXPECT_TRUE(outside.empty()) << "UDP port " << outside.front() << " outside --media-ports";
          udp_sockets_seen = std::max(udp_sockets_seen, held);
        }
        if (j.contains("ready")) {
          mic_at = std::chrono::system_clock::now();
          EXPECT_TRUE(SetMic(s.id(), ru.console().id(), true).ok());
          ru_audience = AudienceOf(s.id(), "ru");
        }
        if (j.contains("heard_at_ms") && j["heard_at_ms"].is_number())
          glass_to_ear_ms =
              j["heard_at_ms"].get<double>() -
              double(std::chrono::duration_cast<std::chrono::milliseconds>(mic_at.time_since_epoch()).count());
      });
  EXPECT_EQ(rc, 0);
  // Fan-out source and two consoles, plus the viewer's ICE socket(s) while it played.
  EXPECT_GT(udp_sockets_seen, 3u) << "no WebRTC socket seen while a viewer played";
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["transport"], "webrtc");
    EXPECT_NEAR(Num(r, "heard_hz"), Num(r, "expect_hz"), 40);
    EXPECT_GE(Num(r, "tone_share"), 0.8) << "the language's tone must dominate for a whole second";
    EXPECT_GT(Num(r, "packets"), 0);
    EXPECT_GE(Num(r, "switch_ms"), 0) << "the language's tone never arrived";
    EXPECT_LT(Num(r, "switch_ms"), 5000);
  }
  EXPECT_GE(ru_audience, 1) << "the page's viewer counts in ru's audience (the booth's indicator)";
  ASSERT_GE(glass_to_ear_ms, 0) << "the browser never heard the ru interpreter go live";
  EXPECT_LT(glass_to_ear_ms, 1000) << "WebRTC must stay well under a second";
  std::printf(
      "[ measured ] WebRTC in chromium: mic-live RPC -> tone dominant at the page's analyser %.0f ms; "
      "switch kk->floor %.0f ms, floor->ru %.0f ms; page's latency estimate %s ms\n",
      glass_to_ear_ms, Num(results[1], "switch_ms"), Num(results[2], "switch_ms"),
      results[2]["latency_ms"].dump().c_str());
  EXPECT_TRUE(std::filesystem::file_size(Artifact("listener-page.png")) > 1000) << "no screenshot";

  // HLS (the fallback): the same page with hls.js.
  results.clear();
  EXPECT_EQ(RunBrowser("--url '" + PageUrl(s.id(), token) + "' --hls --expect kk:1100,ru:880 --screenshot '" +
                           Artifact("listener-page-hls.png") + "'",
                       [&](const json& j) {
                         if (j.contains("channel")) results.push_back(j);
                       }),
            0);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["transport"], "hls");
    EXPECT_NEAR(Num(r, "heard_hz"), Num(r, "expect_hz"), 40);
    // hls.js may stall for a moment on a loaded machine; the tone still dominates what plays.
    EXPECT_GE(Num(r, "tone_share"), 0.5);
  }
}

TEST_F(BrowserTest, WhepRefusesWhatItMustAndNamesWhy) {
  auto s = CreateSession({"ru", "kk"}, 440.0);
  const std::string whep = daemon_.http_url() + "whep/" + s.id() + "/";
  const std::string offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  const std::string viewer = Mint(v1::VIEWER, s.id()).token();
  const std::string ru_only = Mint(v1::VIEWER, s.id(), "", {"ru"}).token();
  const std::string interpreter = Mint(v1::INTERPRETER, s.id(), "ru").token();
  struct Case {
    std::string what, url, type, token;
    int status;
    std::string says;
  } cases[] = {
      {"no token", whep + "ru", "application/sdp", "", 401, "bearer token"},
      {"forged token", whep + "ru", "application/sdp", viewer + "x", 401, "token"},
      {"not SDP", whep + "ru", "text/plain", viewer, 415, "application/sdp"},
      {"interpreter token", whep + "ru", "application/sdp", interpreter, 403, "not allowed for role interpreter"},
      {"channel not in the token", whep + "kk", "application/sdp", ru_only, 403, "does not include channel 'kk'"},
      {"unknown channel", whep + "xx", "application/sdp", viewer, 404, "has no channel 'xx'"},
      {"unknown session", daemon_.http_url() + "whep/nope/ru", "application/sdp", viewer, 403, "another session"},
      {"an offer without audio", whep + "ru", "application/sdp", viewer, 400, "no audio (m=audio) section"},
  };
  for (const auto& c : cases) {
    auto r = Http(c.url, "POST", c.type, offer, c.token);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << c.what << ": " << r.body;
  }
  EXPECT_EQ(Http(whep + "ru/w-none", "DELETE", "", "", viewer).status, 404);
  EXPECT_EQ(Http(whep + "ru", "PATCH", "application/trickle-ice-sdpfrag", "", viewer).status, 405);
}

// A browser-shaped offer (what Chrome sends for a receive-only audio transceiver).
std::string BrowserOffer(const std::string& rtpmap_pt = "111") {
  return "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
         "a=ice-ufrag:W0qz\r\na=ice-pwd:8cz3R6C7rYc6n0ENkYo1sVbZ\r\n"
         "a=fingerprint:sha-256 "
         "1B:5A:7C:10:2E:B6:94:CC:01:D1:9E:3F:45:A0:8D:2B:77:60:4C:0A:1F:3E:9B:C2:58:D4:6A:13:E7:81:F0:2C\r\n"
         "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:" +
         rtpmap_pt + " opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
}

// The request that used to end every session (std::stoi threw on the media thread): answered
// 400 naming the line, and the daemon goes on serving.
TEST_F(BrowserTest, AnOfferWithAnOutOfRangeNumberIs400AndTheDaemonGoesOn) {
  auto s = CreateSession({"ru"}, 440.0);
  auto listener = Listen(s.id(), "ru");
  ASSERT_TRUE(listener);
  const std::string viewer = Mint(v1::VIEWER, s.id()).token();
  const std::string whep = daemon_.http_url() + "whep/" + s.id() + "/ru";
  auto r = Http(whep, "POST", "application/sdp", BrowserOffer("99999999999"), viewer);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("line 16 ('a=rtpmap:99999999999 opus/48000/2'): payload type must be 0-127"), std::string::npos)
      << r.body;
  for (const char* bad : {"a=rtpmap:-5 opus/48000/2", "a=rtpmap:111 opus/4800000000000/2", "a=rtpmap:111"}) {
    std::string offer = BrowserOffer();
    offer.replace(offer.find("a=rtpmap:111 opus/48000/2"), 25, bad);
    auto refused = Http(whep, "POST", "application/sdp", offer, viewer);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
    EXPECT_NE(refused.body.find("line 16"), std::string::npos) << refused.body;
  }
  std::string no_ice = BrowserOffer();
  no_ice.replace(no_ice.find("a=ice-ufrag:W0qz\r\n"), 18, "");
  EXPECT_EQ(Http(whep, "POST", "application/sdp", no_ice, viewer).status, 400);
  // Still here: the page, the API, and the listener's audio.
  EXPECT_EQ(Http(daemon_.http_url() + "healthz").body, "ok\n");
  grpc::ClientContext ctx;
  v1::GetSessionRequest get;
  get.set_session_id(s.id());
  v1::Session again;
  EXPECT_TRUE(daemon_.sessions().GetSession(&ctx, get, &again).ok());
  EXPECT_GT(NextLevels(*listener, {440})[0], -30) << "the floor still reaches the ru listener";
}

// WHEP's resource: its Location ends the viewer for the token that made it (or staff), once;
// the viewer counts in the audience meanwhile.
TEST_F(BrowserTest, AViewerIsEndedByItsOwnTokenAtItsLocation) {
  auto s = CreateSession({"ru"}, 440.0);
  const std::string owner = Mint(v1::VIEWER, s.id()).token(), other = Mint(v1::VIEWER, s.id()).token();
  auto r = Http(daemon_.http_url() + "whep/" + s.id() + "/ru", "POST", "application/sdp", BrowserOffer(), owner);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.location.rfind("/whep/" + s.id() + "/ru/w-", 0), 0u) << r.location;
  EXPECT_NE(r.body.find("a=candidate"), std::string::npos) << "no trickle: the answer carries its candidates";
  EXPECT_EQ(AudienceOf(s.id(), "ru"), 1);
  const std::string resource = daemon_.http_url() + r.location.substr(1);
  EXPECT_EQ(Http(resource, "DELETE", "", "", other).status, 403);
  EXPECT_EQ(Http(resource, "DELETE", "", "", owner).status, 200);
  EXPECT_EQ(Http(resource, "DELETE", "", "", owner).status, 404);
  EXPECT_EQ(AudienceOf(s.id(), "ru"), 0);
}

// One token, one limit: its gRPC streams and its browser viewers count together.
TEST_F(BrowserTest, ATokensStreamLimitCountsSubscribeAndWhepTogether) {
  auto s = CreateSession({"ru"}, 440.0);
  const auto minted = Mint(v1::VIEWER, s.id(), "", {}, 1);
  ListenerClient::Options o;
  o.server = daemon_.address();
  o.grpc_channel = daemon_.ChannelWith(minted.token());
  o.session_id = s.id();
  o.channel = "ru";
  std::string error;
  auto listener = ListenerClient::Start(o, &error);
  ASSERT_TRUE(listener) << error;
  auto r =
      Http(daemon_.http_url() + "whep/" + s.id() + "/ru", "POST", "application/sdp", BrowserOffer(), minted.token());
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("allows 1 concurrent stream"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tilmash::testing
