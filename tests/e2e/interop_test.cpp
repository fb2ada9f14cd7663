// A foreign receiver plays what Subscribe returns: the SDP with a=crypto goes to ffmpeg.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "e2e_support.h"
#include "rtp/srtp_context.h"

namespace tilmash::testing {
namespace {

TEST_F(E2eTest, SubscribeSdpPlaysInFfmpeg) {
  if (std::system("command -v ffmpeg >/dev/null 2>&1") != 0)
    GTEST_FAIL() << "ffmpeg is not installed (tools/setup installs it)";
  auto session = CreateSession({"ru"}, 660);
  const uint16_t port = FreePortPair();
  ASSERT_NE(port, 0);
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_session_id(session.id());
  req.set_channel("ru");
  req.mutable_endpoint()->set_host("127.0.0.1");
  req.mutable_endpoint()->set_port(port);
  v1::SubscribeResponse sub;
  ASSERT_TRUE(daemon_.listeners().Subscribe(&ctx, req, &sub).ok());
  EXPECT_NE(sub.sdp().find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), std::string::npos);

  char dir[] = "/tmp/tilmash-sdp-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string sdp = std::string(dir) + "/ru.sdp", wav = std::string(dir) + "/ru.wav";
  std::ofstream(sdp) << sub.sdp();
  const std::string cmd =
      "timeout 20 ffmpeg -hide_banner -loglevel error -nostdin -protocol_whitelist file,udp,rtp -i " + sdp +
      " -t 1.5 -ac 1 -ar 48000 -y " + wav;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  int rate = 0;
  auto pcm = audio::ReadWav(wav, &rate);
  ASSERT_TRUE(pcm.has_value());
  ASSERT_EQ(rate, 48000);
  ASSERT_GT(pcm->size(), 48000u);
  std::span<const float> tail(pcm->data() + pcm->size() - 24000, 24000);
  EXPECT_NEAR(audio::DominantFrequency(tail), 660, 5);
  EXPECT_GT(audio::ToneLevelDb(tail, 660), -26);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace tilmash::testing
