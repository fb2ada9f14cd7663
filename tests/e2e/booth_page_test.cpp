// The interpreter's console in a real browser: Debian's chromium (tests/browser/booth.mjs) with
// a fake microphone playing a WAV tone opens /booth against the real daemon; delegates are real
// SRTP listeners, the floor and the other booths real consoles. What the page does is measured
// where a delegate or the interpreter would notice it: the tone and its level at a listener, the
// tone in the page's return feed, the milliseconds between a key press and the change.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "audio/audio.h"
#include "browser_support.h"
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

using nlohmann::json;

constexpr double kFloorHz = 440, kVoiceHz = 1000, kPartnerHz = 1500, kEnHz = 660;

std::string Text(const json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key] : ""; }
double Num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

// Steady-clock arrivals of a listener's packets as wall-clock epoch ms (the page's clock).
double WallMs(std::chrono::steady_clock::time_point t) {
  const auto steady_now = std::chrono::steady_clock::now();
  const double wall_now = double(NowMs());
  return wall_now - std::chrono::duration<double, std::milli>(steady_now - t).count();
}

// Per `frame_ms` frame of a listener's audio from sample `from`: the level of each tone.
struct Frames {
  std::vector<std::vector<double>> levels;  // [frame][tone]
  std::vector<double> wall_ms;              // when the frame's packet arrived (epoch ms)
};
Frames FramesOf(const ListenerClient& l, std::size_t from, std::size_t count, const std::vector<double>& hz,
                int frame_ms = 10) {
  Frames f;
  const auto x = l.Samples(from, count);
  const auto arrivals = l.Arrivals();
  const std::size_t step = std::size_t(frame_ms) * 48;
  std::size_t a = 0;
  for (std::size_t i = 0; i + step <= x.size(); i += step) {
    std::span<const float> frame(x.data() + i, step);
    std::vector<double> lv;
    for (double h : hz) lv.push_back(audio::ToneLevelDb(frame, h));
    f.levels.push_back(std::move(lv));
    const std::size_t index = from + i;
    while (a + 1 < arrivals.size() && arrivals[a + 1].sample_index <= index) ++a;
    f.wall_ms.push_back(
        arrivals.empty() ? NAN : WallMs(arrivals[a].arrival) + double(index - arrivals[a].sample_index) / 48.0);
  }
  return f;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(std::lround(p * double(v.size() - 1))))];
}

class BoothPageTest : public E2eTest {
 protected:
  // Loudness leveling off: the tests measure the microphone's level as it was sent.
  explicit BoothPageTest(std::vector<std::string> daemon_args = {})
      : E2eTest(WithoutLeveling(std::move(daemon_args))) {}
  static std::vector<std::string> WithoutLeveling(std::vector<std::string> args) {
    args.insert(args.end(), {"--loudness-target-lufs", "0"});
    return args;
  }
  // A WAV of a tone at -20 dBFS (peak; -23 RMS): `on_ms` of tone then `off_ms` of silence,
  // repeated for `seconds` (off_ms 0: continuous). Chromium's fake microphone loops it.
  static std::string ToneWav(const std::string& name, double hz, int on_ms = 0, int off_ms = 0, int seconds = 10) {
    std::vector<float> x(std::size_t(seconds) * 48000);
    const double a = std::pow(10.0, -20.0 / 20.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const bool on = off_ms == 0 || int((i / 48) % std::size_t(on_ms + off_ms)) < on_ms;
      x[i] = on ? float(a * std::sin(2 * M_PI * hz * double(i) / 48000.0)) : 0.0f;
    }
    std::string path = Artifact(name);
    EXPECT_TRUE(audio::WriteWav(path, x));
    return path;
  }

  std::string PageUrl(const std::string& session, const std::string& name, const std::string& token,
                      const std::string& base = "") {
    return (base.empty() ? daemon_.http_url() : base) + "booth?session=" + session + "&name=" + name +
           "#token=" + token;
  }

