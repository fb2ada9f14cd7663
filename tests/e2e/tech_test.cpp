// The technician page (/tech) in a real browser: Debian's chromium driven by playwright-core
// (tests/browser/tech.mjs) against the real daemon, a real console sending a tone over SRTP.
// The page reports every change of what it shows, stamped with its wall clock when the DOM
// changed; the test acts over gRPC or on the console and measures how soon the page shows it.
// Also the event stream's refusals, through a plain HTTP client.
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "browser_support.h"
#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

using nlohmann::json;

// What a row line says, "" when the key is absent.
std::string Text(const json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key] : ""; }
double Num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

class TechPageTest : public E2eTest {
 protected:
  // The meter must follow the tone's level as sent: no loudness leveling (a full-scale tone
  // held for a while would be turned down and come back at 2 dB/s).
  TechPageTest() : E2eTest({"--loudness-target-lufs", "0"}) {}
  double ScrapeValue(const std::string& series) {
    auto r = Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token());
    const auto i = r.body.find("\n" + series + " ");
    return i == std::string::npos ? NAN : std::strtod(r.body.c_str() + i + series.size() + 2, nullptr);
  }
};

TEST_F(TechPageTest, TheEventStreamWantsAnOperatorsOrAdminsToken) {
  auto s = CreateSession({"ru"}, 440.0);
  const std::string url = daemon_.http_url() + "tech/events";
  auto none = Http(url);
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_NE(none.body.find("bearer token of an operator or admin"), std::string::npos) << none.body;
  EXPECT_EQ(Http(url, "GET", "", "", "not-a-token").status, 401);
  const std::pair<const char*, std::string> others[] = {
      {"delegate", Mint(v1::DELEGATE, s.id()).token()},
      {"viewer", Mint(v1::VIEWER, s.id()).token()},
      {"interpreter", Mint(v1::INTERPRETER, s.id(), "ru").token()},
      {"chair", Mint(v1::CHAIR, s.id()).token()},
  };
  for (const auto& [role, token] : others) {
    auto r = Http(url, "GET", "", "", token);
    EXPECT_EQ(r.status, 403) << role << ": " << r.body;
    EXPECT_NE(r.body.find(std::string("operator or admin tokens only, not ") + role), std::string::npos) << r.body;
  }
  EXPECT_EQ(Http(url, "POST", "text/plain", "x", daemon_.admin_token()).status, 405);
  // The page itself is static and public: no secret in it.
  auto page = Http(daemon_.http_url() + "tech");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type.rfind("text/html", 0), 0u) << page.content_type;
  EXPECT_NE(page.body.find("tech.js"), std::string::npos);
  EXPECT_EQ(Http(daemon_.http_url() + "tech.js").status, 200);
}

