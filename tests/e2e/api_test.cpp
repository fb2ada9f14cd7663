// Invalid requests get the right gRPC status with a message that names the field.
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

void ExpectStatus(const grpc::Status& st, grpc::StatusCode code, const std::string& field) {
  EXPECT_EQ(st.error_code(), code) << st.error_message();
  EXPECT_NE(st.error_message().find(field), std::string::npos)
      << "message '" << st.error_message() << "' should name " << field;
}

TEST_F(E2eTest, InvalidArgumentsNameTheField) {
  {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.add_languages("en");
    req.add_languages("english please");
    v1::Session s;
    ExpectStatus(daemon_.sessions().CreateSession(&ctx, req, &s), grpc::StatusCode::INVALID_ARGUMENT, "languages");
  }
  {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_floor_duck_db(12);
    v1::Session s;
    ExpectStatus(daemon_.sessions().CreateSession(&ctx, req, &s), grpc::StatusCode::INVALID_ARGUMENT, "floor_duck_db");
  }
  auto session = CreateSession({"ru"}, 440);
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id(session.id());
    req.set_channel("ru");
    req.mutable_endpoint()->set_host("127.0.0.1");
    req.mutable_endpoint()->set_port(0);
    v1::SubscribeResponse r;
    ExpectStatus(daemon_.listeners().Subscribe(&ctx, req, &r), grpc::StatusCode::INVALID_ARGUMENT, "endpoint.port");
  }
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id(session.id());
    req.set_channel("ru");
    req.mutable_endpoint()->set_host("not-an-address");
    req.mutable_endpoint()->set_port(5004);
    v1::SubscribeResponse r;
    ExpectStatus(daemon_.listeners().Subscribe(&ctx, req, &r), grpc::StatusCode::INVALID_ARGUMENT, "endpoint.host");
  }
  {
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(session.id());
    req.mutable_source()->mutable_tone()->set_frequency_hz(50000);
    v1::Session s;
    ExpectStatus(daemon_.sessions().SetFloorSource(&ctx, req, &s), grpc::StatusCode::INVALID_ARGUMENT, "frequency_hz");
  }
  {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    v1::Session s;
    ExpectStatus(daemon_.sessions().GetSession(&ctx, req, &s), grpc::StatusCode::INVALID_ARGUMENT, "session_id");
  }
}

TEST_F(E2eTest, UnknownSessionChannelConsoleListenerAreNotFound) {
  auto session = CreateSession({"ru"}, 440);
  {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    req.set_session_id("s-missing");
    v1::Session s;
    ExpectStatus(daemon_.sessions().GetSession(&ctx, req, &s), grpc::StatusCode::NOT_FOUND, "session_id");
  }
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id(session.id());
    req.set_channel("fr");
    req.mutable_endpoint()->set_host("127.0.0.1");
    req.mutable_endpoint()->set_port(5004);
    v1::SubscribeResponse r;
    ExpectStatus(daemon_.listeners().Subscribe(&ctx, req, &r), grpc::StatusCode::NOT_FOUND, "channel");
  }
  ExpectStatus(SetMic(session.id(), "c-missing", true), grpc::StatusCode::NOT_FOUND, "console_id");
  {
    grpc::ClientContext ctx;
    v1::SwitchChannelRequest req;
    req.set_session_id(session.id());
    req.set_listener_id("l-missing");
    req.set_channel("ru");
    v1::SwitchChannelResponse r;
    ExpectStatus(daemon_.listeners().SwitchChannel(&ctx, req, &r), grpc::StatusCode::NOT_FOUND, "listener_id");
  }
  {
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id(session.id());
    req.set_booth("de");
    v1::JoinConsoleResponse r;
    ExpectStatus(daemon_.booths().JoinConsole(&ctx, req, &r), grpc::StatusCode::NOT_FOUND, "booth");
  }
}

TEST_F(E2eTest, WatchSessionStreamsMicAndListenerChanges) {
  auto session = CreateSession({"ru"}, 440);
  auto console = Join(session.id(), "ru");
  grpc::ClientContext ctx;
  v1::WatchSessionRequest req;
  req.set_session_id(session.id());
  auto reader = daemon_.sessions().WatchSession(&ctx, req);
  v1::SessionEvent ev;
  // The stream opens with a snapshot of every channel's source.
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_TRUE(ev.has_channel_source());
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  bool mic = false, source = false;
  while ((!mic || !source) && reader->Read(&ev)) {
    if (ev.has_mic() && ev.mic().mic() == v1::MIC_LIVE) mic = true;
    if (ev.has_channel_source() && ev.channel_source().live_console_id() == console.console().id()) source = true;
  }
  EXPECT_TRUE(mic && source);
  auto l = Listen(session.id(), "ru");
  bool counted = false;
  while (!counted && reader->Read(&ev))
    counted = ev.has_listeners() && ev.listeners().channel() == "ru" && ev.listeners().count() == 1;
  EXPECT_TRUE(counted);
  ctx.TryCancel();
}

}  // namespace
}  // namespace tilmash::testing