  // The page joined its console; then a moment as an interpreter takes before going live (the
  // playout delay finds its size meanwhile, off air).
  static std::optional<json> WaitReady(PageScript& page, std::chrono::milliseconds limit = 40s) {
    auto ready = page.WaitFor(
        0, [](const json& j) { return j.contains("ready"); }, limit);
    if (ready) std::this_thread::sleep_for(1500ms);
    return ready;
  }

  // Waits (up to 5 s) until `hz` is at full level in a 100 ms window at the listener.
  static bool VoiceHeard(ListenerClient& l, double hz) {
    for (int i = 0; i < 50; ++i)
      if (NextLevels(l, {hz}, 100)[0] > -22) return true;
    return false;
  }

  static std::optional<json> WaitLine(PageScript& page, std::size_t from, const std::function<bool(const json&)>& f,
                                      std::chrono::milliseconds limit = 10s) {
    return page.WaitFor(from, f, limit);
  }

  std::optional<v1::Console> ConsoleNamed(const std::string& session, const std::string& name) {
    const v1::Session s = GetSession(session);
    for (const auto& c : s.consoles())
      if (c.name() == name) return c;
    return std::nullopt;
  }

  grpc::Status ChairSays(const std::string& session, const std::string& booth, const std::string& text) {
    grpc::ClientContext ctx;
    v1::SendMessageRequest req;
    req.set_session_id(session);
    req.mutable_message()->set_kind(v1::TEXT);
    req.mutable_message()->set_from("chair");
    req.mutable_message()->set_to("booth:" + booth);
    req.mutable_message()->set_text(text);
    v1::SendMessageResponse r;
    return daemon_.booths().SendMessage(&ctx, req, &r);
  }
};

bool Near(double hz, double want) { return std::abs(hz - want) < 30; }  // the page's FFT bins are 23.4 Hz

