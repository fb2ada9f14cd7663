// grpc.health.v1, server reflection and /healthz, asked by clients Tilmash did not write:
// Debian's python3-grpcio (tests/e2e/tools/grpc_probe.py) without a token, and libsoup.
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

}  // namespace
}  // namespace tilmash::testing
