// The tools on real devices, run as a user runs them: tilmash-listen --play (a beltpack's
// reference) and tilmash-booth --device (a hardware booth PC) against the real daemon. There is
// no sound card here, so the devices are the stand-ins the device name selects through the same
// GStreamer code as a card (media/sound): a tone as the microphone (test:HZ) and a WAV written on
// the playback timeline (wav:PATH), where a late packet is silence as on a card. A card that is
// not there must fail before anything changes on the daemon.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audio/audio.h"
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

namespace fs = std::filesystem;

constexpr double kFloorHz = 440, kVoiceHz = 880, kMicHz = 660;

struct ToolRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs build/bin/`tool` with the daemon's address and admin token; stdout and stderr apart.
ToolRun RunTool(const DaemonProcess& d, const std::string& tool, const std::string& args) {
  const std::string err_file = fs::temp_directory_path() / ("tilmash-tool-" + std::to_string(getpid()) + ".err");
  const std::string cmd = BinDir() + "/" + tool + " --server " + d.address() + " --plaintext --token " +
                          d.admin_token() + " " + args + " 2>" + err_file;
  ToolRun r;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (fgets(buf, sizeof buf, p)) r.out += buf;
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  fs::remove(err_file);
  return r;
}

std::vector<float> ReadPlayed(const std::string& path) {
  int rate = 0;
  std::string error;
  auto pcm = audio::ReadWav(path, &rate, &error);
  EXPECT_TRUE(pcm) << error;
  EXPECT_EQ(rate, 48000);
  return pcm.value_or(std::vector<float>{});
}

std::span<const float> Span(const std::vector<float>& x, double from_s, double to_s) {
  const std::size_t a = std::min(x.size(), std::size_t(from_s * 48000)),
                    b = std::min(x.size(), std::size_t(to_s * 48000));
  return {x.data() + a, b - std::min(a, b)};
}

// The longest run of silence (|x| < -80 dBFS) between the first and the last sound: what a
// listener on the card would hear as a dropout.
double LongestSilenceMs(std::span<const float> x) {
  std::size_t i = 0, end = x.size();
  while (i < end && std::abs(x[i]) < 1e-4f) ++i;
  while (end > i && std::abs(x[end - 1]) < 1e-4f) --end;
  std::size_t run = 0, longest = 0, at = 0;
  for (; i < end; ++i) {
    run = std::abs(x[i]) < 1e-4f ? run + 1 : 0;
    if (run > longest) longest = run, at = i + 1 - run;
  }
  if (longest > 48)
    std::cout << "[ measured ] dropout of " << double(longest) / 48.0 << " ms at " << double(at) / 48000 << " s\n";
  return double(longest) / 48.0;
}

// Where the first sound is (the pipeline's start until the first packet is silence in the file).
double FirstSoundS(const std::vector<float>& x) {
  std::size_t i = 0;
  while (i < x.size() && std::abs(x[i]) < 1e-4f) ++i;
  return double(i) / 48000.0;
}

class SoundDeviceTest : public E2eTest {
 protected:
  SoundDeviceTest() : E2eTest({"--key-rotation-s", "1", "--key-lead-ms", "500"}) {}
  void SetUp() override {
    E2eTest::SetUp();
    char dir[] = "/tmp/tilmash-sound-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    fs::remove_all(dir_);
    E2eTest::TearDown();
  }
  std::string dir_;
};

// A beltpack's reference on a card: the floor, then (switched at 2 s) the ru channel, through
// key rotations every second: every packet decrypted, the tone of each at its level, and no
// dropout on the card, the switch included.
TEST_F(SoundDeviceTest, ListenPlaysTheChannelThroughKeyRotationsAndASwitch) {
  auto session = CreateSession({"ru"}, kFloorHz);
  auto ru = Join(session.id(), "ru");
  auto voice = Speak(ru.ingest(), kVoiceHz);
  ASSERT_TRUE(SetMic(session.id(), ru.console().id(), true).ok());
  const std::string played = dir_ + "/played.wav";
  const ToolRun r =
      RunTool(daemon_, "tilmash-listen",
              "--session " + session.id() +
                  " --channel floor --switch-to ru --switch-at 2 --seconds 4.5 --json --play wav:" + played);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_GE(out["key_changes"].get<int>(), 3) << "rotated every second";
  EXPECT_EQ(out["auth_failures"].get<int>(), 0);
  EXPECT_EQ(out["lost"].get<int>(), 0);
  EXPECT_EQ(out["played"]["device"], "wav:" + played);

  const auto x = ReadPlayed(played);
  const double t0 = FirstSoundS(x), seconds = out["seconds"].get<double>();
  std::cout << "[ measured ] played " << double(x.size()) / 48000 << " s for " << seconds
            << " s listened, first sound at " << t0 << " s\n";
  EXPECT_NEAR(double(x.size()) / 48000, seconds, Sanitized() ? 1.0 : 0.25) << "the card's timeline is the listener's";
  const auto floor = Span(x, t0 + 0.3, t0 + 1.8), channel = Span(x, t0 + 2.5, t0 + 4.0);
  EXPECT_NEAR(audio::DominantFrequency(floor), kFloorHz, 5);
  EXPECT_NEAR(audio::RmsDb(floor), out["before_switch"]["level_dbfs"].get<double>(), 1) << "as decoded";
  EXPECT_NEAR(audio::DominantFrequency(channel), kVoiceHz, 5) << "the ru interpreter after the switch";
  EXPECT_GT(audio::ToneLevelDb(channel, kVoiceHz), -30);
  EXPECT_LT(LongestSilenceMs(x), Sanitized() ? 100 : 20) << "a dropout on the card";
}

