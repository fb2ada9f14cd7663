// /metrics from the real daemon: a session with a floor tone, a live console speaking a tone,
// unicast and multicast listeners; the series follow what was done, the levels are the
// tones', and Debian's promtool accepts the scrape.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

constexpr const char* kGroup = "239.255.42.7";

// The value of the sample whose name and labels are exactly `series` (as written in the
// scrape, labels in the daemon's order); NaN when it is not there.
double Value(const std::string& scrape, const std::string& series) {
  const std::string at = "\n" + series + " ";
  const auto i = scrape.find(at);
  if (i == std::string::npos) return std::nan("");
  const std::string v = scrape.substr(i + at.size(), scrape.find('\n', i + at.size()) - i - at.size());
  if (v == "-Inf") return -INFINITY;
  if (v == "+Inf") return INFINITY;
  return std::strtod(v.c_str(), nullptr);
}

class MetricsTest : public E2eTest {
 protected:
  MetricsTest() : E2eTest({"--multicast-group", kGroup, "--multicast-port", "47340"}) {}
  std::string Scrape() {
    auto r = Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token());
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << r.content_type;
    return r.body;
  }
};

TEST_F(MetricsTest, SeriesFollowTheSessionAndPromtoolAcceptsTheScrape) {
  // Auth: a token is needed, and it must be staff's.
  {
    auto none = Http(daemon_.http_url() + "metrics");
    EXPECT_EQ(none.status, 401) << none.body;
    auto forged = Http(daemon_.http_url() + "metrics", "GET", "", "", "not-a-token");
    EXPECT_EQ(forged.status, 401) << forged.body;
  }
  auto session = CreateSession({"ru"}, 440);
  const std::string& sid = session.id();
  {
    auto delegate = Mint(v1::DELEGATE, sid);
    auto r = Http(daemon_.http_url() + "metrics", "GET", "", "", delegate.token());
    EXPECT_EQ(r.status, 403) << r.body;
    auto op = Mint(v1::OPERATOR, "");
    EXPECT_EQ(Http(daemon_.http_url() + "metrics", "GET", "", "", op.token()).status, 200);
  }

  // A live console on ru speaking 880 Hz at -20 dBFS; two unicast and one multicast listener.
  auto console = Join(sid, "ru");
  auto voice = Speak(console.ingest(), 880, -20);
  ASSERT_TRUE(SetMic(sid, console.console().id(), true).ok());
  auto a = Listen(sid, "ru");
  auto b = Listen(sid, "ru");
  auto f = Listen(sid, "floor");
  ASSERT_TRUE(a && b && f);
  ListenerClient::Options mo;
  mo.grpc_channel = daemon_.channel();
  mo.session_id = sid;
  mo.channel = "ru";
  mo.multicast = true;
  std::string error;
  auto m = ListenerClient::Start(mo, &error);
  ASSERT_TRUE(m) << error;
  EXPECT_GT(NextLevels(*a, {880})[0], -26) << "the console is on air";

  // Levels are measured every 100 ms: wait (bounded) until both meters have a value.
  std::string s;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    s = Scrape();
  } while ((!std::isfinite(Value(s, "tilmash_channel_level_dbfs{session=\"" + sid + "\",channel=\"ru\"}")) ||
            !std::isfinite(Value(s, "tilmash_channel_level_dbfs{session=\"" + sid + "\",channel=\"floor\"}"))) &&
           std::chrono::steady_clock::now() - t0 < 3s);
  const std::string ch = "session=\"" + sid + "\",channel=\"ru\"";
  const std::string fl = "session=\"" + sid + "\",channel=\"floor\"";
  EXPECT_EQ(Value(s, "tilmash_channel_listeners{" + ch + ",transport=\"srtp\"}"), 2) << s;
  EXPECT_EQ(Value(s, "tilmash_channel_listeners{" + ch + ",transport=\"multicast\"}"), 1);
  EXPECT_EQ(Value(s, "tilmash_channel_listeners{" + ch + ",transport=\"webrtc\"}"), 0);
  EXPECT_EQ(Value(s, "tilmash_channel_listeners{" + fl + ",transport=\"srtp\"}"), 1);
  EXPECT_EQ(Value(s, "tilmash_channel_live_console{" + ch + ",console=\"" + console.console().id() + "\"}"), 1);
  EXPECT_EQ(Value(s, "tilmash_channel_auto_floor{" + ch + "}"), 0);
  EXPECT_EQ(Value(s, "tilmash_recording_active{" + ch + "}"), 0) << "no recorder without --record-dir";
  // A -20 dBFS sine: peak -20, RMS -23 dBFS. The floor channel is the tone itself; ru is the
  // console's decoded voice with the floor ducked 18 dB under it.
  const double floor_peak = Value(s, "tilmash_channel_peak_dbfs{" + fl + "}");
  const double floor_rms = Value(s, "tilmash_channel_level_dbfs{" + fl + "}");
  const double ru_rms = Value(s, "tilmash_channel_level_dbfs{" + ch + "}");
  std::cout << "[ measured ] levels: floor peak " << floor_peak << " dBFS, RMS " << floor_rms << " dBFS; ru RMS "
            << ru_rms << " dBFS\n";
  EXPECT_NEAR(floor_peak, -20, 0.5);
  EXPECT_NEAR(floor_rms, -23, 0.5);
  EXPECT_NEAR(ru_rms, -23, 1.5);
  const std::string src = "session=\"" + sid + "\",source=\"" + console.console().id() + "\"";
  EXPECT_GT(Value(s, "tilmash_ingest_packets_total{" + src + "}"), 10);
  EXPECT_EQ(Value(s, "tilmash_ingest_lost_packets{" + src + "}"), 0);
  EXPECT_GE(Value(s, "tilmash_ingest_jitter_seconds{" + src + "}"), 0);
  EXPECT_EQ(Value(s, "tilmash_console_link_lost{session=\"" + sid + "\",console=\"" + console.console().id() +
                         "\",booth=\"ru\"}"),
            0);
  EXPECT_EQ(Value(s, "tilmash_floor_backup_active{session=\"" + sid + "\"}"), 0);
  EXPECT_GT(Value(s, "tilmash_fanout_packets_total"), 0);
  EXPECT_GT(Value(s, "tilmash_fanout_delay_seconds_count"), 0);
  EXPECT_EQ(Value(s, "tilmash_grpc_requests_total{method=\"/tilmash.v1.BoothService/SetMic\",code=\"OK\"}"), 1);
  EXPECT_GE(Value(s, "tilmash_grpc_requests_total{method=\"/tilmash.v1.SessionService/CreateSession\",code=\"OK\"}"),
            1);
  EXPECT_GT(Value(s, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(Value(s, "tilmash_process_threads"), 3);
  EXPECT_GT(Value(s, "process_open_fds"), 3);
  EXPECT_EQ(Value(s, "tilmash_serving"), 1);

  // The mic off: the channel goes back to the floor.
  ASSERT_TRUE(SetMic(sid, console.console().id(), false).ok());
  s = Scrape();
  EXPECT_EQ(Value(s, "tilmash_channel_auto_floor{" + ch + "}"), 1);
  EXPECT_EQ(s.find("tilmash_channel_live_console{" + ch), std::string::npos);

  // Debian's promtool (package prometheus) lints the scrape: format, names, units, HELP.
  const std::string file = "/tmp/tilmash-metrics-" + std::to_string(getpid()) + ".txt";
  std::ofstream(file) << s;
  FILE* p = popen(("promtool check metrics < " + file + " 2>&1").c_str(), "r");
  ASSERT_TRUE(p) << "promtool not found: tools/setup installs prometheus";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  std::remove(file.c_str());
  EXPECT_EQ(rc, 0) << "promtool check metrics:\n" << out;
}

// The speaker-input monitor: the floor (full-band noise from the desk) and a console on a
// telephone line (300-3400 Hz) are told apart by their energy above 7 kHz, through Opus.
TEST_F(MetricsTest, TheInputMonitorFlagsATelephoneBandSpeaker) {
  auto session = CreateSession({"ru"}, std::nullopt);
  auto console = Join(session.id(), "ru");
  std::vector<float> noise(48000), phone(48000);
  uint32_t x = 24019;
  for (float& v : noise) {
    x = x * 1664525u + 1013904223u;
    v = 0.3f * (float(x >> 8) / float(1u << 24) * 2 - 1);
  }
  for (double hz = 300; hz <= 3400; hz += 100)
    for (std::size_t i = 0; i < phone.size(); ++i)
      phone[i] += float(0.03 * std::sin(2 * M_PI * hz * double(i) / 48000 + hz));
  auto desk = Speak(session.floor_ingest(), 440, -60);
  auto line = Speak(console.ingest(), 440, -60);
  desk->SetSamples(noise, true);
  line->SetSamples(phone, true);
  const std::string floor = "session=\"" + session.id() + "\",source=\"floor\"";
  const std::string booth = "session=\"" + session.id() + "\",source=\"" + console.console().id() + "\"";
  std::string s;
  for (int i = 0; i < 100; ++i) {  // until both have been measured with speech present
    s = Scrape();
    if (Value(s, "tilmash_input_level_dbfs{" + floor + "}") > -30 &&
        Value(s, "tilmash_input_level_dbfs{" + booth + "}") > -30 &&
        Value(s, "tilmash_input_narrowband{" + booth + "}") == 1)
      break;
    std::this_thread::sleep_for(50ms);  // polling a scrape: nothing to wait on but time
  }
  std::cout << "[ measured ] above 7 kHz after Opus: floor (full band) "
            << Value(s, "tilmash_input_above_7khz_db{" + floor + "}") << " dB, console (telephone band) "
            << Value(s, "tilmash_input_above_7khz_db{" + booth + "}") << " dB\n";
  EXPECT_EQ(Value(s, "tilmash_input_narrowband{" + floor + "}"), 0);
  EXPECT_EQ(Value(s, "tilmash_input_narrowband{" + booth + "}"), 1);
  EXPECT_GT(Value(s, "tilmash_input_level_dbfs{" + floor + "}"), -30);
  EXPECT_EQ(Value(s, "tilmash_input_clipping{" + floor + "}"), 0);
  EXPECT_LT(Value(s, "tilmash_input_noise_floor_dbfs{" + floor + "}"), 0);
}

// The monitor's alarms as WatchSession events: a desk sending a full-scale tone raises the
// floor's clipping alarm at once; turned down, the alarm clears after its 2 s hold.
TEST_F(MetricsTest, AClippingFloorIsAnInputAlarmEventUntilItIsTurnedDown) {
  auto session = CreateSession({"ru"}, std::nullopt);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);  // a missing event fails, never hangs
  v1::WatchSessionRequest req;
  req.set_session_id(session.id());
  auto reader = daemon_.sessions().WatchSession(&ctx, req);
  v1::SessionEvent ev;
  ASSERT_TRUE(reader->Read(&ev));  // the snapshot
  auto next_floor_alarm = [&] {
    while (reader->Read(&ev))
      if (ev.has_input_alarm() && ev.input_alarm().source() == "floor") return true;
    return false;
  };
  // Full-band noise (the desk's program), at full scale, then 20 dB down.
  auto noise = [](float amplitude) {
    std::vector<float> x(48000);
    uint32_t r = 20109;
    for (float& v : x) {
      r = r * 1664525u + 1013904223u;
      v = amplitude * (float(r >> 8) / float(1u << 24) * 2 - 1);
    }
    return x;
  };
  auto desk = Speak(session.floor_ingest(), 440, -60);
  desk->SetSamples(noise(1.0f), true);
  const auto loud = std::chrono::steady_clock::now();
  ASSERT_TRUE(next_floor_alarm());
  const auto raised_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loud).count();
  EXPECT_TRUE(ev.input_alarm().clipping());
  EXPECT_FALSE(ev.input_alarm().narrowband()) << "full-band noise is no telephone line";
  EXPECT_GT(ev.input_alarm().peak_dbfs(), -0.5);
  desk->SetSamples(noise(0.1f), true);
  const auto quiet = std::chrono::steady_clock::now();
  ASSERT_TRUE(next_floor_alarm());
  const auto cleared_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - quiet).count();
  std::cout << "[ measured ] floor clipping alarm raised " << raised_ms
            << " ms after the desk went to full scale, cleared " << cleared_ms << " ms after it was turned down\n";
  EXPECT_FALSE(ev.input_alarm().clipping());
  EXPECT_LT(raised_ms, Sanitized() ? 3000 : 1000) << "raised within a tick of the first clipped window";
  EXPECT_GE(cleared_ms, 1900) << "held for 2 s";
  EXPECT_LT(cleared_ms, Sanitized() ? 6000 : 3500);
  ctx.TryCancel();
}

}  // namespace
}  // namespace tilmash::testing
