// What an edge serves beyond its channels as they are: a listener's balance (the origin's mix,
// subscribed once per channel and balance, ended with its last listener) and HLS (the origin's
// playlists and segments through the edge's own cache: players on the edge, one fetch per file
// at the origin). The world of edge_support.h: an origin, two edges in network namespaces, TLS.
#include <csignal>
#include <optional>
#include <regex>

#include "../support/ffmpeg_decode.h"
#include "audio/audio.h"
#include "edge_support.h"

namespace tilmash::testing {
namespace {

// Longest time between two packets at a listener from arrival `from` on, in ms.
double LongestGapMs(const ListenerClient& l, std::size_t from) {
  const auto arrivals = l.Arrivals();
  double longest = 0;
  for (std::size_t i = std::max<std::size_t>(from, 1); i < arrivals.size(); ++i)
    longest = std::max(
        longest, std::chrono::duration<double, std::milli>(arrivals[i].arrival - arrivals[i - 1].arrival).count());
  return longest;
}

TEST_F(EdgeTest, ABalanceOnAnEdgeIsTheOriginsMixSubscribedOncePerChannelAndBalance) {
  auto balanced = [&](const std::string& channel, uint32_t percent) {
    ListenerClient::Options o;
    o.bind_host = host1_.near();
    o.server = edge1_->address();
    o.grpc_channel = edge1_->channel();
    o.session_id = "hall";
    o.channel = channel;
    o.interpretation_percent = percent;
    std::string error;
    auto l = ListenerClient::Start(o, &error);
    EXPECT_TRUE(l) << error;
    return l;
  };
  auto plain = Listen(*edge1_, "ru", host1_.near());
  auto half1 = balanced("ru", 50);
  auto half2 = balanced("ru", 52);  // rounded to 50 %: the same mix
  ASSERT_TRUE(plain && half1 && half2);
  EXPECT_EQ(half1->subscription().interpretation_percent(), 50u);
  EXPECT_EQ(half2->subscription().interpretation_percent(), 50u);
  for (auto* l : {plain.get(), half1.get(), half2.get()}) ASSERT_TRUE(l->WaitForSamples(48000, 5s));
  E2eTest::NextLevels(*half1, {kRuHz}, 100);  // past the mix's first frames
  const auto p = E2eTest::NextLevels(*plain, {kFloorHz, kRuHz}, 300);
  const auto h = E2eTest::NextLevels(*half1, {kFloorHz, kRuHz}, 300);
  const auto h2 = E2eTest::NextLevels(*half2, {kFloorHz, kRuHz}, 300);
  std::printf("[ measured ] edge ru at 100 %%: floor %.1f dB, ru %.1f dB; at 50 %%: floor %.1f dB, ru %.1f dB\n", p[0],
              p[1], h[0], h[1]);
  EXPECT_NEAR(p[1], -20, 1.5);
  EXPECT_LT(p[0], -34) << "the channel as is: the floor ducked";
  // As at the origin: half the interpretation, half the floor over the channel's ducked floor.
  EXPECT_NEAR(h[1], -26, 1.5);
  EXPECT_NEAR(h[0], -25, 1.5);
  EXPECT_NEAR(h2[1], -26, 1.5);
  EXPECT_EQ(OriginListeners("ru"), 3u) << "each edge's ru, and edge 1's 50 % mix of it once for both its listeners";

  // The balance stays across a switch: the origin's en mix at 50 %.
  const std::size_t before = half1->Arrivals().size();
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(half1->SwitchChannel("en").ok());
  std::this_thread::sleep_for(500ms);
  E2eTest::NextLevels(*half1, {kEnHz}, 50);
  const auto en = E2eTest::NextLevels(*half1, {kFloorHz, kRuHz, kEnHz}, 300);
  const double gap_ms = LongestGapMs(*half1, before);
  std::printf(
      "[ measured ] switch to en at 50 %% on an edge: longest gap %.1f ms (%.0f ms after the RPC, 500 ms of it "
      "waited); en %.1f dB, floor %.1f dB, ru %.1f dB\n",
      gap_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - asked).count(), en[2], en[0],
      en[1]);
  EXPECT_NEAR(en[2], -26, 1.5);
  EXPECT_NEAR(en[0], -25, 1.5);
  EXPECT_LT(en[1], -60);
  EXPECT_LT(gap_ms, Sanitized() ? 500 : 150) << "the first packets of the origin's en mix, a subscription away";
  for (auto* l : {plain.get(), half1.get(), half2.get()}) {
    EXPECT_EQ(l->stats().auth_failures, 0u);
    EXPECT_EQ(l->stats().wrong_ssrc, 0u);
  }
  EXPECT_EQ(OriginListeners("en"), 3u);
  EXPECT_EQ(OriginListeners("ru"), 3u) << "half2 still hears ru at 50 %";

