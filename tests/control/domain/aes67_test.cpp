// The AES67 sender's SDP as the floor reads it: what a Dante/RAVENNA device announces (session
// and media c= lines, fractional packet times, SSM source filters), and what it refuses.
#include "domain/aes67.h"

#include <gtest/gtest.h>

namespace tilmash::domain {
namespace {

TEST(Aes67SdpTest, ADanteStyleAnnouncementIsRead) {
  const std::string sdp =
      "v=0\r\no=- 1423986 1423994 IN IP4 169.254.98.63\r\ns=AOIP44-serial-1614 : 2\r\n"
      "c=IN IP4 239.65.125.63/32\r\nt=0 0\r\na=keywds:Dante\r\nm=audio 5004 RTP/AVP 97\r\ni=2 channels: TxChan 0, "
      "TxChan 1\r\n"
      "a=recvonly\r\na=rtpmap:97 L24/48000/2\r\na=ptime:0.125\r\n"
      "a=source-filter: incl IN IP4 239.65.125.63 169.254.98.63\r\n"
      "a=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-0E-10-C4:0\r\na=mediaclk:direct=0\r\n";
  auto s = ParseAes67Sdp(sdp, "sdp");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->name, "AOIP44-serial-1614 : 2");
  EXPECT_EQ(s->address, "239.65.125.63");
  EXPECT_TRUE(s->multicast);
  EXPECT_EQ(s->port, 5004);
  EXPECT_EQ(s->payload_type, 97);
  EXPECT_EQ(s->bits, 24);
  EXPECT_EQ(s->channels, 2u);
  EXPECT_EQ(s->ptime_us, 125u);
  EXPECT_EQ(s->source, "169.254.98.63");
}

TEST(Aes67SdpTest, TheMediaLevelAddressWinsAndTheFirstAudioStreamIsTaken) {
  const std::string sdp =
      "v=0\ns=desk\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 96\nc=IN IP4 239.1.2.3/16\na=rtpmap:96 L16/48000\n"
      "m=audio 6002 RTP/AVP 98\na=rtpmap:98 L24/96000/8\n";
  auto s = ParseAes67Sdp(sdp, "sdp");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->address, "239.1.2.3");
  EXPECT_EQ(s->port, 6000);
  EXPECT_EQ(s->bits, 16);
  EXPECT_EQ(s->channels, 1u);
  EXPECT_EQ(s->ptime_us, 1000u) << "AES67's default packet time";
}

TEST(Aes67SdpTest, RefusalsSayWhatAndAreShort) {
  const std::string head = "v=0\ns=x\nc=IN IP4 239.1.2.3\nt=0 0\n";
  const std::string junk(5000, 'x');
  for (const auto& [sdp, says] : std::vector<std::pair<std::string, std::string>>{
           {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 " + junk + "/48000\n", "is not AES67's L24 or L16"},
           {head + "m=audio 5004 RTP/SAVP 96\na=rtpmap:96 L24/48000\n", "RTP/SAVP"},
           {"v=0\nc=IN IP6 ff02::1\nm=audio 5004 RTP/AVP 96\na=rtpmap:96 L24/48000\n", "only IPv4"},
           {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 L24/48000/9\n", "9 channels"},
           {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 L24/48000\na=ptime:0.1\n", "0.125 to 4 ms"},
           {head + "m=audio 5004 RTP/AVP 96\na=rtpmap:96 L24/48000\na=source-filter: incl IN IP4 239.1.2.3 x\n",
            "source-filter"},
       }) {
    auto s = ParseAes67Sdp(sdp, "floor_source.aes67.sdp");
    ASSERT_FALSE(s.ok()) << says;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message().rfind("floor_source.aes67.sdp: ", 0), 0u) << s.status().message();
    EXPECT_NE(s.status().message().find(says), std::string::npos) << s.status().message();
    EXPECT_LT(s.status().message().size(), 200u);
  }
}

}  // namespace
}  // namespace tilmash::domain
