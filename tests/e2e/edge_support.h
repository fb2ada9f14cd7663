// The edge tests' world: an origin with a floor tone and two live interpreters, and two edges
// mirroring it, each edge in a network namespace of its own behind a veth (a host of its own:
// its own address, routes and loopback), every gRPC connection over TLS. A fixture with HLS
// also gives the origin an HTTPS side with HLS, and the edges the origin's HLS to serve on
// their own HTTPS side.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {

constexpr double kFloorHz = 440, kRuHz = 880, kEnHz = 660;

inline std::string EdgeTempDir() {
  char dir[] = "/tmp/tilmash-edge-XXXXXX";
  return mkdtemp(dir) ? std::string(dir) : std::string();
}

inline uint16_t FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// One edge's host: a network namespace joined to this one by a veth, 10.9N.X.1 here and
// 10.9N.X.2 there.
class EdgeHost {
 public:
  explicit EdgeHost(int n) {
    const std::string id = std::to_string(::getpid() % 100000);
    ns_ = "tilmash-edge" + std::to_string(n) + "-" + id;
    here_ = "tedg" + std::to_string(n) + "a" + id;
    const std::string there = "tedg" + std::to_string(n) + "b" + id;
    const std::string net = "10.9" + std::to_string(n) + "." + std::to_string(1 + ::getpid() % 250) + ".";
    near_ = net + "1";
    far_ = net + "2";
    const std::string setup = "ip netns add " + ns_ + " && ip link add " + here_ + " type veth peer name " + there +
                              " && ip link set " + there + " netns " + ns_ + " && ip addr add " + near_ + "/24 dev " +
                              here_ + " && ip link set " + here_ + " up && ip netns exec " + ns_ + " ip addr add " +
                              far_ + "/24 dev " + there + " && ip netns exec " + ns_ + " ip link set " + there +
                              " up && ip netns exec " + ns_ + " ip link set lo up";
    ok_ = std::system(setup.c_str()) == 0;
  }
  ~EdgeHost() { std::system(("ip link del " + here_ + " 2>/dev/null; ip netns del " + ns_ + " 2>/dev/null").c_str()); }
  bool ok() const { return ok_; }
  const std::string& ns() const { return ns_; }
  const std::string& near() const { return near_; }  // this side's address (the origin, the test's listeners)
  const std::string& far() const { return far_; }    // the edge's

 private:
  std::string ns_, here_, near_, far_;
  bool ok_ = false;
};

class EdgeTest : public ::testing::Test {
 protected:
  // True: the origin has HLS on an HTTPS side on every address, the edges serve it
  // (--edge-hls-origin) on an HTTPS side on their own address.
  virtual bool WithHls() const { return false; }