  // The last listener of each mix gone, the edge ends its subscriptions at the origin.
  half1.reset();
  half2.reset();
  const auto left = std::chrono::steady_clock::now();
  while ((OriginListeners("ru") != 2 || OriginListeners("en") != 2) && std::chrono::steady_clock::now() - left < 5s)
    std::this_thread::sleep_for(50ms);
  std::printf("[ measured ] the edge's balance subscriptions ended at the origin %.0f ms after their last listener\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - left).count());
  EXPECT_EQ(OriginListeners("ru"), 2u);
  EXPECT_EQ(OriginListeners("en"), 2u);
}

TEST_F(EdgeTest, AnEdgeRestartedOnItsStateIsAGapForItsListeners) {
  // Two listeners of edge 1 that need nothing from the edge's new process: ru as is, and ru at
  // 30 % (the origin's mix, subscribed again by the restarted edge).
  auto listen = [&](std::optional<uint32_t> percent) {
    ListenerClient::Options o;
    o.bind_host = host1_.near();
    o.server = edge1_->address();
    o.grpc_channel = edge1_->channel();
    o.session_id = "hall";
    o.channel = "ru";
    o.watch_keys = false;
    o.interpretation_percent = percent;
    std::string error;
    auto l = ListenerClient::Start(o, &error);
    EXPECT_TRUE(l) << error;
    return l;
  };
  auto plain = listen(std::nullopt);
  auto balanced = listen(30);
  ASSERT_TRUE(plain && balanced);
  ASSERT_TRUE(plain->WaitForSamples(48000, 5s) && balanced->WaitForSamples(48000, 5s));
  const std::size_t plain_before = plain->Arrivals().size(), balanced_before = balanced->Arrivals().size();
  const uint64_t packets_before = plain->stats().packets;

  edge1_->Signal(SIGKILL);
  ASSERT_EQ(edge1_->WaitExit(5s), 128 + SIGKILL);
  const auto started = std::chrono::steady_clock::now();
  StartEdge(1);
  ASSERT_TRUE(edge1_->ok()) << "the edge does not start again on its state";
  ASSERT_TRUE(
      plain->WaitForStats([&](const ListenerClient::Stats& st) { return st.packets > packets_before + 100; }, 10s))
      << "the edge's listener never hears it again";
  const auto plain_after = plain->Arrivals(), balanced_after = balanced->Arrivals();
  ASSERT_GT(balanced_after.size(), balanced_before);
  const auto first_back = plain_after[plain_before].arrival;
  const double gap_ms =
      std::chrono::duration<double, std::milli>(first_back - plain_after[plain_before - 1].arrival).count();
  const double from_start_ms = std::chrono::duration<double, std::milli>(first_back - started).count();
  const uint16_t seq_step = uint16_t(plain_after[plain_before].seq - plain_after[plain_before - 1].seq);
  E2eTest::NextLevels(*balanced, {kRuHz}, 100);
  const auto p = E2eTest::NextLevels(*plain, {kRuHz, kFloorHz}, 300);
  const auto b = E2eTest::NextLevels(*balanced, {kRuHz, kFloorHz}, 300);
  std::printf(
      "[ measured ] edge killed and restarted on its state: listener gap %.0f ms (process start -> first packet "
      "%.0f ms), sequence +%u; ru %.1f dB; at 30 %%: ru %.1f dB, floor %.1f dB\n",
      gap_ms, from_start_ms, unsigned(seq_step), p[0], b[0], b[1]);
  EXPECT_EQ(plain->stats().auth_failures, 0u) << "the same SSRC and key, the right ROC";
  EXPECT_EQ(balanced->stats().auth_failures, 0u);
  EXPECT_GT(seq_step, 0u);
  EXPECT_LT(seq_step, 3000u) << "the sequence continues forward (a gap a receiver conceals)";
  EXPECT_LT(from_start_ms, Sanitized() ? 8000 : 3000) << "served again within 3 s of the edge's start";
  EXPECT_NEAR(p[0], -20, 1.5);
  // 30 % of the interpretation (-30.5 dB); 70 % of the floor over 30 % of the ducked one.
  EXPECT_NEAR(b[0], -30.5, 1.5) << "the balance came back with the listener";
  EXPECT_NEAR(b[1], -22.6, 1.5);
  EXPECT_TRUE(plain->ended_reason().empty()) << plain->ended_reason();
}

// ------------------------------------------------------------------ HLS

class EdgeHlsTest : public EdgeTest {
 protected:
  bool WithHls() const override { return true; }