TEST_F(BoothPageTest, MicKeyCoughIncomingSelectAndMessagesWorkFromTheBrowser) {
  const v1::Session s = CreateSession({"ru", "en"}, kFloorHz);
  ASSERT_FALSE(s.id().empty());
  auto en = Join(s.id(), "en");  // the en booth: a relay the ru interpreter can take
  auto en_voice = Speak(en.ingest(), kEnHz);
  ASSERT_TRUE(SetMic(s.id(), en.console().id(), true).ok());
  auto delegate = Listen(s.id(), "ru");
  ASSERT_TRUE(delegate);

  PageScript page("booth.mjs", "--url '" + PageUrl(s.id(), "ru-web", Mint(v1::INTERPRETER, s.id(), "ru").token()) +
                                   "' --wav '" + ToneWav("booth-voice.wav", kVoiceHz) + "' --screenshot '" +
                                   Artifact("booth-page-end.png") + "'");
  auto ready = WaitReady(page, 40s);
  ASSERT_TRUE(ready) << "the page never joined its console";
  const std::string console = Text(*ready, "console");
  auto joined = ConsoleNamed(s.id(), "ru-web");
  ASSERT_TRUE(joined) << "no console named ru-web in the session";
  EXPECT_EQ(joined->id(), console);
  EXPECT_EQ(joined->mic(), v1::MIC_OFF);

  // Off air: the ru delegate hears the floor (auto-floor), not the browser's microphone.
  auto off = NextLevels(*delegate, {kFloorHz, kVoiceHz}, 300);
  EXPECT_GT(off[0], -26) << "ru is on the floor while the mic is off";
  EXPECT_LT(off[1], -45) << "the microphone leaks while off";

  // The mic key (keyboard shortcut M): the interpreter on ru at the microphone's level.
  std::size_t mark = page.size();
  page.Do({{"do", "key"}, {"key", "m"}});
  ASSERT_TRUE(WaitLine(page, mark, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }))
      << "the page never showed the mic live";
  ASSERT_TRUE(VoiceHeard(*delegate, kVoiceHz)) << "the interpreter never reached the ru listener";
  auto live = NextLevels(*delegate, {kVoiceHz, kFloorHz}, 500);
  EXPECT_NEAR(live[0], -20, 1.5) << "the interpreter at the microphone's level (a -20 dBFS tone)";
  EXPECT_LT(live[1], live[0] - 15) << "the floor ducked under the interpreter";
  page.Do({{"do", "screenshot"}, {"file", Artifact("booth-page-live.png")}});

  // Cough: silent within 50 ms of the key (the median of three presses), back when released.
  std::vector<double> coughs;
  for (int press = 0; press < 3; ++press) {
    const std::size_t before_cough = delegate->SampleCount();
    mark = page.size();
    page.Do({{"do", "cough"}, {"held", true}});
    auto pressed = WaitLine(page, mark, [](const json& j) { return Text(j, "did") == "cough"; });
    ASSERT_TRUE(pressed);
    ASSERT_TRUE(WaitLine(page, mark, [](const json& j) { return Text(j, "mic") == "MIC_MUTED"; }));
    ASSERT_TRUE(delegate->WaitForSamples(before_cough + 48 * 600, 5s));
    auto frames = FramesOf(*delegate, before_cough, 48 * 600, {kVoiceHz}, 5);
    double silent_at = NAN;
    for (std::size_t i = 0; i < frames.levels.size(); ++i)
      if (frames.wall_ms[i] > Num(*pressed, "t") && frames.levels[i][0] < -45) {
        silent_at = frames.wall_ms[i];
        break;
      }
    ASSERT_FALSE(std::isnan(silent_at)) << "cough never silenced the interpreter";
    coughs.push_back(silent_at - Num(*pressed, "t"));
    mark = page.size();
    page.Do({{"do", "cough"}, {"held", false}});
    ASSERT_TRUE(WaitLine(page, mark, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }));
    ASSERT_TRUE(VoiceHeard(*delegate, kVoiceHz)) << "the voice never came back after the cough";
  }
  const double cough_ms = Percentile(coughs, 0.5);
  // 20-30 ms in most runs; in some the console's stream sits about 40 ms later in its channel's
  // mixer for the whole run (docs/latency.md) and it is 60-70 ms: asserted within 100 ms.
  EXPECT_LT(cough_ms, Sanitized() ? 500 : 100) << "cough silences within 100 ms of the key";
  EXPECT_NEAR(NextLevels(*delegate, {kVoiceHz}, 300)[0], -20, 1.5) << "the voice is back after the cough";

  // The return feed: the floor first (input auto, the floor language unknown), then the en
  // relay after an incoming select.
  auto floor_heard = WaitLine(page, 0, [](const json& j) { return Near(Num(j, "hz"), kFloorHz); });
  ASSERT_TRUE(floor_heard) << "the page's return feed never carried the floor's tone";
  mark = page.size();
  page.Do({{"do", "input"}, {"input", {{"channel", "en"}}}});
  auto relay_heard = WaitLine(page, mark, [](const json& j) {
    return Text(j, "hearing") == "en" && Near(Num(j, "hz"), kEnHz) && Num(j, "db") > -30;
  });
  ASSERT_TRUE(relay_heard) << "the return feed never carried the en relay";

  // A message from the chair shows on the page; one from the page reaches the booth's log.
  mark = page.size();
  ASSERT_TRUE(ChairSays(s.id(), "ru", "please slow the speaker down").ok());
  EXPECT_TRUE(WaitLine(page, mark, [](const json& j) {
    return Text(j, "last").find("please slow the speaker down") != std::string::npos;
  })) << "the chair's message never showed";
  mark = page.size();
  page.Do({{"do", "send"}, {"kind", "CALL_TECHNICIAN"}, {"to", "technician"}});
  EXPECT_TRUE(
      WaitLine(page, mark, [](const json& j) { return Text(j, "last").find("technician") != std::string::npos; }));

  EXPECT_EQ(page.Stop(), 0);
  EXPECT_TRUE(std::filesystem::exists(Artifact("booth-page-live.png")));
  // The closed page leaves its console.
  bool gone = false;
  for (auto t0 = std::chrono::steady_clock::now(); !gone && std::chrono::steady_clock::now() - t0 < 5s;) {
    gone = !ConsoleNamed(s.id(), "ru-web");
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "a closed page's console stayed";
  std::printf(
      "[ measured ] booth page: cough key -> silent at the listener %.0f, %.0f, %.0f ms (median %.0f); voice at "
      "%.1f dBFS (sent -20)\n",
      coughs[0], coughs[1], coughs[2], cough_ms, live[0]);
}