TEST_F(TechPageTest, ThePageShowsAMicPressALostLinkAndLevelsAsTheyHappen) {
  const v1::Session s = CreateSession({"ru"}, std::nullopt);  // an RTP floor nobody sends: ru is silent off air
  ASSERT_FALSE(s.id().empty());
  auto ru = Join(s.id(), "ru");
  const std::string console = ru.console().id();
  auto voice = Speak(ru.ingest(), 880, -20);
  const std::string row = s.id() + "/ru";
  auto of_row = [&](const std::function<bool(const json&)>& also) {
    return [&, also](const json& j) { return Text(j, "row") == row && also(j); };
  };

  PageScript page("tech.mjs", "--url '" + daemon_.http_url() + "tech#token=" + Mint(v1::OPERATOR, "").token() +
                                  "' --screenshot '" + Artifact("tech-page.png") + "'");
  ASSERT_TRUE(page.WaitFor(
      0, [](const json& j) { return j.contains("ready"); }, 30s))
      << "the page never connected";
  ASSERT_TRUE(page.WaitFor(0, of_row([](const json& j) { return Text(j, "source") == "auto-floor"; }), 5s));
  EXPECT_EQ(ScrapeValue("tilmash_tech_streams"), 1) << "one open page, one stream";

  // (a) A mic press: RPC answered -> the page shows the console live.
  std::size_t mark = page.size();
  const int64_t asked = NowMs();
  ASSERT_TRUE(SetMic(s.id(), console, true).ok());
  const int64_t answered = NowMs();
  auto live = page.WaitFor(mark, of_row([&](const json& j) { return Text(j, "source") == "live " + console; }), 5s);
  ASSERT_TRUE(live) << "the page never showed the console live";
  const double mic_ms = Num(*live, "t") - double(answered);
  EXPECT_GE(Num(*live, "t"), double(asked));
  EXPECT_LT(mic_ms, Sanitized() ? 1000 : 250) << "a mic press must show within 250 ms";

  // A headset subscribes to ru: the row's audience counts it (srtp, multicast, webrtc).
  mark = page.size();
  auto headset = Listen(s.id(), "ru");
  ASSERT_TRUE(headset);
  EXPECT_TRUE(page.WaitFor(mark, of_row([](const json& j) {
                             return j["audience"] == json::array({1, 0, 0});
                           }),
                           5s))
      << "the page never counted the headset";

  // (c) The meter follows the tone: -20 dBFS (peak; RMS 3 dB under), then -40.
  auto near = [&](double peak) {
    return of_row([peak](const json& j) {
      return std::abs(Num(j, "peak") - peak) <= 3 && std::abs(Num(j, "rms") - (peak - 3)) <= 3;
    });
  };
  auto at20 = page.WaitFor(mark, near(-20), 5s);
  ASSERT_TRUE(at20) << "the meter never showed -20 dBFS";
  mark = page.size();
  const int64_t quieter = NowMs();
  voice->SetTone(880, -40);
  auto at40 = page.WaitFor(mark, near(-40), 5s);
  ASSERT_TRUE(at40) << "the meter never showed -40 dBFS";
  const double level_ms = Num(*at40, "t") - double(quieter);

  // Clipping: a full-scale tone reaches the limiter's ceiling; the alarm goes when it does.
  mark = page.size();
  voice->SetTone(880, 0);
  auto clip = page.WaitFor(
      mark, of_row([](const json& j) { return Text(j, "alarms").find("CLIPPING") != std::string::npos; }), 5s);
  EXPECT_TRUE(clip) << "a full-scale tone raised no clipping alarm";
  mark = page.size();
  voice->SetTone(880, -20);
  // Not "no alarm at all": a pure tone has nothing above 7 kHz, so the speaker-input monitor
  // rightly shows TELEPHONE BAND for this console.
  EXPECT_TRUE(page.WaitFor(mark, of_row([](const json& j) {
                             return Text(j, "alarms").find("CLIPPING") == std::string::npos &&
                                    std::abs(Num(j, "peak") + 20) <= 3;
                           }),
                           5s))
      << "the clipping alarm stayed at -20 dBFS";

  // (b) The console's sender dies (no LeaveConsole): its link-lost alarm, the channel on the floor.
  mark = page.size();
  const int64_t killed = NowMs();
  voice->Stop();
  auto lost = page.WaitFor(mark, of_row([&](const json& j) {
                             return Text(j, "alarms").find("LINK LOST " + console) != std::string::npos &&
                                    Text(j, "source") == "auto-floor";
                           }),
                           5s);
  ASSERT_TRUE(lost) << "a dead console raised no alarm on the page";
  const double lost_ms = Num(*lost, "t") - double(killed);
  // ru carries the floor now, which sends nothing: its meter reads silence, not the last tone.
  EXPECT_TRUE(page.WaitFor(mark, of_row([](const json& j) { return j["peak"].is_null(); }), 3s))
      << "a channel without audio still shows a level";

  // The technician puts the floor's backup (a tone slate) on air: an alarm on the floor's row and
  // on ru's, which carries the floor now.
  mark = page.size();
  {
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(s.id());
    req.mutable_source()->mutable_rtp();
    req.mutable_backup()->mutable_tone()->set_frequency_hz(660);
    req.set_floor_select(v1::FLOOR_SELECT_BACKUP);
    v1::Session out;
    ASSERT_TRUE(daemon_.sessions().SetFloorSource(&ctx, req, &out).ok());
  }
  for (const std::string channel : {"floor", "ru"})
    EXPECT_TRUE(page.WaitFor(
        mark,
        [&](const json& j) {
          return Text(j, "row") == s.id() + "/" + channel &&
                 Text(j, "alarms").find("FLOOR BACKUP") != std::string::npos;
        },
        5s))
        << channel << ": no floor-backup alarm";

  // The daemon stops answering (SIGSTOP): the page says so within its 3 s quiet limit, then,
  // the daemon running again, reconnects by itself.
  mark = page.size();
  daemon_.Signal(SIGSTOP);
  auto down = page.WaitFor(
      mark, [](const json& j) { return Text(j, "link").rfind("disconnected", 0) == 0; }, 8s);
  daemon_.Signal(SIGCONT);
  EXPECT_TRUE(down) << "the page never showed 'disconnected'";
  EXPECT_TRUE(page.WaitFor(
      mark, [](const json& j) { return Text(j, "link") == "connected"; }, 15s))
      << "the page did not reconnect by itself";

  EXPECT_EQ(page.Stop(), 0);
  EXPECT_TRUE(std::filesystem::exists(Artifact("tech-page.png")));
  // The closed page frees its stream (noticed at the next event written to it, within 100 ms).
  double open = NAN;
  for (const auto t0 = std::chrono::steady_clock::now(); open != 0 && std::chrono::steady_clock::now() - t0 < 2s;)
    open = ScrapeValue("tilmash_tech_streams");
  EXPECT_EQ(open, 0) << "a closed page's stream is still open";
  std::printf(
      "[ measured ] technician page in chromium: SetMic answered -> page shows live %.0f ms; tone -20 -> -40 dBFS "
      "-> meter %.0f ms (peak %.1f, RMS %.1f); sender killed -> LINK LOST shown %.0f ms\n",
      mic_ms, level_ms, Num(*at40, "peak"), Num(*at40, "rms"), lost_ms);
}

}  // namespace
}  // namespace tilmash::testing
