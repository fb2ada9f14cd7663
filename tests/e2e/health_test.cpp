// grpc.health.v1, server reflection and /healthz, asked by clients Tilmash did not write:
// Debian's python3-grpcio (tests/e2e/tools/grpc_probe.py) without a token, and libsoup; and by
// `tilmashctl health`, the Kubernetes exec probe of deploy/k8s, whose exit code is the verdict.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

// The probe's output (trimmed): "SERVING", "NOT_SERVING", service names, or "ERROR ...".
std::string Probe(const std::string& address, const std::string& what) {
  const std::string cmd = "/usr/bin/python3 " + std::string(TILMASH_SOURCE_DIR) + "/tests/e2e/tools/grpc_probe.py " +
                          address + " " + what + " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct Ran {
  std::string out;  // stdout and stderr, trimmed
  int code = -1;    // exit code, -1 when it did not exit
};

// `tilmashctl ARGS health HEALTH_ARGS` as a probe runs it: no token, nothing from the environment.
Ran TilmashctlHealth(const std::string& args, const std::string& health_args = "") {
  const std::string cmd = "env -u TILMASH_TOKEN -u TILMASH_TOKEN_FILE -u TILMASH_CA -u TILMASH_PLAINTEXT " + BinDir() +
                          "/tilmashctl " + args + " health " + health_args + " 2>&1";
  Ran ran;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return ran;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) ran.out += buf;
  const int status = pclose(p);
  ran.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!ran.out.empty() && (ran.out.back() == '\n' || ran.out.back() == ' ')) ran.out.pop_back();
  return ran;
}

class HealthTest : public E2eTest {
 protected:
  HealthTest() : E2eTest({"--drain-s", "30"}) {}
  void TearDown() override {
    daemon_.Signal(SIGTERM);  // the second one ends the drain at once
    EXPECT_EQ(daemon_.WaitExit(5s), 0);
  }
};

TEST_F(HealthTest, HealthAndReflectionAnswerWithoutATokenAndDrainingIsNotServing) {
  EXPECT_EQ(Probe(daemon_.address(), "health"), "SERVING");
  EXPECT_EQ(Http(daemon_.http_url() + "healthz").status, 200);

  const std::string services = Probe(daemon_.address(), "list");
  for (const char* s : {"tilmash.v1.SessionService", "tilmash.v1.BoothService", "tilmash.v1.ListenerService",
                        "tilmash.v1.TokenService", "grpc.health.v1.Health"})
    EXPECT_NE(services.find(s), std::string::npos) << s << " not in:\n" << services;

  daemon_.Signal(SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  std::string health = "SERVING";
  while (health == "SERVING" && std::chrono::steady_clock::now() - t0 < 3s) {
    health = Probe(daemon_.address(), "health");
    if (health == "SERVING") std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(health, "NOT_SERVING");
  const auto healthz = Http(daemon_.http_url() + "healthz");
  EXPECT_EQ(healthz.status, 503) << healthz.body;
  EXPECT_EQ(healthz.body, "not serving\n");
  EXPECT_TRUE(daemon_.Alive()) << "draining, not gone";
}

TEST_F(HealthTest, TilmashctlHealthExitsZeroWhenServingOneWhileDrainingAndTwoWhenNothingAnswers) {
  const std::string daemon = "--server " + daemon_.address() + " --plaintext";
  const Ran serving = TilmashctlHealth(daemon);
  EXPECT_EQ(serving.out, "SERVING");
  EXPECT_EQ(serving.code, 0);
  const Ran unknown = TilmashctlHealth(daemon, "--service no.such.Service");
  EXPECT_NE(unknown.out.find("NOT_FOUND"), std::string::npos) << unknown.out;
  EXPECT_EQ(unknown.code, 1) << "the daemon answered: not a connection problem";

  daemon_.Signal(SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  Ran draining = serving;
  while (draining.out == "SERVING" && std::chrono::steady_clock::now() - t0 < 3s) draining = TilmashctlHealth(daemon);
  EXPECT_EQ(draining.out, "NOT_SERVING");
  EXPECT_EQ(draining.code, 1);
  EXPECT_TRUE(daemon_.Alive()) << "draining, not gone";

  // A loopback port that is bound but not listening: the connection is refused, and no other
  // process can take the port while the socket holds it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const Ran unreachable = TilmashctlHealth("--server 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + " --plaintext");
  close(fd);
  EXPECT_EQ(unreachable.code, 2) << unreachable.out;
  EXPECT_NE(unreachable.out.find("error: Check: UNAVAILABLE"), std::string::npos) << unreachable.out;
}

}  // namespace
}  // namespace tilmash::testing