TEST_F(BoothPageTest, TwoPagesOfOneBoothHandOverWithoutGapOrOverlap) {
  const v1::Session s = CreateSession({"ru"}, kFloorHz);
  ASSERT_FALSE(s.id().empty());
  const std::string token = Mint(v1::INTERPRETER, s.id(), "ru").token();
  PageScript a("booth.mjs",
               "--url '" + PageUrl(s.id(), "ru-a", token) + "' --wav '" + ToneWav("booth-a.wav", kVoiceHz) + "'");
  PageScript b("booth.mjs", "--url '" + PageUrl(s.id(), "ru-b", token) + "' --wav '" +
                                ToneWav("booth-b.wav", kPartnerHz) + "' --screenshot '" +
                                Artifact("booth-page-handover.png") + "'");
  ASSERT_TRUE(WaitReady(a, 40s));
  ASSERT_TRUE(WaitReady(b, 40s));
  auto l = Listen(s.id(), "ru");
  ASSERT_TRUE(l);
  a.Do({{"do", "mic"}});
  ASSERT_TRUE(WaitLine(a, 0, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }));
  ASSERT_TRUE(VoiceHeard(*l, kVoiceHz));
  // The partner asks (H); the live interpreter sees it and accepts (H).
  std::size_t mark = a.size();
  b.Do({{"do", "key"}, {"key", "h"}});
  ASSERT_TRUE(WaitLine(a, mark, [](const json& j) { return Text(j, "handover").find("asks") != std::string::npos; }))
      << "the live page never showed the partner's request";
  const std::size_t from = l->SampleCount();
  a.Do({{"do", "key"}, {"key", "h"}});
  ASSERT_TRUE(WaitLine(b, 0, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }))
      << "the partner never went live";
  ASSERT_TRUE(l->WaitForSamples(from + 48 * 1500, 5s));
  auto f = FramesOf(*l, from, 48 * 1500, {kVoiceHz, kPartnerHz});
  int both = 0, gap = 0, longest_gap = 0, a_frames = 0, b_frames = 0;
  for (const auto& lv : f.levels) {
    both += lv[0] > -26 && lv[1] > -26;
    const bool silent = lv[0] < -33 && lv[1] < -33;
    gap = silent ? gap + 1 : 0;
    longest_gap = std::max(longest_gap, gap);
    a_frames += lv[0] > -26;
    b_frames += lv[1] > -26;
  }
  std::printf(
      "[ measured ] handover between two browser pages: %d frame(s) with both, longest silence %d ms; %d "
      "frames of the first, %d of the partner\n",
      both, longest_gap * 10, a_frames, b_frames);
  EXPECT_LE(both, 1) << "no overlap (one 10 ms frame is the console path's alignment, docs/latency.md)";
  EXPECT_LE(longest_gap * 10, Sanitized() ? 100 : 20) << "no gap longer than 20 ms";
  EXPECT_GT(b_frames, 50) << "the partner took over";
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

