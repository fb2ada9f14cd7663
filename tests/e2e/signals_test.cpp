// The daemon's signals, end to end: SIGHUP (logrotate) reopens the audit log and never exits;
// SIGTERM drains (health NOT_SERVING, new Subscribes UNAVAILABLE, running listeners go on) for
// --drain-s, then exits 0; a second SIGTERM ends the drain at once.
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

// grpc.health.v1.Health/Check for the whole server (service ""): 1 SERVING, 2 NOT_SERVING,
// 0 unknown, -1 when the call failed. Raw bytes: HealthCheckRequest{} is empty and the
// response is field 1 (status) as a varint.
int Health(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 2s);
  grpc::Slice empty{std::string()};
  grpc::ByteBuffer request(&empty, 1), response;
  const grpc::internal::RpcMethod method("/grpc.health.v1.Health/Check", grpc::internal::RpcMethod::NORMAL_RPC);
  auto st = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(channel.get(), method, &ctx, request,
                                                                                  &response);
  if (!st.ok()) return -1;
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string AuditPath() {
  static const std::string path = "/tmp/tilmash-audit-" + std::to_string(getpid()) + ".jsonl";
  return path;
}

class SighupTest : public E2eTest {
 protected:
  SighupTest() : E2eTest({"--audit-log", AuditPath()}) {}
  void TearDown() override {
    E2eTest::TearDown();
    std::remove(AuditPath().c_str());
    std::remove((AuditPath() + ".1").c_str());
  }
};

// Ends a session: an audited call whose entry names the session.
void EndSession(DaemonProcess& d, const std::string& id) {
  grpc::ClientContext ctx;
  v1::EndSessionRequest req;
  req.set_session_id(id);
  v1::EndSessionResponse resp;
  EXPECT_TRUE(d.sessions().EndSession(&ctx, req, &resp).ok());
}

TEST_F(SighupTest, SighupReopensTheAuditLogAfterARotationAndNeverExits) {
  const std::string before = CreateSession({"ru"}, 440).id();
  EndSession(daemon_, before);
  ASSERT_EQ(std::rename(AuditPath().c_str(), (AuditPath() + ".1").c_str()), 0);  // logrotate's mv
  daemon_.Signal(SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (access(AuditPath().c_str(), F_OK) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(access(AuditPath().c_str(), F_OK), 0) << "SIGHUP made a new audit log at the configured path";
  EXPECT_TRUE(daemon_.Alive()) << "SIGHUP never ends the daemon";
  daemon_.Signal(SIGHUP);  // twice in a row: still alive
  const std::string after = CreateSession({"kk"}, 440).id();
  EndSession(daemon_, after);
  EXPECT_TRUE(daemon_.Alive());
  const std::string rotated = ReadAll(AuditPath() + ".1"), fresh = ReadAll(AuditPath());
  EXPECT_NE(rotated.find(before), std::string::npos) << "the old entries stay in the rotated file";
  EXPECT_EQ(rotated.find(after), std::string::npos);
  EXPECT_NE(fresh.find(after), std::string::npos) << "new entries land in the new file";
  EXPECT_EQ(fresh.find(before), std::string::npos);
}

// The subject of the certificate the HTTPS side presents to a new connection (openssl s_client).
std::string HttpsSubject(int port) {
  const std::string cmd =
      "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " 2>/dev/null | grep '^subject='";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  return out;
}

TEST(SighupTls, SighupGivesNewHttpsConnectionsTheRenewedCertificate) {
  char dir[] = "/tmp/tilmash-https-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  const std::string make = "cd " + d +
                           " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=first-cert "
                           "-keyout key.pem -out cert.pem 2>/dev/null"
                           " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=renewed-cert "
                           "-keyout new.key -out new.pem 2>/dev/null";
  ASSERT_EQ(std::system(make.c_str()), 0);
  DaemonProcess daemon(
      {"--http-listen", "127.0.0.1:0", "--http-tls-cert", d + "/cert.pem", "--http-tls-key", d + "/key.pem"});
  ASSERT_TRUE(daemon.ok());
  ASSERT_GT(daemon.http_port(), 0);
  EXPECT_NE(HttpsSubject(daemon.http_port()).find("first-cert"), std::string::npos);
  ASSERT_EQ(std::system(("cd " + d + " && cp new.key key.pem && cp new.pem cert.pem").c_str()), 0);
  daemon.Signal(SIGHUP);
  std::string subject;
  const auto t0 = std::chrono::steady_clock::now();
  while (subject.find("renewed-cert") == std::string::npos && std::chrono::steady_clock::now() - t0 < 3s) {
    std::this_thread::sleep_for(50ms);
    subject = HttpsSubject(daemon.http_port());
  }
  EXPECT_NE(subject.find("renewed-cert"), std::string::npos) << subject;
  EXPECT_TRUE(daemon.Alive());
  EXPECT_EQ(daemon.Stop(), 0);
  std::system(("rm -rf " + d).c_str());
}

class DrainTest : public E2eTest {
 protected:
  DrainTest() : E2eTest({"--drain-s", "2"}) {}
};

TEST_F(DrainTest, SigtermDrainsForDrainSecondsWhileRunningListenersGoOn) {
  auto session = CreateSession({"ru"}, 440);
  auto l = Listen(session.id(), "floor");
  ASSERT_TRUE(l);
  EXPECT_GT(NextLevels(*l, {440})[0], -30);
  EXPECT_EQ(Health(daemon_.channel()), 1) << "SERVING before the signal";

  const auto t0 = std::chrono::steady_clock::now();
  daemon_.Signal(SIGTERM);
  int health = 1;
  while (health == 1 && std::chrono::steady_clock::now() - t0 < 1s) health = Health(daemon_.channel());
  EXPECT_EQ(health, 2) << "NOT_SERVING while draining";
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id(session.id());
    req.set_channel("ru");
    req.mutable_endpoint()->set_host("127.0.0.1");
    req.mutable_endpoint()->set_port(40000);
    v1::SubscribeResponse resp;
    auto st = daemon_.listeners().Subscribe(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    EXPECT_NE(st.error_message().find("draining"), std::string::npos) << st.error_message();
  }
  EXPECT_GT(NextLevels(*l, {440}, 300)[0], -30) << "a running listener keeps hearing its channel";
  EXPECT_TRUE(daemon_.Alive());
  const int code = daemon_.WaitExit(6s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ measured ] SIGTERM with --drain-s 2: exited " << code << " after " << took << " s\n";
  EXPECT_EQ(code, 0);
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 5.0);
}

class LongDrainTest : public E2eTest {
 protected:
  LongDrainTest() : E2eTest({"--drain-s", "60"}) {}
};

TEST_F(LongDrainTest, ASecondSigtermEndsTheDrainAtOnce) {
  daemon_.Signal(SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  while (Health(daemon_.channel()) == 1 && std::chrono::steady_clock::now() - t0 < 2s)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(daemon_.Alive()) << "draining, not gone";
  const auto t1 = std::chrono::steady_clock::now();
  daemon_.Signal(SIGTERM);
  EXPECT_EQ(daemon_.WaitExit(4s), 0);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::cout << "[ measured ] second SIGTERM -> exit: " << took << " s\n";
  EXPECT_LT(took, 3.0);
}

}  // namespace
}  // namespace tilmash::testing
