// State that survives the process: kill -9 and a start with the same flags bring back every
// session, channel, console (same ids, same ingest port, mic still live) and listener (same
// SSRC and key, sequence forward), measured at a real SRTP listener and at ffmpeg playing the
// SDP it was given before the restart; a revoked token stays revoked.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "e2e_support.h"
#include "rtp/srtp_context.h"

namespace tilmash::testing {
namespace {

constexpr double kFloorHz = 440, kVoiceHz = 880;

std::string TempDir() {
  char dir[] = "/tmp/tilmash-restart-XXXXXX";
  return mkdtemp(dir) ? std::string(dir) : std::string();
}

std::vector<std::string> Flags(const std::string& state) {
  return {"--state-dir", state + "/state", "--token-secret-file", state + "/token.key"};
}

TEST(Restart, Kill9BringsEverythingBackAndListenersHearItWithTheirOldKeys) {
  if (std::system("command -v ffmpeg >/dev/null 2>&1") != 0) GTEST_FAIL() << "ffmpeg is not installed";
  const std::string state = TempDir();
  ASSERT_FALSE(state.empty());
  auto first = std::make_unique<DaemonProcess>(Flags(state));
  ASSERT_TRUE(first->ok());

  // A session with an operator-chosen id, a floor tone, a live interpreter on "ru".
  v1::Session session;
  {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_session_id("plenary");
    req.set_name("Plenary");
    req.add_languages("ru");
    req.mutable_floor_source()->mutable_tone()->set_frequency_hz(kFloorHz);
    ASSERT_TRUE(first->sessions().CreateSession(&ctx, req, &session).ok());
  }
  v1::JoinConsoleResponse console;
  {
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id("plenary");
    req.set_booth("ru");
    ASSERT_TRUE(first->booths().JoinConsole(&ctx, req, &console).ok());
  }
  RtpSender voice(client::IngestFromProto(console.ingest()));
  voice.SetTone(kVoiceHz, -20);
  std::string error;
  ASSERT_TRUE(voice.Start(&error)) << error;
  {
    grpc::ClientContext ctx;
    v1::SetMicRequest req;
    req.set_session_id("plenary");
    req.set_console_id(console.console().id());
    req.set_live(true);
    v1::Console c;
    ASSERT_TRUE(first->booths().SetMic(&ctx, req, &c).ok());
  }
  // A token minted and revoked before the crash.
  std::string revoked_token;
  {
    grpc::ClientContext ctx;
    v1::MintTokenRequest req;
    req.set_role(v1::DELEGATE);
    req.set_subject("lost-badge");
    req.set_session_id("plenary");
    v1::MintTokenResponse minted;
    ASSERT_TRUE(first->tokens().MintToken(&ctx, req, &minted).ok());
    revoked_token = minted.token();
    grpc::ClientContext rctx;
    v1::RevokeTokenRequest revoke;
    revoke.set_token_id(minted.token_id());
    v1::RevokeTokenResponse r;
    ASSERT_TRUE(first->tokens().RevokeToken(&rctx, revoke, &r).ok());
  }
  // Two listeners: ours on "ru" (no key stream: it must need nothing from the new process),
  // and ffmpeg playing the SDP of a floor listener.
  ListenerClient::Options o;
  o.server = first->address();
  o.grpc_channel = first->channel();
  o.session_id = "plenary";
  o.channel = "ru";
  o.watch_keys = false;
  auto listener = ListenerClient::Start(o, &error);
  ASSERT_TRUE(listener) << error;
  const uint16_t ffmpeg_port = FreePortPair();
  ASSERT_NE(ffmpeg_port, 0);
  v1::SubscribeResponse floor_sub;
  {
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id("plenary");
    req.set_channel("floor");
    req.mutable_endpoint()->set_host("127.0.0.1");
    req.mutable_endpoint()->set_port(ffmpeg_port);
    ASSERT_TRUE(first->listeners().Subscribe(&ctx, req, &floor_sub).ok());
  }
  const std::string sdp = state + "/floor.sdp", wav = state + "/floor.wav";
  std::ofstream(sdp) << floor_sub.sdp();
  const std::string ffmpeg =
      "timeout 25 ffmpeg -hide_banner -loglevel error -nostdin -protocol_whitelist file,udp,rtp -i " + sdp +
      " -t 5 -ac 1 -ar 48000 -y " + wav + " >" + state + "/ffmpeg.log 2>&1";
  int ffmpeg_code = -1;
  std::thread ffmpeg_thread([&] { ffmpeg_code = std::system(ffmpeg.c_str()); });

  ASSERT_TRUE(listener->WaitForSamples(48000, 5s)) << "no audio before the restart";
  const auto before = E2eTest::NextLevels(*listener, {kVoiceHz, kFloorHz}, 200);
  EXPECT_GT(before[0], -26) << "the interpreter is on air before the restart";

  // kill -9, then the same command line.
  first->Signal(SIGKILL);
  ASSERT_EQ(first->WaitExit(5s), 128 + SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const std::size_t arrivals_before = listener->Arrivals().size();
  const uint64_t packets_before = listener->stats().packets;
  const auto started_at = std::chrono::steady_clock::now();
  auto second = std::make_unique<DaemonProcess>(Flags(state));
  ASSERT_TRUE(second->ok()) << "the daemon does not start again on its state directory";

  // Everything is back: same ids, same ingest port, the mic still live, the listener counted.
  {
    grpc::ClientContext ctx;
    v1::GetSessionRequest req;
    req.set_session_id("plenary");
    v1::Session back;
    ASSERT_TRUE(second->sessions().GetSession(&ctx, req, &back).ok());
    ASSERT_EQ(back.consoles_size(), 1);
    EXPECT_EQ(back.consoles(0).id(), console.console().id());
    EXPECT_EQ(back.consoles(0).mic(), v1::MIC_LIVE);
    ASSERT_EQ(back.channels_size(), 2);
    EXPECT_EQ(back.channels(1).language(), "ru");
    EXPECT_EQ(back.channels(1).live_console_id(), console.console().id());
    EXPECT_EQ(back.channels(1).listener_count(), 1u);
    EXPECT_EQ(back.channels(0).listener_count(), 1u);
  }
  // The listener hears the interpreter again on its old SSRC and key, without doing anything.
  ASSERT_TRUE(
      listener->WaitForStats([&](const ListenerClient::Stats& s) { return s.packets > packets_before + 50; }, 10s))
      << "no packets reached the old listener after the restart";
  const auto arrivals = listener->Arrivals();
  const auto& last_old = arrivals[arrivals_before - 1];
  const auto& first_new = arrivals[arrivals_before];
  const double gap_ms = std::chrono::duration<double, std::milli>(first_new.arrival - last_old.arrival).count();
  const double from_start_ms = std::chrono::duration<double, std::milli>(first_new.arrival - started_at).count();
  const double from_kill_ms = std::chrono::duration<double, std::milli>(first_new.arrival - killed_at).count();
  const uint16_t seq_step = uint16_t(first_new.seq - last_old.seq);
  std::printf(
      "restart: listener gap %.0f ms (kill -> first packet %.0f ms, process start -> first packet %.0f ms), "
      "sequence +%u\n",
      gap_ms, from_kill_ms, from_start_ms, unsigned(seq_step));
  EXPECT_LT(from_start_ms, Sanitized() ? 6000 : 2000) << "the listener is served again within 2 s of the start";
  EXPECT_GT(seq_step, 0u);
  EXPECT_LT(seq_step, 3000u) << "the sequence continues forward (a gap a receiver conceals)";
  EXPECT_EQ(listener->stats().auth_failures, 0u) << "same key, right ROC";
  const auto after = E2eTest::NextLevels(*listener, {kVoiceHz, kFloorHz}, 300);
  EXPECT_GT(after[0], -26) << "the live mic stayed live: the interpreter (its sender never stopped) is heard";
  EXPECT_LT(after[1], after[0] - 10) << "the floor stays ducked under the interpreter";

  // The revoked token stays revoked.
  {
    auto channel = second->ChannelWith(revoked_token);
    auto stub = v1::ListenerService::NewStub(channel);
    grpc::ClientContext ctx;
    v1::SubscribeRequest req;
    req.set_session_id("plenary");
    req.set_channel("ru");
    req.mutable_endpoint()->set_host("127.0.0.1");
    req.mutable_endpoint()->set_port(9);
    v1::SubscribeResponse r;
    const auto st = stub->Subscribe(&ctx, req, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  }

  // ffmpeg, given its SDP before the restart, plays the floor after it.
  ffmpeg_thread.join();
  EXPECT_EQ(ffmpeg_code, 0) << ffmpeg;
  int rate = 0;
  auto pcm = audio::ReadWav(wav, &rate);
  ASSERT_TRUE(pcm.has_value());
  ASSERT_GT(pcm->size(), 48000u);
  std::span<const float> tail(pcm->data() + pcm->size() - 24000, 24000);
  EXPECT_GT(audio::ToneLevelDb(tail, kFloorHz), -26) << "ffmpeg hears the floor after the restart";
  listener->Stop(false);
  voice.Stop();
  second.reset();
  first.reset();
  std::system(("rm -rf " + state).c_str());
}

TEST(Restart, AStateDirectoryThatCannotBeUsedStopsTheStartWithItsName) {
  const std::string dir = TempDir();
  ASSERT_FALSE(dir.empty());
  const std::string bin = BinDir() + "/tilmashd";
  auto start = [&](const std::string& state) {
    const std::string cmd = bin + " --plaintext --grpc-listen 127.0.0.1:0 --http-listen off --state-dir " + state +
                            " >/dev/null 2>" + dir + "/err";
    const int code = std::system(cmd.c_str());
    std::ifstream in(dir + "/err");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(code, text);
  };
  // A corrupt database.
  ASSERT_EQ(std::system(
                ("mkdir -p " + dir + "/corrupt && head -c 8192 /dev/urandom > " + dir + "/corrupt/tilmash.db").c_str()),
            0);
  auto [code, err] = start(dir + "/corrupt");
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find(dir + "/corrupt/tilmash.db"), std::string::npos) << err;
  EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
  // A path that is a file, not a directory.
  ASSERT_EQ(std::system(("touch " + dir + "/file").c_str()), 0);
  std::tie(code, err) = start(dir + "/file");
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find(dir + "/file is not a directory"), std::string::npos) << err;
  // A read-only directory (root ignores permissions: a read-only bind is not available here,
  // so this part runs only for other users).
  if (geteuid() != 0) {
    ASSERT_EQ(std::system(("mkdir -p " + dir + "/ro && chmod 500 " + dir + "/ro").c_str()), 0);
    std::tie(code, err) = start(dir + "/ro");
    EXPECT_NE(code, 0);
    EXPECT_NE(err.find("not writable"), std::string::npos) << err;
  }
  std::system(("chmod -R u+w " + dir + "; rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace tilmash::testing