TEST_F(BoothPageTest, ALostConnectionShowsAtOnceAndReconnectsToTheSameConsole) {
  const v1::Session s = CreateSession({"ru"}, kFloorHz);
  ASSERT_FALSE(s.id().empty());
  PageScript page("booth.mjs", "--url '" + PageUrl(s.id(), "ru-web", Mint(v1::INTERPRETER, s.id(), "ru").token()) +
                                   "' --wav '" + ToneWav("booth-voice.wav", kVoiceHz) + "'");
  auto ready = WaitReady(page, 40s);
  ASSERT_TRUE(ready);
  const std::string console = Text(*ready, "console");
  auto l = Listen(s.id(), "ru");
  ASSERT_TRUE(l);
  page.Do({{"do", "mic"}});
  ASSERT_TRUE(WaitLine(page, 0, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }));
  ASSERT_TRUE(VoiceHeard(*l, kVoiceHz));
  const std::size_t from = l->SampleCount();
  std::size_t mark = page.size();
  page.Do({{"do", "drop"}});
  auto shown = WaitLine(
      page, mark, [](const json& j) { return Text(j, "state") == "reconnecting"; }, 2s);
  ASSERT_TRUE(shown) << "the page never showed the lost connection";
  auto back = WaitLine(page, mark, [&](const json& j) {
    return Text(j, "state") == "connected" && Text(j, "console") == console && Num(j, "reconnects") >= 1;
  });
  ASSERT_TRUE(back) << "the page did not reconnect to its console";
  EXPECT_EQ(Text(*back, "mic"), "MIC_LIVE") << "the console kept its mic through the reconnect";
  // Meanwhile the server's link-loss rule put the floor on ru: no dead air; then the voice is back.
  ASSERT_TRUE(l->WaitForSamples(from + 48 * 3000, 8s));
  auto f = FramesOf(*l, from, 48 * 3000, {kVoiceHz, kFloorHz});
  int floor_frames = 0, gap = 0, longest_gap = 0;
  for (const auto& lv : f.levels) {
    floor_frames += lv[1] > -26 && lv[0] < -35;
    gap = lv[0] < -33 && lv[1] < -33 ? gap + 1 : 0;
    longest_gap = std::max(longest_gap, gap);
  }
  EXPECT_GT(floor_frames, 5) << "the floor covered the lost link";
  EXPECT_LE(longest_gap * 10, Sanitized() ? 200 : 80) << "no dead air while the page reconnected";
  ASSERT_TRUE(VoiceHeard(*l, kVoiceHz)) << "the voice never came back";
  EXPECT_NEAR(NextLevels(*l, {kVoiceHz}, 300)[0], -20, 1.5) << "the voice is back at its level";
  std::printf(
      "[ measured ] booth page link lost: shown %.0f ms after the drop, reconnected after %.0f ms; %d frames "
      "of floor, longest silence %d ms\n",
      Num(*shown, "t") - Num(*page.WaitFor(
                                 mark, [](const json& j) { return Text(j, "did") == "drop"; }, 1s),
                             "t"),
      Num(*back, "t") - Num(*shown, "t"), floor_frames, longest_gap * 10);
  EXPECT_EQ(page.Stop(), 0);
}

