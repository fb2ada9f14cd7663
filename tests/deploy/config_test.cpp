// deploy/tilmashd.yaml is every key at its real default (a test, not a promise), and the
// installed service's own settings load and pass the daemon's checks.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/config.h"

namespace tilmash::daemon {
namespace {

const std::string kDeploy = std::string(TILMASH_SOURCE_DIR) + "/deploy/";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DeployConfig, TheExampleFileHoldsEveryKeyAtItsBuiltInDefault) {
  Config loaded;
  std::string error;
  ASSERT_TRUE(LoadConfigFile(kDeploy + "tilmashd.yaml", &loaded, &error)) << error;
  const Config defaults;
  // Field by field first, so a failure names the key.
  EXPECT_EQ(loaded.grpc_listen, defaults.grpc_listen);
  EXPECT_EQ(loaded.media_address, defaults.media_address);
  EXPECT_EQ(loaded.opus_bitrate, defaults.opus_bitrate);
  EXPECT_EQ(loaded.frame_ms, defaults.frame_ms);
  EXPECT_EQ(loaded.jitter_ms, defaults.jitter_ms);
  EXPECT_EQ(loaded.floor_duck_db, defaults.floor_duck_db);
  EXPECT_EQ(loaded.loudness_target_lufs, defaults.loudness_target_lufs);
  EXPECT_EQ(loaded.hls, defaults.hls);
  EXPECT_EQ(loaded.tls_cert, defaults.tls_cert);
  EXPECT_EQ(loaded.audit_log, defaults.audit_log);
  EXPECT_EQ(loaded.token_secret_file, defaults.token_secret_file);
  EXPECT_EQ(loaded.web_root, defaults.web_root);
  EXPECT_EQ(loaded.state_dir, defaults.state_dir);
  EXPECT_EQ(loaded.rekey_after_packets, defaults.rekey_after_packets);
  EXPECT_TRUE(loaded == defaults) << "some value of deploy/tilmashd.yaml is not the daemon's default";

  // And every key the daemon reads is written out (not left to a comment).
  const std::string text = Read(kDeploy + "tilmashd.yaml");
  for (const auto& key : ConfigKeys())
    EXPECT_TRUE(std::regex_search(text, std::regex("(^|\n)" + key + ":"))) << key << " is missing";
}

TEST(DeployConfig, TheServiceSettingsLoadAndPassTheChecks) {
  Config c;
  std::string error;
  ASSERT_TRUE(LoadConfigFile(kDeploy + "tilmash-service.yaml", &c, &error)) << error;
  EXPECT_EQ(Validate(c), "");
  EXPECT_EQ(c.state_dir, "/var/lib/tilmash") << "the unit's StateDirectory";
  EXPECT_EQ(c.audit_log.rfind("/var/log/tilmash/", 0), 0u) << "the unit's LogsDirectory";
  EXPECT_EQ(c.admin_token_file.rfind("/run/tilmash/", 0), 0u) << "the unit's RuntimeDirectory";
  EXPECT_EQ(c.token_secret_file.rfind("/var/lib/tilmash/", 0), 0u) << "tokens survive a restart";
}

TEST(DeployConfig, APtpDomainOutsideIeee1588sRangeIsRefusedNamingTheKey) {
  Config c;
  for (int ok : {-1, 0, 127}) {
    c.ptp_domain = ok;
    EXPECT_EQ(Validate(c), "") << ok;
  }
  for (int bad : {-2, 128}) {
    c.ptp_domain = bad;
    EXPECT_NE(Validate(c).find("ptp_domain"), std::string::npos) << bad;
  }
}

TEST(DeployConfig, AFanoutRealtimePriorityOutsideSchedFifosRangeIsRefusedNamingTheKey) {
  Config c;
  EXPECT_EQ(c.fanout_realtime_priority, 10) << "SCHED_FIFO 10 by default (the unit's LimitRTPRIO)";
  for (int ok : {0, 1, 99}) {
    c.fanout_realtime_priority = ok;
    EXPECT_EQ(Validate(c), "") << ok;
  }
  for (int bad : {-1, 100}) {
    c.fanout_realtime_priority = bad;
    EXPECT_NE(Validate(c).find("fanout_realtime_priority"), std::string::npos) << bad;
  }
}

TEST(DeployConfig, AnEdgesSettingsAreCheckedNamingTheKey) {
  Config c;
  c.edge_of = "origin.example.org:7300";
  c.edge_token_file = "/etc/tilmash/edge.token";
  c.media_address = "10.0.2.15";
  c.edge_sessions = {"plenary", "hall-b"};
  EXPECT_EQ(Validate(c), "");
  auto refused = [](const Config& bad, const std::string& key) {
    const std::string problem = Validate(bad);
    EXPECT_NE(problem.find(key), std::string::npos) << "'" << problem << "' should name " << key;
  };
  Config no_port = c;
  no_port.edge_of = "origin.example.org";
  refused(no_port, "edge_of");
  Config no_token = c;
  no_token.edge_token_file.clear();
  refused(no_token, "edge_token_file");
  Config plaintext_far = c;
  plaintext_far.edge_plaintext = true;
  refused(plaintext_far, "edge_plaintext");
  Config plaintext_near = c;
  plaintext_near.edge_of = "127.0.0.1:7300";
  plaintext_near.edge_plaintext = true;
  EXPECT_EQ(Validate(plaintext_near), "");
  Config wildcard = c;
  wildcard.media_address = "0.0.0.0";
  refused(wildcard, "media_address");
  Config bad_id = c;
  bad_id.edge_sessions = {"plenary", "Hall B"};
  refused(bad_id, "edge_sessions[1]");
  Config not_an_edge;
  not_an_edge.edge_sessions = {"plenary"};
  refused(not_an_edge, "edge_of");
  // The origin's HLS: over HTTPS, or plain HTTP to a loopback origin; served on this HTTP side.
  Config hls = c;
  hls.edge_hls_origin = "https://origin.example.org:7380";
  EXPECT_EQ(Validate(hls), "");
  Config hls_plain = c;
  hls_plain.edge_hls_origin = "http://origin.example.org:7380";
  refused(hls_plain, "edge_hls_origin");
  Config hls_loopback = c;
  hls_loopback.edge_hls_origin = "http://127.0.0.1:7380";
  EXPECT_EQ(Validate(hls_loopback), "");
  Config hls_no_http = hls;
  hls_no_http.http_listen = "off";
  refused(hls_no_http, "edge_hls_origin");
  Config hls_not_an_edge;
  hls_not_an_edge.edge_hls_origin = "https://origin.example.org:7380";
  refused(hls_not_an_edge, "edge_of");
}

// fanout_threads: auto (the default) is one sender thread per core this process may use; a
// number is taken as is; anything else is refused naming the key, its line and "auto".
TEST(DeployConfig, FanoutThreadsAutoIsOnePerCoreOfTheProcess) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const std::string path = ::testing::TempDir() + "tilmash-fanout-threads.yaml";
  Config c;
  std::string error;
  std::ofstream(path) << "fanout_threads: auto\n";
  ASSERT_TRUE(LoadConfigFile(path, &c, &error)) << error;
  EXPECT_EQ(Validate(c), "");
  EXPECT_EQ(FanoutThreads(c), std::min(CPU_COUNT(&set), 64));
  EXPECT_EQ(FanoutThreads(Config{}), FanoutThreads(c)) << "auto is the default";
  std::ofstream(path) << "fanout_threads: 3\n";
  ASSERT_TRUE(LoadConfigFile(path, &c, &error)) << error;
  EXPECT_EQ(FanoutThreads(c), 3);
  std::ofstream(path) << "frame_ms: 10\nfanout_threads: many\n";
  EXPECT_FALSE(LoadConfigFile(path, &c, &error));
  EXPECT_NE(error.find(path + ":2: fanout_threads"), std::string::npos) << error;
  EXPECT_NE(error.find("auto"), std::string::npos) << error;
  c.fanout_threads = 65;
  EXPECT_NE(Validate(c).find("fanout_threads"), std::string::npos);
}

TEST(DeployConfig, AnUnknownKeyIsRefusedNamingTheKeyTheFileAndTheLine) {
  const std::string path = ::testing::TempDir() + "tilmash-unknown-key.yaml";
  std::ofstream(path) << "frame_ms: 10\nframe_size: 20\n";
  Config c;
  std::string error;
  EXPECT_FALSE(LoadConfigFile(path, &c, &error));
  EXPECT_NE(error.find(path + ":2"), std::string::npos) << error;
  EXPECT_NE(error.find("frame_size"), std::string::npos) << error;
}

}  // namespace
}  // namespace tilmash::daemon