  std::string CaFile() const { return dir_ + "/ca.pem"; }
  // A counter of a node's /metrics (0 when absent).
  double Metric(DaemonProcess& node, const std::string& series) {
    // The origin listens on every address: it is asked on loopback, which its certificate names.
    const std::string base =
        &node == origin_.get() ? "https://127.0.0.1:" + std::to_string(origin_http_port_) + "/" : node.http_url();
    const std::string body = Http(base + "metrics", "GET", "", "", node.admin_token(), CaFile()).body;
    const auto at = body.find(series + " ");
    return at == std::string::npos ? 0 : std::atof(body.c_str() + at + series.size() + 1);
  }
};

TEST_F(EdgeHlsTest, PlayersOnAnEdgeHearTheOriginsHlsAndTheOriginServesEachSegmentOncePerEdge) {
  const std::string edge_hls = edge1_->http_url() + "hls/hall/";
  // The master playlist, as the origin makes it, from the edge.
  const auto master = Http(edge_hls + "master.m3u8", "GET", "", "", "", CaFile());
  ASSERT_EQ(master.status, 200) << master.body;
  EXPECT_EQ(master.content_type, "application/vnd.apple.mpegurl");
  EXPECT_NE(master.body.find(R"(URI="ru/playlist.m3u8")"), std::string::npos) << master.body;
  // Segments come once the origin has written some.
  std::string playlist;
  for (int i = 0; i < 100; ++i) {
    playlist = Http(edge_hls + "ru/playlist.m3u8", "GET", "", "", "", CaFile()).body;
    if (std::count(playlist.begin(), playlist.end(), '\n') > 8 && playlist.find("seg00003.ts") != std::string::npos)
      break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_NE(playlist.find("seg00003.ts"), std::string::npos) << "no ru segments through the edge in 20 s:\n"
                                                             << playlist;
  EXPECT_EQ(Http(edge_hls + "ru/playlist.m3u8", "GET", "", "", "", CaFile()).cache_control, "public, max-age=1")
      << "the origin's Cache-Control reaches the players";

  // Eight players (ffmpeg) at once on edge 1, each playing 4 s of ru from the live edge of the
  // playlist: they ask for the playlist and each new segment together.
  constexpr int kPlayers = 8;
  constexpr int kSeconds = 4;
  std::vector<std::thread> players;
  std::vector<std::vector<float>> heard(kPlayers);
  for (int i = 0; i < kPlayers; ++i)
    players.emplace_back([&, i] {
      heard[i] = ReadFloatsFrom("timeout 40 ffmpeg -hide_banner -loglevel error -nostdin -live_start_index -1 -i '" +
                                edge_hls + "ru/playlist.m3u8' -t " + std::to_string(kSeconds) +
                                " -f f32le -ac 1 -ar 48000 pipe:1");
    });
  for (auto& t : players) t.join();
  for (int i = 0; i < kPlayers; ++i)
    EXPECT_GE(heard[i].size(), std::size_t(48000 * (kSeconds - 0.5))) << "player " << i << " stalled";
  const auto& one = heard[0];
  ASSERT_GE(one.size(), 48000u);
  const double ru = audio::ToneLevelDb(one, kRuHz), floor = audio::ToneLevelDb(one, kFloorHz);
  std::printf("[ measured ] HLS ru through the edge: 880 Hz %.1f dB, 440 Hz %.1f dB\n", ru, floor);
  EXPECT_NEAR(ru, -20, 2) << "the interpreter, as the origin's HLS has it";
  EXPECT_NEAR(floor, -38, 3) << "the floor ducked under the live mic";

  // What each side counted: the edge served every player's segments, the origin each segment
  // to this edge once (the other edge had no player).
  const std::string key = R"({session="hall",channel="ru"})";
  const double served = Metric(*edge1_, "tilmash_hls_segment_requests_total" + key);
  const double origin_served = Metric(*origin_, "tilmash_hls_segment_requests_total" + key);
  const std::string newest = Http(edge_hls + "ru/playlist.m3u8", "GET", "", "", "", CaFile()).body;
  int made = 0;
  static const std::regex seg(R"(seg(\d+)\.ts)");
  for (auto it = std::sregex_iterator(newest.begin(), newest.end(), seg); it != std::sregex_iterator(); ++it)
    made = std::max(made, std::stoi((*it)[1]) + 1);
  std::printf(
      "[ measured ] %d players on an edge: the edge served %.0f ru segments, the origin %.0f (of %d made so far), "
      "%.1f served per origin fetch\n",
      kPlayers, served, origin_served, made, origin_served > 0 ? served / origin_served : 0.0);
  EXPECT_GE(served, kPlayers * kSeconds) << "each player fetched its segments from the edge";
  EXPECT_GT(origin_served, 0);
  EXPECT_LE(origin_served, made) << "the origin served each ru segment to the edge at most once";
  EXPECT_EQ(Metric(*edge2_, "tilmash_hls_segment_requests_total" + key), 0);
  EXPECT_EQ(Metric(*edge1_, "tilmash_hls_relay_failures_total"), 0);
}

}  // namespace
}  // namespace tilmash::testing
