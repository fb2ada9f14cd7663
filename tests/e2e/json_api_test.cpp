// tilmash.v1 as JSON over HTTP (/api/v1), through a real HTTP client against the real daemon:
// the same rules and the same errors as gRPC, each naming what is wrong.
#include <nlohmann/json.hpp>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

using nlohmann::json;

class JsonApiTest : public E2eTest {
 protected:
  HttpReply Call(const std::string& method, const json& body, const std::string& token) {
    return Http(daemon_.http_url() + "api/v1/" + method, "POST", "application/json", body.dump(), token);
  }
};

TEST_F(JsonApiTest, RpcsAnswerAsJsonWithTheGrpcRulesAndErrorsThatNameTheField) {
  const v1::Session s = CreateSession({"ru"}, 440.0);
  ASSERT_FALSE(s.id().empty());
  const std::string admin = daemon_.admin_token();

  auto r = Call("SessionService/GetSession", {{"sessionId", s.id()}}, admin);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["id"], s.id());
  EXPECT_EQ(j["channels"].size(), 2u) << "floor and ru";

  r = Call("SessionService/GetSession", {{"sessionId", s.id()}}, "");
  EXPECT_EQ(r.status, 401) << "no token";
  r = Call("SessionService/GetSession", {{"sesionId", s.id()}}, admin);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("sesionId"), std::string::npos) << "the unknown field is named: " << r.body;
  EXPECT_EQ(json::parse(r.body)["code"], "INVALID_ARGUMENT");
  r = Call("BoothService/GetBooth", {{"sessionId", s.id()}, {"booth", "xx"}}, admin);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("xx"), std::string::npos) << r.body;
  r = Call("BoothService/NoSuchCall", json::object(), admin);
  EXPECT_EQ(r.status, 501);
  r = Call("TokenService/MintToken", json::object(), admin);
  EXPECT_EQ(r.status, 404) << "tokens are minted over gRPC only";

  // The role matrix applies: an interpreter bound to ru may not create sessions, and may not
  // reach another booth's console.
  const std::string ru = Mint(v1::INTERPRETER, s.id(), "ru").token();
  r = Call("SessionService/CreateSession", {{"name", "x"}, {"languages", {"en"}}}, ru);
  EXPECT_EQ(r.status, 403) << r.body;
  auto en_join = Join(s.id(), "ru");
  r = Call("BoothService/SetMic", {{"sessionId", s.id()}, {"consoleId", en_join.console().id()}, {"live", true}}, ru);
  EXPECT_EQ(r.status, 200) << "its own booth: " << r.body;
  EXPECT_EQ(json::parse(r.body)["mic"], "MIC_LIVE");
}

TEST_F(JsonApiTest, AServerStreamArrivesAsServerSentEvents) {
  const v1::Session s = CreateSession({"ru"}, 440.0);
  ASSERT_FALSE(s.id().empty());
  // libsoup's client reads the whole body: the stream ends when the session does.
  std::thread ender([&] {
    std::this_thread::sleep_for(500ms);
    auto c = Join(s.id(), "ru");
    SetMic(s.id(), c.console().id(), true);
    std::this_thread::sleep_for(200ms);
    grpc::ClientContext ctx;
    v1::EndSessionRequest req;
    req.set_session_id(s.id());
    v1::EndSessionResponse resp;
    daemon_.sessions().EndSession(&ctx, req, &resp);
  });
  auto r = Call("BoothService/WatchBooth", {{"sessionId", s.id()}, {"booth", "ru"}}, daemon_.admin_token());
  ender.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_NE(r.body.find("event: message\ndata: {"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"mic\":\"MIC_LIVE\""), std::string::npos) << "the mic press arrived as an event";
  EXPECT_NE(r.body.find("event: end\n"), std::string::npos) << "the stream's end is an event too";
}

}  // namespace
}  // namespace tilmash::testing