// A hardware booth PC: the microphone (a 660 Hz stand-in) reaches the ru listeners once the mic
// key is pressed, and the headphones play the return feed - the floor's tone.
TEST_F(SoundDeviceTest, ABoothOnADeviceIsHeardByListenersAndHearsTheFloorInItsHeadphones) {
  auto session = CreateSession({"ru"}, kFloorHz);
  auto listener = Listen(session.id(), "ru");
  const std::string ears = dir_ + "/headphones.wav";
  ToolRun r;
  std::thread booth([&] {
    r = RunTool(daemon_, "tilmash-booth",
                "--session " + session.id() + " --booth ru --device test:660 --headphones wav:" + ears +
                    " --seconds 3 --mic-schedule on@0.2 --json");
  });
  std::this_thread::sleep_for(1500ms);
  const auto live = NextLevels(*listener, {kMicHz, kFloorHz}, 800);
  booth.join();
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GT(live[0], -30) << "the microphone on air";
  EXPECT_LT(live[1], live[0] - 10) << "the floor under it";
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["source"]["device"], "test:660");
  EXPECT_EQ(out["device"]["underrun_samples"].get<int>(), 0) << out["device"].dump();
  EXPECT_GT(out["device"]["played_samples"].get<int>(), 2 * 48000);

  const auto x = ReadPlayed(ears);
  const double t0 = FirstSoundS(x);
  const auto heard = Span(x, t0 + 0.5, t0 + 2.5);
  // Until the booth stops sending and leaves (at 3 s): then its return feed ends.
  const double dropout = LongestSilenceMs(Span(x, t0, t0 + 2.8));
  std::cout << "[ measured ] headphones: " << double(x.size()) / 48000 << " s, floor tone at "
            << audio::ToneLevelDb(heard, kFloorHz) << " dBFS, longest dropout " << dropout << " ms\n";
  EXPECT_NEAR(audio::DominantFrequency(heard), kFloorHz, 5) << "the return feed: the floor";
  EXPECT_NEAR(audio::RmsDb(heard), out["return"]["level_dbfs"].get<double>(), 1) << "as decoded";
  EXPECT_LT(dropout, Sanitized() ? 100 : 20);
}

// A card that is not there: the driver's words, exit 1, and nothing subscribed or joined.
TEST_F(SoundDeviceTest, AMissingCardIsAClearErrorBeforeAnythingChanges) {
  auto session = CreateSession({"ru"}, kFloorHz);
  const ToolRun listen =
      RunTool(daemon_, "tilmash-listen", "--session " + session.id() + " --channel ru --play hw:7,7");
  EXPECT_EQ(listen.exit_code, 1);
  EXPECT_NE(listen.err.find("--play: device 'hw:7,7': Could not open audio device for playback"), std::string::npos)
      << listen.err;
  const ToolRun booth =
      RunTool(daemon_, "tilmash-booth", "--session " + session.id() + " --booth ru --device hw:7,7 --seconds 1");
  EXPECT_EQ(booth.exit_code, 1);
  EXPECT_NE(booth.err.find("--device: device 'hw:7,7': Could not open audio device for recording"), std::string::npos)
      << booth.err;
  const auto s = GetSession(session.id());
  for (const auto& c : s.channels()) EXPECT_EQ(c.listener_count(), 0u) << c.language();
  EXPECT_EQ(s.consoles_size(), 0);
}

}  // namespace
}  // namespace tilmash::testing