  void SetUp() override {
    dir_ = EdgeTempDir();
    ASSERT_FALSE(dir_.empty());
    ASSERT_TRUE(host1_.ok() && host2_.ok()) << "cannot make the edges' network namespaces (ip netns needs root)";
    // One certificate for every node, naming every address a node is dialled on.
    const std::string pki =
        "cd " + dir_ +
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tilmash-edge-test-ca -keyout ca.key "
        "-out ca.pem 2>/dev/null && openssl req -newkey rsa:2048 -nodes -subj /CN=tilmash -keyout node.key "
        "-out node.csr 2>/dev/null && printf 'subjectAltName=IP:127.0.0.1,IP:" +
        host1_.near() + ",IP:" + host1_.far() + ",IP:" + host2_.near() + ",IP:" + host2_.far() +
        "' > san.ext && openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile "
        "san.ext -out node.pem 2>/dev/null";
    ASSERT_EQ(std::system(pki.c_str()), 0) << "openssl could not make the test's certificates";
    origin_port_ = FreeTcpPort();
    origin_http_port_ = WithHls() ? FreeTcpPort() : 0;
    StartOrigin();
    // The hall: a floor tone, ru and en interpreters live.
    {
      grpc::ClientContext ctx;
      v1::CreateSessionRequest req;
      req.set_session_id("hall");
      req.set_name("Main hall");
      req.set_floor_language("kk");
      req.add_languages("ru");
      req.add_languages("en");
      req.set_loudness_target_lufs(0);  // levels as sent
      req.mutable_floor_source()->mutable_tone()->set_frequency_hz(kFloorHz);
      v1::Session s;
      ASSERT_TRUE(origin_->sessions().CreateSession(&ctx, req, &s).ok());
    }
    ru_ = Interpreter("ru", kRuHz);
    en_ = Interpreter("en", kEnHz);
    // Each edge's token: role edge, every session; its subject names it in the origin's metrics.
    for (const char* name : {"edge-1", "edge-2"}) {
      grpc::ClientContext ctx;
      v1::MintTokenRequest req;
      req.set_role(v1::EDGE);
      req.set_subject(name);
      v1::MintTokenResponse minted;
      const grpc::Status st = origin_->tokens().MintToken(&ctx, req, &minted);
      ASSERT_TRUE(st.ok()) << st.error_message();
      std::ofstream(dir_ + "/" + name + ".token") << minted.token() << "\n";
    }
    for (int n : {1, 2}) {
      StartEdge(n);
      ASSERT_TRUE(EdgeOf(n)->ok()) << "edge " << n << " did not start";
    }
    ASSERT_TRUE(Mirrored(*edge1_, host1_) && Mirrored(*edge2_, host2_))
        << "the edges do not mirror the hall within 5 s";
  }
  void TearDown() override {
    ru_.reset();
    en_.reset();
    for (auto* edge : {&edge1_, &edge2_})
      if (*edge) {
        EXPECT_EQ((*edge)->Stop(), 0) << "an edge must exit cleanly on SIGTERM";
      }
    if (origin_) {
      EXPECT_EQ(origin_->Stop(), 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // The origin on every address of this host (the edges dial it on their veth's near side),
  // sending its listener streams from any of them.
  void StartOrigin() {
    std::vector<std::string> args{"--grpc-listen",       "0.0.0.0:" + std::to_string(origin_port_),
                                  "--tls-cert",          dir_ + "/node.pem",
                                  "--tls-key",           dir_ + "/node.key",
                                  "--media-address",     "0.0.0.0",
                                  "--state-dir",         dir_ + "/state",
                                  "--token-secret-file", dir_ + "/token.key"};
    if (WithHls())
      args.insert(args.end(), {"--hls", "--http-listen", "0.0.0.0:" + std::to_string(origin_http_port_),
                               "--http-tls-cert", dir_ + "/node.pem", "--http-tls-key", dir_ + "/node.key"});
    origin_ = std::make_unique<DaemonProcess>(args, false, DaemonLaunch{{}, dir_ + "/ca.pem"});
    ASSERT_TRUE(origin_->ok()) << "the origin did not start";
  }
  std::unique_ptr<DaemonProcess>& EdgeOf(int n) { return n == 1 ? edge1_ : edge2_; }
  // Edge `n` (1 or 2) in its namespace, its gRPC on a fixed port there (a restarted edge is
  // where its listeners knew it) and its state in a directory of its own.
  void StartEdge(int n) {
    const EdgeHost& host = n == 1 ? host1_ : host2_;
    const std::string name = dir_ + "/edge-" + std::to_string(n);
    std::vector<std::string> args{"--edge-of", OriginSeenFrom(host), "--edge-token-file", name + ".token",
                                  "--edge-ca-file", dir_ + "/ca.pem", "--media-address", host.far(), "--grpc-listen",
                                  host.far() + ":7300", "--tls-cert", dir_ + "/node.pem", "--tls-key",
                                  dir_ + "/node.key", "--state-dir", name + "-state",
                                  // The origin's key, as the README deploys edges: its tokens are valid here.
                                  "--token-secret-file", dir_ + "/token.key",
                                  // Venue multicast from the edge, out of its veth to this side.
                                  "--multicast-group", "239.255.42.9", "--multicast-port", "47360"};
    if (WithHls())
      args.insert(args.end(), {"--edge-hls-origin", "https://" + host.near() + ":" + std::to_string(origin_http_port_),
                               "--http-listen", host.far() + ":0", "--http-tls-cert", dir_ + "/node.pem",
                               "--http-tls-key", dir_ + "/node.key"});
    else
      args.insert(args.end(), {"--http-listen", "127.0.0.1:0"});
    EdgeOf(n) = std::make_unique<DaemonProcess>(args, false,
                                                DaemonLaunch{{"ip", "netns", "exec", host.ns()}, dir_ + "/ca.pem"});
  }
  std::string OriginSeenFrom(const EdgeHost& host) const { return host.near() + ":" + std::to_string(origin_port_); }

  std::unique_ptr<RtpSender> Interpreter(const std::string& booth, double hz) {
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id("hall");
    req.set_booth(booth);
    v1::JoinConsoleResponse joined;
    EXPECT_TRUE(origin_->booths().JoinConsole(&ctx, req, &joined).ok());
    auto voice = std::make_unique<RtpSender>(client::IngestFromProto(joined.ingest()));
    voice->SetTone(hz, -20);
    std::string error;
    EXPECT_TRUE(voice->Start(&error)) << error;
    grpc::ClientContext mctx;
    v1::SetMicRequest mic;
    mic.set_session_id("hall");
    mic.set_console_id(joined.console().id());
    mic.set_live(true);
    v1::Console c;
    EXPECT_TRUE(origin_->booths().SetMic(&mctx, mic, &c).ok());
    return voice;
  }

  // The edge lists the hall as mirrored from the origin, with its three channels.
  bool Mirrored(DaemonProcess& edge, const EdgeHost& host) {
    for (int i = 0; i < 50; ++i) {
      grpc::ClientContext ctx;
      v1::ListSessionsResponse r;
      if (edge.sessions().ListSessions(&ctx, {}, &r).ok())
        for (const auto& s : r.sessions())
          if (s.id() == "hall" && s.mirror_of() == OriginSeenFrom(host) && s.channels_size() == 3) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // A listener of `node` on this host (at `bind_host`: the edge's veth, or loopback for the origin).
  std::unique_ptr<ListenerClient> Listen(DaemonProcess& node, const std::string& channel,
                                         const std::string& bind_host = "127.0.0.1") {
    ListenerClient::Options o;
    o.bind_host = bind_host;
    o.server = node.address();
    o.grpc_channel = node.channel();
    o.session_id = "hall";
    o.channel = channel;
    std::string error;
    auto l = ListenerClient::Start(o, &error);
    EXPECT_TRUE(l) << error;
    return l;
  }

  uint32_t OriginListeners(const std::string& channel) {
    const v1::Session s = GetSessionOf(*origin_);
    for (const auto& c : s.channels())
      if (c.language() == channel) return c.listener_count();
    return 0;
  }
  static v1::Session GetSessionOf(DaemonProcess& d) {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    req.set_session_id("hall");
    v1::Session s;
    EXPECT_TRUE(d.sessions().GetSession(&ctx, req, &s).ok());
    return s;
  }

  std::string dir_;
  uint16_t origin_port_ = 0, origin_http_port_ = 0;
  EdgeHost host1_{1}, host2_{2};  // before the daemons: they go first
  std::unique_ptr<DaemonProcess> origin_, edge1_, edge2_;
  std::unique_ptr<RtpSender> ru_, en_;
};

}  // namespace tilmash::testing