// Latency, both ways: the interpreter's voice captured by the browser -> a delegate's SRTP
// listener, and the floor -> the interpreter's return feed in the browser. Onsets of tone bursts
// stamped by the page's audio thread and by the listener's packet arrivals (one wall clock).
TEST_F(BoothPageTest, MouthToListenerAndFloorToEarLatency) {
  const v1::Session s = CreateSession({"ru"}, std::nullopt);  // an RTP floor: the test is the sound desk
  ASSERT_FALSE(s.id().empty());
  auto desk = Speak(s.floor_ingest(), kFloorHz);
  desk->SetSilence();
  PageScript page("booth.mjs", "--url '" + PageUrl(s.id(), "ru-web", Mint(v1::INTERPRETER, s.id(), "ru").token()) +
                                   "' --wav '" + ToneWav("booth-bursts.wav", kVoiceHz, 150, 350, 10) + "'");
  ASSERT_TRUE(WaitReady(page, 40s));
  auto l = Listen(s.id(), "ru");
  ASSERT_TRUE(l);
  page.Do({{"do", "mic"}});
  ASSERT_TRUE(WaitLine(page, 0, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }));
  std::this_thread::sleep_for(500ms);
  // Floor bursts from the sound desk while the voice bursts play: 150 ms of tone every 500 ms.
  const std::size_t from = l->SampleCount();
  std::vector<double> floor_on;
  for (int i = 0; i < 16; ++i) {
    floor_on.push_back(double(NowMs()));
    desk->SetTone(kFloorHz, -20);
    std::this_thread::sleep_for(150ms);
    desk->SetSilence();
    std::this_thread::sleep_for(350ms);
  }
  const std::size_t count = l->SampleCount() - from;
  std::size_t mark = page.size();
  page.Do({{"do", "onsets"}});
  auto onsets = WaitLine(page, mark, [](const json& j) { return j.contains("onsets"); });
  ASSERT_TRUE(onsets);
  // Voice onsets at the listener: the first 5 ms frame of each burst.
  auto f = FramesOf(*l, from, count, {kVoiceHz}, 5);
  std::vector<double> at_listener;
  bool quiet = false;
  for (std::size_t i = 0; i < f.levels.size(); ++i) {
    if (quiet && f.levels[i][0] > -35) at_listener.push_back(f.wall_ms[i]);
    quiet = f.levels[i][0] < -50 ? true : f.levels[i][0] > -35 ? false : quiet;
  }
  std::vector<double> mouth, ear;
  const auto voice = (*onsets)["onsets"]["voice"], ret = (*onsets)["onsets"]["ret"];
  for (double t : at_listener) {
    double best = NAN;  // the page's latest voice onset before it
    for (const auto& v : voice)
      if (v.get<double>() < t && t - v.get<double>() < 400) best = v.get<double>();
    if (!std::isnan(best)) mouth.push_back(t - best);
  }
  for (double t : floor_on) {
    for (const auto& r : ret)
      if (r.get<double>() > t && r.get<double>() - t < 450) {
        ear.push_back(r.get<double>() - t);
        break;
      }
  }
  std::printf(
      "[ measured ] browser console latency: mouth (browser capture) -> SRTP listener p50 %.0f ms, p99 %.0f ms "
      "(%zu bursts); floor -> interpreter's ear (browser playout) p50 %.0f ms, p99 %.0f ms (%zu bursts)\n",
      Percentile(mouth, 0.5), Percentile(mouth, 0.99), mouth.size(), Percentile(ear, 0.5), Percentile(ear, 0.99),
      ear.size());
  EXPECT_GE(mouth.size(), 10u) << "voice bursts found at the listener and on the page";
  EXPECT_GE(ear.size(), 10u) << "floor bursts heard in the page";
  EXPECT_LT(Percentile(mouth, 0.5), Sanitized() ? 1000 : 250);
  EXPECT_LT(Percentile(ear, 0.5), Sanitized() ? 1000 : 300);
  EXPECT_EQ(page.Stop(), 0);
}

}  // namespace
}  // namespace tilmash::testing

namespace tilmash::testing {
namespace {

// A WAN between the interpreter's machine and the daemon: the page runs in a network namespace
// whose only way to the daemon is tests/support/wan_emulator.py (5 % loss, 40 +- 30 ms delay each
// way, as `netem loss 5% delay 40ms 30ms`), over HTTPS with the daemon's own certificate.
class WanEmulator {
 public:
  WanEmulator() : ns_("tilwan" + std::to_string(getpid() % 100000)) {
    const std::string dir = "/tmp/" + ns_;
    std::filesystem::create_directories(dir);
    ready_ = dir + "/ready";
    std::filesystem::remove(ready_);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + std::string(kNear) +
                            " -keyout " + dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return;
    cert_ = dir + "/cert.pem";
    key_ = dir + "/key.pem";
    pid_ = fork();
    if (pid_ == 0) {
      const std::string script = std::string(TILMASH_SOURCE_DIR) + "/tests/support/wan_emulator.py";
      execlp("python3", "python3", script.c_str(), "--ns", ns_.c_str(), "--near", kNear, "--far", kFar, "--loss",
             "0.05", "--delay-ms", "40", "--jitter-ms", "30", "--ready", ready_.c_str(), "--seconds", "300",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !std::filesystem::exists(ready_); ++i) std::this_thread::sleep_for(50ms);
  }
  ~WanEmulator() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return std::filesystem::exists(ready_); }
  std::vector<std::string> DaemonArgs() const {
    return {"--http-listen", std::string(kNear) + ":0", "--http-tls-cert", cert_, "--http-tls-key", key_};
  }
  std::string prefix() const { return "ip netns exec " + ns_; }
  static constexpr const char* kNear = "10.77.0.1";
  static constexpr const char* kFar = "10.77.0.2";

