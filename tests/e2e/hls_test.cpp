// HLS through the real daemon: its HTTP side serves a master playlist with every language as an
// alternate rendition, 1-second AAC segments that ffprobe validates, and ffmpeg - a real HLS
// player over HTTP - decodes the right tone from each language.
#include <cstdio>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include "../support/ffmpeg_decode.h"
#include "audio/audio.h"
#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

using namespace std::chrono_literals;

// ffmpeg plays a live HLS playlist from the daemon: the newest `seconds` of mono 48 kHz audio.
std::vector<float> Decode(const std::string& url, int seconds) {
  return ReadFloatsFrom("timeout 30 ffmpeg -hide_banner -loglevel error -nostdin -live_start_index -" +
                        std::to_string(seconds) + " -i '" + url + "' -t " + std::to_string(seconds) +
                        " -f f32le -ac 1 -ar 48000 pipe:1");
}

std::vector<double> SegmentDurations(const std::string& playlist) {
  std::vector<double> d;
  static const std::regex extinf(R"(#EXTINF:([0-9.]+),)");
  for (auto it = std::sregex_iterator(playlist.begin(), playlist.end(), extinf); it != std::sregex_iterator(); ++it)
    d.push_back(std::stod((*it)[1]));
  return d;
}

class HlsTest : public E2eTest {
 protected:
  HlsTest() : E2eTest({"--hls"}) {}

  std::string base() const { return daemon_.http_url() + "hls/"; }

  // Waits until the channel's live playlist lists `n` segments; returns it.
  std::string WaitForSegments(const std::string& session, const std::string& channel, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = Http(base() + session + "/" + channel + "/playlist.m3u8");
      if (r.status == 200 && SegmentDurations(r.body).size() >= n) return r.body;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << channel << ": fewer than " << n << " segments after 20 s";
    return text;
  }
};

TEST_F(HlsTest, MasterPlaylistListsEveryLanguageAndEachRenditionCarriesItsOwnVoice) {
  ASSERT_GT(daemon_.http_port(), 0) << "tilmashd printed no http line";
  const v1::Session s = CreateSession({"ru", "kk"}, 440.0, "en");
  ASSERT_FALSE(s.id().empty());
  // The ru interpreter speaks 880 Hz; kk has no interpreter, so it carries the floor.
  auto ru = Join(s.id(), "ru");
  auto voice = Speak(ru.ingest(), 880);
  ASSERT_TRUE(SetMic(s.id(), ru.console().id(), true).ok());
  const auto mic_on = std::chrono::steady_clock::now();

  auto master = Http(base() + s.id() + "/master.m3u8");
  ASSERT_EQ(master.status, 200) << master.body;
  EXPECT_EQ(master.content_type, "application/vnd.apple.mpegurl");
  EXPECT_EQ(master.cors, "*");
  EXPECT_NE(master.cache_control.find("max-age"), std::string::npos);
  for (const char* line : {R"x(LANGUAGE="en",NAME="Original (English)",DEFAULT=YES)x",
                           R"(LANGUAGE="ru",NAME="Русский",DEFAULT=NO)", R"(LANGUAGE="kk",NAME="Қазақша",DEFAULT=NO)"})
    EXPECT_NE(master.body.find(line), std::string::npos) << line << " missing in\n" << master.body;
  EXPECT_NE(master.body.find("#EXT-X-STREAM-INF:BANDWIDTH="), std::string::npos);

  // 1-second segments (AAC frames of 1024 samples: 46 frames = 0.981 s).
  const std::string playlist = WaitForSegments(s.id(), "ru", 4);
  const auto durations = SegmentDurations(playlist);
  ASSERT_GE(durations.size(), 4u) << playlist;
  for (double d : durations) EXPECT_NEAR(d, 1.0, 0.1) << playlist;
  std::printf("[ measured ] ru playlist: %zu segments, first %.3f s; first playlist %.2f s after the mic\n",
              durations.size(), durations.front(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - mic_on).count());
  auto segment = Http(base() + s.id() + "/ru/seg00000.ts");
  EXPECT_EQ(segment.status, 200);
  EXPECT_EQ(segment.content_type, "video/mp2t");
  EXPECT_EQ(segment.body.size() % 188, 0u) << "MPEG-TS is 188-byte packets";
  EXPECT_EQ(segment.body[0], 0x47) << "MPEG-TS sync byte";
  const auto live = Http(base() + s.id() + "/ru/playlist.m3u8");
  EXPECT_EQ(live.cache_control, "public, max-age=1");

  // ffprobe validates the master playlist over HTTP: one AAC stream per language.
  const std::string probe = ShellOutput(
      "timeout 30 ffprobe -v error -show_entries stream=codec_name,sample_rate:stream_tags="
      "language -of compact '" +
      base() + s.id() + "/master.m3u8' 2>&1");
  for (const char* lang : {"en", "ru", "kk"})
    EXPECT_NE(probe.find("codec_name=aac|sample_rate=48000|tag:language=" + std::string(lang)), std::string::npos)
        << probe;
  EXPECT_EQ(probe.find("rror"), std::string::npos) << probe;

  // ffmpeg plays each rendition: ru is the interpreter over the ducked floor, kk the floor.
  WaitForSegments(s.id(), "ru", 6);  // segments made after the mic went live
  const auto ru_audio = Decode(base() + s.id() + "/ru/playlist.m3u8", 2);
  const auto kk_audio = Decode(base() + s.id() + "/kk/playlist.m3u8", 2);
  ASSERT_GE(ru_audio.size(), 48000u) << "ffmpeg decoded less than a second of ru";
  ASSERT_GE(kk_audio.size(), 48000u) << "ffmpeg decoded less than a second of kk";
  const double ru880 = audio::ToneLevelDb(ru_audio, 880), ru440 = audio::ToneLevelDb(ru_audio, 440);
  const double kk880 = audio::ToneLevelDb(kk_audio, 880), kk440 = audio::ToneLevelDb(kk_audio, 440);
  std::printf("[ measured ] HLS ru: 880 Hz %.1f dB, 440 Hz %.1f dB; kk: 440 Hz %.1f dB, 880 Hz %.1f dB\n", ru880, ru440,
              kk440, kk880);
  EXPECT_NEAR(ru880, -20, 2) << "the interpreter at -20 dBFS";
  EXPECT_NEAR(ru440, -38, 3) << "the floor ducked by 18 dB under the live mic";
  EXPECT_NEAR(kk440, -20, 2) << "kk has no interpreter: the floor at full level";
  EXPECT_LT(kk880, -60) << "the ru interpreter must not leak into kk";
}

