// Every request is authenticated and authorised: the whole RPC x role matrix, token failures,
// bindings (session, booth, channels, streams), revocation, the audit log, TLS.
#include <grpcpp/generic/generic_stub.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "auth/token.h"
#include "e2e_support.h"
#include "grpc/authz.h"

namespace tilmash::testing {
namespace {

using auth::Role;

const std::vector<std::pair<Role, v1::Role>> kRoles = {
    {Role::kAdmin, v1::ADMIN},       {Role::kOperator, v1::OPERATOR},
    {Role::kChair, v1::CHAIR},       {Role::kInterpreter, v1::INTERPRETER},
    {Role::kDelegate, v1::DELEGATE}, {Role::kViewer, v1::VIEWER}};

class SecurityTest : public E2eTest {
 protected:
  // Calls any unary RPC by name with an empty request, as the holder of `token`.
  grpc::Status Call(const std::string& token, const std::string& rpc) {
    auto channel = daemon_.ChannelWith(token);
    const auto dot = rpc.find('.');
    const std::string method = "/tilmash.v1." + rpc.substr(0, dot) + "/" + rpc.substr(dot + 1);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    if (rpc == "SessionService.WatchSession") {
      auto r = v1::SessionService::NewStub(channel)->WatchSession(&ctx, v1::WatchSessionRequest());
      return r->Finish();
    }
    if (rpc == "BoothService.WatchBooth") {
      auto r = v1::BoothService::NewStub(channel)->WatchBooth(&ctx, v1::WatchBoothRequest());
      return r->Finish();
    }
    if (rpc == "ListenerService.WatchKeys") {
      auto r = v1::ListenerService::NewStub(channel)->WatchKeys(&ctx, v1::WatchKeysRequest());
      return r->Finish();
    }
    grpc::GenericStub stub(channel);
    grpc::Slice empty("");  // an empty proto message: every field at its default
    grpc::ByteBuffer request(&empty, 1), response;
    // A completion queue drained on this thread, not the callback API: the callback runs on a
    // gRPC thread whose hand-over (inside libgrpc) ThreadSanitizer cannot see.
    grpc::CompletionQueue cq;
    auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
    call->StartCall();
    grpc::Status status;
    call->Finish(&response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) status = grpc::Status(grpc::StatusCode::INTERNAL, "completion queue shut down");
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }
};

TEST_F(SecurityTest, TheMatrixNamesEveryRpcOfTheApi) {
  const auto& matrix = auth::Access::Matrix();
  std::size_t methods = 0;
  for (const char* service :
       {"SessionService", "BoothService", "ListenerService", "TokenService", "AuditService", "RecordingService"}) {
    auto* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string("tilmash.v1.") + service);
    ASSERT_NE(d, nullptr) << service;
    for (int i = 0; i < d->method_count(); ++i, ++methods)
      EXPECT_TRUE(matrix.count(std::string(service) + "." + d->method(i)->name())) << d->method(i)->name();
  }
  EXPECT_EQ(matrix.size(), methods);
}

TEST_F(SecurityTest, EveryRpcTimesEveryRoleIsAllowedOrDeniedAsTheMatrixSays) {
  auto session = CreateSession({"ru"}, 440);
  std::map<Role, std::string> tokens;
  for (auto [role, proto] : kRoles) tokens[role] = Mint(proto, session.id(), "ru").token();
  int checked = 0;
  for (const auto& [rpc, rule] : auth::Access::Matrix()) {
    for (auto [role, proto] : kRoles) {
      const auto st = Call(tokens[role], rpc);
      EXPECT_NE(st.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << rpc << " as " << role << ": " << st.error_message();
      if (rule.roles.count(role))
        EXPECT_NE(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << rpc << " must be allowed for " << role << ": " << st.error_message();
      else
        EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << rpc << " must be denied for " << role << ": " << st.error_message();
      ++checked;
    }
  }
  std::cout << "[ measured ] authorisation matrix: " << checked << " RPC x role pairs\n";
  EXPECT_GE(checked, 30 * 6);
}

TEST_F(SecurityTest, MissingExpiredForgedAndRevokedTokensAreUnauthenticated) {
  auto session = CreateSession({"ru"}, 440);
  EXPECT_EQ(Call("", "SessionService.ListSessions").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call("not.a.jwt", "SessionService.ListSessions").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Signed with another key: a forgery.
  auth::TokenAuthority forger(std::vector<uint8_t>(32, 7));
  auth::Claims c;
  c.role = Role::kAdmin;
  c.subject = "mallory";
  c.expires = std::chrono::system_clock::now() + std::chrono::hours(1);
  auto forged = Call(forger.Mint(c), "SessionService.ListSessions");
  EXPECT_EQ(forged.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(forged.error_message().find("signature"), std::string::npos) << forged.error_message();
  // The admin token with its signature cut off and "alg":"none" is refused too.
  const std::string admin = daemon_.admin_token();
  const std::string unsigned_token =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" + admin.substr(admin.find('.'), admin.rfind('.') - admin.find('.')) + ".";
  EXPECT_EQ(Call(unsigned_token, "SessionService.ListSessions").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto op = Mint(v1::OPERATOR, "");
  EXPECT_TRUE(Call(op.token(), "SessionService.ListSessions").ok());
  grpc::ClientContext ctx;
  v1::RevokeTokenRequest req;
  req.set_token_id(op.token_id());
  v1::RevokeTokenResponse r;
  ASSERT_TRUE(daemon_.tokens().RevokeToken(&ctx, req, &r).ok());
  auto revoked = Call(op.token(), "SessionService.ListSessions");
  EXPECT_EQ(revoked.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(revoked.error_message().find("revoked"), std::string::npos);
}

TEST_F(SecurityTest, TokensAreBoundToTheirSessionBoothChannelsAndStreams) {
  auto a = CreateSession({"ru", "kk"}, 440);
  auto b = CreateSession({"ru"}, 440);
  auto ru_console = Join(a.id(), "ru");
  auto kk_console = Join(a.id(), "kk");
  auto interpreter = daemon_.ChannelWith(Mint(v1::INTERPRETER, a.id(), "ru").token());
  auto booth = v1::BoothService::NewStub(interpreter);
  auto mic = [&](const std::string& session, const std::string& console) {
    grpc::ClientContext ctx;
    v1::SetMicRequest req;
    req.set_session_id(session);
    req.set_console_id(console);
    req.set_live(true);
    v1::Console c;
    return booth->SetMic(&ctx, req, &c);
  };
  EXPECT_TRUE(mic(a.id(), ru_console.console().id()).ok());
  EXPECT_EQ(mic(a.id(), kk_console.console().id()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(mic(b.id(), ru_console.console().id()).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto delegate_token = Mint(v1::DELEGATE, a.id(), "", {"ru"}, 1).token();
  ListenerClient::Options o;
  o.grpc_channel = daemon_.ChannelWith(delegate_token);
  o.session_id = a.id();
  o.channel = "kk";
  std::string error;
  EXPECT_FALSE(ListenerClient::Start(o, &error));
  EXPECT_NE(error.find("PERMISSION_DENIED"), std::string::npos) << error;
  o.channel = "ru";
  auto first = ListenerClient::Start(o, &error);
  ASSERT_TRUE(first) << error;
  EXPECT_FALSE(ListenerClient::Start(o, &error)) << "max_streams is 1";
  EXPECT_NE(error.find("RESOURCE_EXHAUSTED"), std::string::npos) << error;
  EXPECT_EQ(first->SwitchChannel("kk").error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SecurityTest, RevokingADelegateStopsItsStreamWithinOneSecond) {
  auto session = CreateSession({"ru"}, 440);
  auto minted = Mint(v1::DELEGATE, session.id(), "", {}, 2);
  ListenerClient::Options o;
  o.grpc_channel = daemon_.ChannelWith(minted.token());
  o.session_id = session.id();
  o.channel = "ru";
  std::string error;
  auto l = ListenerClient::Start(o, &error);
  ASSERT_TRUE(l) << error;
  EXPECT_GT(NextLevels(*l, {440})[0], -26);
  const auto revoke_at = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  v1::RevokeTokenRequest req;
  req.set_token_id(minted.token_id());
  v1::RevokeTokenResponse r;
  ASSERT_TRUE(daemon_.tokens().RevokeToken(&ctx, req, &r).ok());
  EXPECT_EQ(r.streams_stopped(), 1u);
  const uint64_t packets = l->stats().packets;
  // Packets already in flight may land; after that nothing more may come.
  EXPECT_FALSE(l->WaitForStats([&](const auto& s) { return s.packets > packets + 10; }, 1s));
  auto arrivals = l->Arrivals();
  ASSERT_FALSE(arrivals.empty());
  const double last_ms = std::chrono::duration<double, std::milli>(arrivals.back().arrival - revoke_at).count();
  std::cout << "[ measured ] last packet " << last_ms << " ms after RevokeToken\n";
  EXPECT_LT(last_ms, 1000.0);
  l->Stop(false);
}

TEST_F(SecurityTest, StaffActionsAreAudited) {
  auto session = CreateSession({"ru"}, 440);
  auto chair = daemon_.ChannelWith(Mint(v1::CHAIR, session.id()).token());
  {
    grpc::ClientContext ctx;
    v1::SetFloorLanguageRequest req;
    req.set_session_id(session.id());
    req.set_language("kk");
    v1::Session s;
    ASSERT_TRUE(v1::SessionService::NewStub(chair)->SetFloorLanguage(&ctx, req, &s).ok());
  }
  grpc::ClientContext ctx;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(v1::AuditService::NewStub(daemon_.channel())->ListAudit(&ctx, v1::ListAuditRequest(), &audit).ok());
  bool created = false, floor = false;
  for (const auto& e : audit.entries()) {
    created = created || (e.action() == "SessionService.CreateSession" && e.role() == v1::ADMIN && e.result() == "OK");
    floor = floor || (e.action() == "SessionService.SetFloorLanguage" && e.role() == v1::CHAIR &&
                      e.subject() == "CHAIR-badge" && e.target() == session.id());
  }
  EXPECT_TRUE(created);
  EXPECT_TRUE(floor);
}

TEST(DaemonSecurity, PlaintextIsRefusedOffLoopbackAndTlsWorks) {
  const std::string bin = BinDir() + "/tilmashd";
  EXPECT_NE(std::system((bin + " --state-dir none --plaintext --grpc-listen 0.0.0.0:0 >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(std::system((bin + " --state-dir none --grpc-listen 127.0.0.1:0 >/dev/null 2>&1").c_str()), 0)
      << "TLS needs a certificate";
  char dir[] = "/tmp/tilmash-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  const std::string pki = "cd " + d +
                          " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tilmash-test-ca "
                          "-keyout ca.key -out ca.pem 2>/dev/null"
                          " && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key "
                          "-out server.csr 2>/dev/null"
                          " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext"
                          " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
                          "-extfile san.ext -out server.pem 2>/dev/null";
  ASSERT_EQ(std::system(pki.c_str()), 0);
  DaemonProcess tls({"--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key"});
  // DaemonProcess talks plaintext; the TLS daemon refuses that (local credentials need a local server).
  ASSERT_TRUE(tls.ok());
  client::Credentials good;
  good.ca_file = d + "/ca.pem";
  good.token = tls.admin_token();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::ListSessionsResponse r;
  auto st = v1::SessionService::NewStub(client::ConnectWith(tls.address(), good))
                ->ListSessions(&ctx, v1::ListSessionsRequest(), &r);
  EXPECT_TRUE(st.ok()) << st.error_message();
  client::Credentials no_ca = good;
  no_ca.ca_file.clear();
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + 3s);
  EXPECT_FALSE(v1::SessionService::NewStub(client::ConnectWith(tls.address(), no_ca))
                   ->ListSessions(&ctx2, v1::ListSessionsRequest(), &r)
                   .ok())
      << "a client that does not trust the CA does not connect";

  // A renewed certificate (another CA here, so the change is visible): written over the old
  // files, then SIGHUP as logrotate or certbot would send; new connections get it.
  const std::string renew = "cd " + d +
                            " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tilmash-test-ca2 "
                            "-keyout ca2.key -out ca2.pem 2>/dev/null"
                            " && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout new.key "
                            "-out new.csr 2>/dev/null"
                            " && openssl x509 -req -in new.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial -days 1 "
                            "-extfile san.ext -out new.pem 2>/dev/null"
                            " && cp new.key server.key && cp new.pem server.pem";
  ASSERT_EQ(std::system(renew.c_str()), 0);
  tls.Signal(SIGHUP);
  client::Credentials renewed = good;
  renewed.ca_file = d + "/ca2.pem";
  auto list_with = [&](const client::Credentials& c) {
    grpc::ClientContext ctx3;
    ctx3.set_deadline(std::chrono::system_clock::now() + 2s);
    return v1::SessionService::NewStub(client::ConnectWith(tls.address(), c, /*own_connection=*/true))
        ->ListSessions(&ctx3, v1::ListSessionsRequest(), &r);
  };
  const auto t0 = std::chrono::steady_clock::now();
  grpc::Status with_new = list_with(renewed);
  while (!with_new.ok() && std::chrono::steady_clock::now() - t0 < 5s) {
    std::this_thread::sleep_for(100ms);
    with_new = list_with(renewed);
  }
  EXPECT_TRUE(with_new.ok()) << "a new connection gets the renewed certificate: " << with_new.error_message();
  std::cout << "[ measured ] renewed certificate in use "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s after SIGHUP\n";
  EXPECT_FALSE(list_with(good).ok()) << "and no longer the old one";
  EXPECT_TRUE(tls.Alive());
  EXPECT_EQ(tls.Stop(), 0);
  std::system(("rm -rf " + d).c_str());
}

}  // namespace
}  // namespace tilmash::testing
