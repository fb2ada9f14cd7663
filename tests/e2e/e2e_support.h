// Shared steps of the end-to-end tests: a real daemon, real consoles (RtpSender over SRTP)
// and real listeners (ListenerClient: SRTP + Opus), measured with Goertzel filters.
#pragma once
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/shell_output.h"
#include "audio/audio.h"
#include "client/convert.h"
#include "client/listener_client.h"
#include "client/rtp_sender.h"
#include "daemon_process.h"
#include "rtp/srtp_context.h"

namespace tilmash::testing {

using namespace std::chrono_literals;
using client::ListenerClient;
using client::RtpSender;

// True under tools/sanitize, where ASan or TSan make everything 2-10x slower. A few frame-exact
// real-time bounds (a handover's gap, 50 ms event delivery) are then widened (the functional
// assertions stay exact); the normal suite asserts the real bounds.
inline bool Sanitized() { return std::getenv("TILMASH_SANITIZED") != nullptr; }

// The ingest guard's counters for one source ("floor" or a console id), from GetSessionStats.
inline v1::IngestCounters CountersOf(DaemonProcess& d, const std::string& session, const std::string& source) {
  grpc::ClientContext ctx;
  v1::GetSessionStatsRequest req;
  req.set_session_id(session);
  v1::SessionStats stats;
  EXPECT_TRUE(d.sessions().GetSessionStats(&ctx, req, &stats).ok());
  for (const auto& c : stats.ingest())
    if (c.source() == source) return c;
  ADD_FAILURE() << "no ingest counters for " << source;
  return {};
}

// Whether a UDP port on loopback is free.
inline bool CanBind(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// The first of `n` free loopback ports below the range FreePortPair (20000+) and the kernel's
// ephemeral ports (32768+) use, so no other test or socket takes them meanwhile; 0 if none found.
inline uint16_t FreePortRange(int n) {
  for (int i = 0; i < 500; ++i) {
    const uint16_t p = uint16_t(10000 + (rtp::RandomU32() % (10000 - n)));
    bool free = true;
    for (int k = 0; k < n && free; ++k) free = CanBind(uint16_t(p + k));
    if (free) return p;
  }
  return 0;
}

// The local ports of every UDP socket the process `pid` holds (/proc/PID/fd and /proc/net/udp).
inline std::vector<uint16_t> UdpPortsOf(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = opendir(fds.c_str())) {
    while (dirent* e = readdir(d)) {
      char target[128];
      const ssize_t n = readlink((fds + "/" + e->d_name).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      const std::string t(target);
      if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
    }
    closedir(d);
  }
  std::vector<uint16_t> ports;
  std::ifstream udp("/proc/net/udp");
  std::string line;
  std::getline(udp, line);  // header
  while (std::getline(udp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    in >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    if (inodes.count(inode)) ports.push_back(uint16_t(std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
  }
  return ports;
}

// An even port with its RTCP neighbour free (ffmpeg binds both).
inline uint16_t FreePortPair() {
  for (int i = 0; i < 200; ++i) {
    uint16_t p = uint16_t(20000 + 2 * (rtp::RandomU32() % 20000));
    if (CanBind(p) && CanBind(uint16_t(p + 1))) return p;
  }
  return 0;
}

class E2eTest : public ::testing::Test {
 protected:
  explicit E2eTest(std::vector<std::string> daemon_args = {}, bool capture_stderr = false)
      : daemon_(std::move(daemon_args), capture_stderr) {}
  void SetUp() override { ASSERT_TRUE(daemon_.ok()) << "tilmashd did not start"; }
  void TearDown() override { EXPECT_EQ(daemon_.Stop(), 0) << "tilmashd must exit cleanly on SIGTERM"; }

  v1::Session CreateSession(const std::vector<std::string>& languages, std::optional<double> floor_tone_hz,
                            const std::string& floor_language = "") {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_name("e2e");
    req.set_floor_language(floor_language);
    for (auto& l : languages) req.add_languages(l);
    if (floor_tone_hz)
      req.mutable_floor_source()->mutable_tone()->set_frequency_hz(*floor_tone_hz);
    else
      req.mutable_floor_source()->mutable_rtp();
    v1::Session s;
    auto st = daemon_.sessions().CreateSession(&ctx, req, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }

  v1::MintTokenResponse Mint(v1::Role role, const std::string& session, const std::string& booth = "",
                             const std::vector<std::string>& channels = {}, uint32_t max_streams = 0) {
    grpc::ClientContext ctx;
    v1::MintTokenRequest req;
    req.set_role(role);
    req.set_subject(v1::Role_Name(role) + "-badge");
    req.set_session_id(session);
    req.set_booth(booth);
    for (auto& c : channels) req.add_channels(c);
    req.set_max_streams(max_streams);
    v1::MintTokenResponse r;
    auto st = daemon_.tokens().MintToken(&ctx, req, &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }

  v1::JoinConsoleResponse Join(const std::string& session, const std::string& booth) {
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id(session);
    req.set_booth(booth);
    v1::JoinConsoleResponse resp;
    auto st = daemon_.booths().JoinConsole(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // A console streaming a tone over SRTP to its ingest, as a real desk would.
  std::unique_ptr<RtpSender> Speak(const v1::IngestEndpoint& ingest, double hz, double dbfs = -20) {
    auto s = std::make_unique<RtpSender>(client::IngestFromProto(ingest));
    s->SetTone(hz, dbfs);
    std::string error;
    EXPECT_TRUE(s->Start(&error)) << error;
    return s;
  }

  v1::Session GetSession(const std::string& session) {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    req.set_session_id(session);
    v1::Session s;
    EXPECT_TRUE(daemon_.sessions().GetSession(&ctx, req, &s).ok());
    return s;
  }

  grpc::Status SetMic(const std::string& session, const std::string& console, bool live) {
    grpc::ClientContext ctx;
    v1::SetMicRequest req;
    req.set_session_id(session);
    req.set_console_id(console);
    req.set_live(live);
    v1::Console c;
    return daemon_.booths().SetMic(&ctx, req, &c);
  }

  std::unique_ptr<ListenerClient> Listen(const std::string& session, const std::string& channel,
                                         v1::CryptoSuite suite = v1::AES_CM_128_HMAC_SHA1_80,
                                         std::optional<std::vector<uint8_t>> key_override = std::nullopt) {
    ListenerClient::Options o;
    o.server = daemon_.address();
    o.grpc_channel = daemon_.channel();
    o.session_id = session;
    o.channel = channel;
    o.suite = suite;
    o.key_override = std::move(key_override);
    std::string error;
    auto l = ListenerClient::Start(o, &error);
    EXPECT_TRUE(l) << error;
    return l;
  }

 public:
  // Levels (dBFS) of `hz` in the next `ms` of audio the listener (or a return feed's
  // StreamReceiver) decodes from now on.
  template <class Receiver>
  static std::vector<double> NextLevels(Receiver& l, const std::vector<double>& hz, int ms = 200) {
    const std::size_t start = l.SampleCount();
    const std::size_t n = std::size_t(ms) * 48;
    EXPECT_TRUE(l.WaitForSamples(start + n, 5s + std::chrono::milliseconds(ms))) << "no audio reached the listener";
    auto x = l.Samples(start, n);
    std::vector<double> out;
    for (double f : hz) out.push_back(audio::ToneLevelDb(x, f));
    return out;
  }

 protected:
  DaemonProcess daemon_;
};

}  // namespace tilmash::testing
