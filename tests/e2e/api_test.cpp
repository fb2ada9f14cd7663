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

// A 10,000-character field comes back as INVALID_ARGUMENT with a short message (it used to
// overflow the client's metadata limit and arrive as RESOURCE_EXHAUSTED).
TEST_F(E2eTest, AHugeFieldGetsAShortErrorThatNamesIt) {
  auto session = CreateSession({"ru"}, 440);
  const std::string huge(10000, 'x');
  for (const std::string& field : {std::string("language"), std::string("session_id")}) {
    grpc::ClientContext ctx;
    v1::AddChannelRequest req;
    req.set_session_id(field == "session_id" ? huge : session.id());
    req.set_language(field == "language" ? huge : "kk");
    v1::Channel c;
    const auto st = daemon_.sessions().AddChannel(&ctx, req, &c);
    EXPECT_EQ(st.error_code(), field == "language" ? grpc::StatusCode::INVALID_ARGUMENT : grpc::StatusCode::NOT_FOUND)
        << st.error_message().substr(0, 300);
    EXPECT_LT(st.error_message().size(), 200u) << st.error_message().substr(0, 300);
  }
  grpc::ClientContext ctx;
  v1::GetSessionRequest get;
  get.set_session_id(huge);
  v1::Session s;
  const auto st = daemon_.sessions().GetSession(&ctx, get, &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "session_id: no session '" + std::string(64, 'x') + "...'");
}

// What the API says is what it means: an unset field is absent, 0 dB is 0 dB, a duplicate
// language names its position once.
TEST_F(E2eTest, TheApiSaysWhatItMeans) {
  {  // A plain RTP floor has no srtp block at all; an SRTP floor has one, with its key for the caller.
    auto plain = CreateSession({"ru"}, std::nullopt);
    EXPECT_TRUE(plain.has_floor_ingest());
    EXPECT_FALSE(plain.floor_ingest().has_srtp());
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(plain.id());
    req.mutable_source()->mutable_rtp()->set_srtp(true);
    v1::Session s;
    ASSERT_TRUE(daemon_.sessions().SetFloorSource(&ctx, req, &s).ok());
    EXPECT_TRUE(s.floor_ingest().has_srtp());
    EXPECT_EQ(s.floor_ingest().srtp().master_key().size(), 30u);
  }
  {  // floor_duck_db: unset is -18 dB, 0 is no ducking, in CreateSession and AddChannel alike.
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.add_languages("ru");
    req.set_floor_duck_db(0);
    v1::Session s;
    ASSERT_TRUE(daemon_.sessions().CreateSession(&ctx, req, &s).ok());
    EXPECT_EQ(s.channels(1).floor_duck_db(), 0.0);
    grpc::ClientContext add_ctx;
    v1::AddChannelRequest add;
    add.set_session_id(s.id());
    add.set_language("kk");
    v1::Channel kk;
    ASSERT_TRUE(daemon_.sessions().AddChannel(&add_ctx, add, &kk).ok());
    EXPECT_EQ(kk.floor_duck_db(), 0.0) << "the session's default";
    auto defaults = CreateSession({"ru"}, 440);
    EXPECT_EQ(defaults.channels(1).floor_duck_db(), -18.0);
    grpc::ClientContext duck_ctx;
    v1::SetChannelDuckingRequest duck;
    duck.set_session_id(s.id());
    duck.set_language("ru");
    v1::Channel c;
    ExpectStatus(daemon_.sessions().SetChannelDucking(&duck_ctx, duck, &c), grpc::StatusCode::INVALID_ARGUMENT,
                 "floor_duck_db is required");
  }
  {  // A duplicate language names where it is, once.
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.add_languages("ru");
    req.add_languages("RU");
    v1::Session s;
    const auto st = daemon_.sessions().CreateSession(&ctx, req, &s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(st.error_message(), "languages[1]: channel 'ru' already exists");
  }
}

TEST_F(E2eTest, AnOperatorChosenSessionIdNamesTheSessionEverywhere) {
  grpc::ClientContext ctx;
  v1::CreateSessionRequest req;
  req.set_session_id("plenary");
  req.set_name("Plenary, day 1");
  req.add_languages("ru");
  req.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
  v1::Session s;
  auto st = daemon_.sessions().CreateSession(&ctx, req, &s);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(s.id(), "plenary");
  auto l = Listen("plenary", "floor");
  ASSERT_TRUE(l);
  EXPECT_GT(NextLevels(*l, {440})[0], -30) << "a listener of 'plenary' hears its floor";
  for (const std::string& id : {std::string("plenary"), std::string("../plenary")}) {
    grpc::ClientContext again;
    req.set_session_id(id);
    v1::Session other;
    auto refused = daemon_.sessions().CreateSession(&again, req, &other);
    EXPECT_EQ(refused.error_code(),
              id == "plenary" ? grpc::StatusCode::ALREADY_EXISTS : grpc::StatusCode::INVALID_ARGUMENT)
        << id << ": " << refused.error_message();
    EXPECT_EQ(refused.error_message().rfind("session_id: ", 0), 0u) << refused.error_message();
  }
}

TEST_F(E2eTest, CreatingASessionWithAnSrtpFloorAnswersWithTheDesksKey) {
  grpc::ClientContext ctx;
  v1::CreateSessionRequest req;
  req.set_name("SRTP desk");
  req.add_languages("ru");
  req.mutable_floor_source()->mutable_rtp()->set_srtp(true);
  v1::Session s;
  ASSERT_TRUE(daemon_.sessions().CreateSession(&ctx, req, &s).ok());
  ASSERT_TRUE(s.floor_ingest().has_srtp());
  EXPECT_EQ(s.floor_ingest().srtp().master_key().size(), 30u) << "the creator sets up the desk with this key";
  auto desk = Speak(s.floor_ingest(), 660);
  auto l = Listen(s.id(), "floor");
  ASSERT_TRUE(l);
  EXPECT_GT(NextLevels(*l, {660})[0], -30) << "the desk, keyed from CreateSession's answer, is heard";
  EXPECT_EQ(CountersOf(daemon_, s.id(), "floor").dropped_srtp_auth(), 0u);
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
