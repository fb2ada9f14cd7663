// HLS for an internet audience through a real cache: Debian's nginx running the shipped
// deploy/nginx/tilmash-hls.conf (only its addresses and cache directory replaced) in front of
// the real daemon, and 1,000 players (tests/support/hls_crowd.js: hls.js's live behaviour, one
// keep-alive connection each) playing a channel for 60 s through it. The origin's own counter
// (tilmash_hls_segment_requests_total) says how often each segment reached it; every player's
// playlist must keep advancing and its buffer never run dry.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// nginx with the shipped site file, on 127.0.0.1:`port`, caching in a directory of its own.
class Nginx {
 public:
  Nginx(const std::string& origin, uint16_t port) {
    char dir[] = "/tmp/tilmash-nginx-XXXXXX";
    if (!mkdtemp(dir)) return;
    dir_ = dir;
    fs::create_directories(dir_ + "/cache");
    fs::create_directories(dir_ + "/logs");
    // nginx's workers run as an unprivileged user when started as root.
    fs::permissions(dir_, fs::perms::all);
    fs::permissions(dir_ + "/cache", fs::perms::all);
    std::string site = ReadAll(std::string(TILMASH_SOURCE_DIR) + "/deploy/nginx/tilmash-hls.conf");
    site = std::regex_replace(site, std::regex("/var/cache/nginx/tilmash-hls"), dir_ + "/cache");
    site = std::regex_replace(site, std::regex("server 127\\.0\\.0\\.1:7380;"), "server " + origin + ";");
    site = std::regex_replace(site, std::regex("listen 8080;"), "listen 127.0.0.1:" + std::to_string(port) + ";");
    site = std::regex_replace(site, std::regex("\n *listen \\[::\\]:8080;"), "");
    replaced_ = site.find(dir_ + "/cache") != std::string::npos && site.find("server " + origin) != std::string::npos;
    std::ofstream(dir_ + "/site.conf") << site;
    std::ofstream(dir_ + "/nginx.conf") << "worker_processes 1;\npid " << dir_ << "/nginx.pid;\nerror_log " << dir_
                                        << "/logs/error.log;\n"
                                        << "events { worker_connections 4096; }\nhttp {\n  access_log off;\n"
                                        << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_
                                        << "/proxy;\n"
                                        << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_
                                        << "/uwsgi;\n"
                                        << "  scgi_temp_path " << dir_ << "/scgi;\n  include " << dir_
                                        << "/site.conf;\n}\n";
    const std::string start = "nginx -c " + dir_ + "/nginx.conf -p " + dir_ + " 2>" + dir_ + "/logs/start.log";
    started_ = std::system(start.c_str()) == 0;
  }
  ~Nginx() {
    if (started_) std::system(("nginx -c " + dir_ + "/nginx.conf -p " + dir_ + " -s stop 2>/dev/null").c_str());
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  bool ok() const { return started_ && replaced_; }
  std::string log() const { return ReadAll(dir_ + "/logs/start.log") + ReadAll(dir_ + "/logs/error.log"); }

 private:
  std::string dir_;
  bool started_ = false, replaced_ = false;
};

class HlsCacheTest : public E2eTest {
 protected:
  HlsCacheTest() : E2eTest({"--hls"}) {}
  double OriginSegments(const std::string& session, const std::string& channel) {
    auto r = Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string series =
        "\ntilmash_hls_segment_requests_total{session=\"" + session + "\",channel=\"" + channel + "\"} ";
    const auto at = r.body.find(series);
    return at == std::string::npos ? 0 : std::strtod(r.body.c_str() + at + series.size(), nullptr);
  }
};

TEST_F(HlsCacheTest, AThousandPlayersThroughNginxCostTheOriginEachSegmentAtMostTwice) {
  auto session = CreateSession({"ru"}, 440);
  const uint16_t port = FreePortRange(1);
  ASSERT_NE(port, 0);
  std::string origin = daemon_.http_url().substr(daemon_.http_url().find("//") + 2);
  if (!origin.empty() && origin.back() == '/') origin.pop_back();
  Nginx nginx(origin, port);
  ASSERT_TRUE(nginx.ok()) << nginx.log();
  const std::string playlist =
      "http://127.0.0.1:" + std::to_string(port) + "/hls/" + session.id() + "/ru/playlist.m3u8";
  // The first segments exist (the origin writes one a second).
  bool listed = false;
  for (int i = 0; i < 100 && !listed; ++i) {
    auto r = Http(playlist, "GET", "", "", "");
    listed = r.status == 200 && r.body.find(".ts") != std::string::npos;
    if (!listed) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(listed) << "no playlist with segments through nginx\n" << nginx.log();
  const double before = OriginSegments(session.id(), "ru");

  constexpr int kPlayers = 1000, kSeconds = 60;
  const std::string cmd = "node " + std::string(TILMASH_SOURCE_DIR) + "/tests/support/hls_crowd.js " + playlist + " " +
                          std::to_string(kPlayers) + " " + std::to_string(kSeconds);
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[65536];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  const double served = OriginSegments(session.id(), "ru") - before;
  const auto crowd = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(crowd.is_discarded()) << out << nginx.log();
  const std::size_t segments = crowd["segments"].size();
  const auto& cache = crowd["cache"];
  const double hits = cache.value("HIT", 0.0), requests = crowd["requests"].get<double>();
  std::cout << "[ measured ] " << kPlayers << " HLS players for " << crowd["seconds"]
            << " s through nginx: " << crowd["requests"] << " requests (" << crowd["segment_requests"] << " segments, "
            << crowd["playlist_requests"] << " playlists), cache " << cache.dump() << "; " << segments
            << " segments played, " << served << " segment requests reached the origin ("
            << served / double(std::max<std::size_t>(segments, 1)) << " per segment); playlist unchanged at most "
            << crowd["playlist_still_ms"]["max"] << " ms; " << crowd["stalled_players"] << " players stalled\n";
  EXPECT_EQ(crowd["errors"].get<int>(), 0) << crowd["error_samples"].dump();
  EXPECT_GE(segments, std::size_t(kSeconds - 5)) << "a segment a second";
  EXPECT_LE(served, 2.0 * double(segments)) << "each segment reached the origin at most twice";
  EXPECT_GT(hits / requests, 0.99) << "what the players asked for came from the cache";
  EXPECT_EQ(crowd["never_played"].get<int>(), 0);
  // A player that joined on a fresh playlist and later met one nginx kept up to 2 s (whole
  // seconds of cache time) can wait a few hundred ms for a segment three segments behind live
  // (seen: 0 to 549 of 1,000 players, at most 372 ms, in one run of a minute); a segment's length
  // of waiting would be a cache that holds playlists too long.
  std::cout << "[ measured ] " << crowd["stalled_players"] << " players waited for a segment, at most "
            << crowd["stalled_ms_max"] << " ms\n";
  EXPECT_LT(crowd["stalled_ms_max"].get<double>(), 1000) << "no player waited a whole segment";
  // hls.js plays three target durations behind the live edge: a playlist that stays unchanged
  // longer than that would empty its buffer.
  EXPECT_LT(crowd["playlist_still_ms"]["max"].get<double>(), 3000) << "every player's playlist kept advancing";
}

}  // namespace
}  // namespace tilmash::testing