 private:
  std::string ns_, ready_, cert_, key_;
  pid_t pid_ = -1;
};

std::unique_ptr<WanEmulator>& WanHolder() {
  static std::unique_ptr<WanEmulator> wan;
  return wan;
}
WanEmulator& Wan() {
  if (!WanHolder()) WanHolder() = std::make_unique<WanEmulator>();
  return *WanHolder();
}

class BoothWanTest : public BoothPageTest {
 protected:
  BoothWanTest() : BoothPageTest(Wan().DaemonArgs()) {}
  static void TearDownTestSuite() { WanHolder().reset(); }
};

TEST_F(BoothWanTest, FivePercentLossAnd30msJitterLeaveNoGapOver20msAndTheLevelWithin1dB) {
  ASSERT_TRUE(Wan().ok()) << "the WAN emulator did not start (root and /dev/net/tun are needed)";
  const v1::Session s = CreateSession({"ru"}, kFloorHz);
  ASSERT_FALSE(s.id().empty());
  PageScript page("booth.mjs",
                  "--insecure --url '" + PageUrl(s.id(), "ru-remote", Mint(v1::INTERPRETER, s.id(), "ru").token()) +
                      "' --wav '" + ToneWav("booth-wan.wav", kVoiceHz) + "' --screenshot '" +
                      Artifact("booth-page-wan.png") + "'",
                  Wan().prefix());
  ASSERT_TRUE(WaitReady(page, 60s)) << "no console over the WAN";
  auto l = Listen(s.id(), "ru");
  ASSERT_TRUE(l);
  std::this_thread::sleep_for(1500ms);  // over a WAN the playout delay takes a little longer to settle
  page.Do({{"do", "mic"}});
  ASSERT_TRUE(WaitLine(
      page, 0, [](const json& j) { return Text(j, "mic") == "MIC_LIVE"; }, 15s));
  std::this_thread::sleep_for(1s);
  const std::size_t from = l->SampleCount();
  ASSERT_TRUE(l->WaitForSamples(from + 48 * 10000, 15s));
  auto f = FramesOf(*l, from, 48 * 10000, {kVoiceHz});
  int gap = 0, longest_gap = 0, gaps = 0;
  double power = 0;
  for (const auto& lv : f.levels) {
    const bool dropped = lv[0] < -29;  // 6 dB under the voice: a frame with a hole in it
    if (dropped && gap == 0) ++gaps;
    gap = dropped ? gap + 1 : 0;
    longest_gap = std::max(longest_gap, gap);
    power += std::pow(10.0, lv[0] / 10.0);
  }
  const double level = 10 * std::log10(power / double(f.levels.size()));
  std::printf(
      "[ measured ] browser console over 5 %% loss, 40 +- 30 ms jitter (10 s at the listener): tone level %.2f dBFS "
      "(sent at -20.0), %d dropped 10 ms frames in %d runs, longest %d ms\n",
      level, int(std::count_if(f.levels.begin(), f.levels.end(), [](const auto& lv) { return lv[0] < -29; })), gaps,
      longest_gap * 10);
  EXPECT_NEAR(level, -20.0, 1.0) << "the interpreter's level within 1 dB (a -20 dBFS tone)";
  EXPECT_LE(longest_gap * 10, 20) << "no gap longer than 20 ms";
  EXPECT_EQ(page.Stop(), 0);
}

}  // namespace
}  // namespace tilmash::testing