TEST_F(HlsTest, HostilePathsAndMethodsAreRefused) {
  auto s = CreateSession({"ru"}, 440.0);
  WaitForSegments(s.id(), "ru", 1);
  for (const std::string& path :
       std::vector<std::string>{"hls/" + s.id() + "/ru/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "hls/%2e%2e/ru/playlist.m3u8",
                                "hls/" + s.id() + "/ru/seg0000a.ts", "hls/" + s.id() + "/ru/playlist.m3u8.bak",
                                "hls/no-such/master.m3u8", "hls/" + s.id() + "/xx/playlist.m3u8", "nothing-here"}) {
    auto r = Http(daemon_.http_url() + path);
    // 404 from us, or 400 from libsoup itself for an encoded '/' in the path.
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << ": " << r.status << " " << r.body;
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
  }
  EXPECT_NE(Http(base() + "no-such/master.m3u8").body.find("no session no-such"), std::string::npos);
  auto post = Http(base() + s.id() + "/master.m3u8", "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  EXPECT_EQ(Http(daemon_.http_url() + "healthz").body, "ok\n");
  // The page's listing: the session's name, its channels named in their own language.
  auto listing = nlohmann::json::parse(Http(daemon_.http_url() + "api/sessions/" + s.id()).body);
  EXPECT_EQ(listing["name"], "e2e");
  ASSERT_EQ(listing["channels"].size(), 2u);
  EXPECT_EQ(listing["channels"][1]["name"], "Русский");
  auto none = Http(daemon_.http_url() + "api/sessions/no-such");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(nlohmann::json::parse(none.body)["error"], "no session no-such");
  EXPECT_EQ(Http(daemon_.http_url() + "api/sessions/a%22b").status, 404);
  // Ending the session removes its segments.
  grpc::ClientContext ctx;
  v1::EndSessionRequest end;
  end.set_session_id(s.id());
  v1::EndSessionResponse ended;
  ASSERT_TRUE(daemon_.sessions().EndSession(&ctx, end, &ended).ok());
  EXPECT_EQ(Http(base() + s.id() + "/ru/playlist.m3u8").status, 404);
}

}  // namespace
}  // namespace tilmash::testing
