// Our SrtpContext against ffmpeg's own SRTP code (libavformat/srtp.c, no libsrtp at all):
// an Opus tone we protect plays in ffmpeg from an SDP with a=crypto, and ffmpeg's srtp://
// output decrypts in our context. The tone measured after decoding proves every byte.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../fanout/fanout_test_support.h"
#include "audio/audio.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

extern char** environ;

namespace tilmash::rtp {
namespace {

constexpr uint32_t kSsrc = 0x0FF00FF0;
constexpr double kToneHz = 1000;

std::string Base64(const std::vector<uint8_t>& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(in[i]) << 16 | (i + 1 < in.size() ? in[i + 1] << 8 : 0) | (i + 2 < in.size() ? in[i + 2] : 0);
    out += t[v >> 18 & 63];
    out += t[v >> 12 & 63];
    out += i + 1 < in.size() ? t[v >> 6 & 63] : '=';
    out += i + 2 < in.size() ? t[v & 63] : '=';
  }
  return out;
}

bool HaveFfmpeg() { return std::system("command -v ffmpeg >/dev/null 2>&1") == 0; }

struct TempDir {
  std::string path;
  TempDir() {
    char d[] = "/tmp/tilmash-srtp-XXXXXX";
    path = mkdtemp(d) ? d : "";
  }
  ~TempDir() {
    if (!path.empty()) std::system(("rm -rf " + path).c_str());
  }
};

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  return posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0 ? pid : -1;
}

// Exit status of `pid`, killing it at the deadline.
int Reap(pid_t pid, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::yield();
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True once some process has a UDP socket bound to port `port` on any local address
// (/proc/net/udp: "sl local_address rem_address ...", addresses as HEXIP:HEXPORT).
bool UdpPortBound(uint16_t port) {
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream fields(line);
    std::string sl, local;
    fields >> sl >> local;
    const auto colon = local.find(':');
    if (colon != std::string::npos && std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
  }
  return false;
}

uint16_t FreeEvenPort() {
  for (int i = 0; i < 200; ++i) {
    uint16_t p = 0;
    {
      fanout::testing::UdpSink probe;  // a port the kernel considers free, released again
      p = uint16_t(ntohs(probe.address().sin_port) & ~1u);
    }
    if (!UdpPortBound(p) && !UdpPortBound(uint16_t(p + 1)) && p > 1024) return p;
  }
  return 0;
}

TEST(SrtpFfmpegInteropTest, OurStreamPlaysInFfmpeg) {
  ASSERT_TRUE(HaveFfmpeg()) << "ffmpeg is not installed (tools/setup installs it)";
  TempDir dir;
  const auto key = RandomMasterKey(SrtpSuite::kAesCm128HmacSha1_80);
  const uint16_t port = FreeEvenPort();
  ASSERT_NE(port, 0);
  std::ofstream(dir.path + "/in.sdp")
      << "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=tilmash\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      << "m=audio " << port << " RTP/SAVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
      << "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" << Base64(key) << "\r\n";
  const std::string wav = dir.path + "/out.wav";
  pid_t ff = Spawn({"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-protocol_whitelist", "file,udp,rtp",
                    "-i", dir.path + "/in.sdp", "-t", "0.6", "-ac", "1", "-ar", "48000", "-y", wav});
  ASSERT_GT(ff, 0);
  if (!fanout::testing::WaitFor([&] { return UdpPortBound(port); }, std::chrono::seconds(10))) {
    Reap(ff, std::chrono::seconds(0));
    FAIL() << "ffmpeg never bound its RTP port";
  }

  auto tx = SrtpContext::Create(SrtpContext::Direction::kProtect, SrtpSuite::kAesCm128HmacSha1_80, key, kSsrc);
  auto enc = audio::OpusEncoder::Create();
  ASSERT_TRUE(tx && enc);
  audio::ToneGenerator tone(kToneHz, -12);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // One second of 10 ms packets in a burst: ffmpeg orders by sequence, not by arrival time.
  std::vector<float> frame(480);
  for (uint16_t seq = 0; seq < 100; ++seq) {
    uint8_t pkt[1500];
    tone.Fill(frame);
    const int n = enc->Encode(frame, pkt + 12, 1200);
    ASSERT_GT(n, 0);
    WriteHeader(pkt, 111, seq == 0, seq, 480u * seq, kSsrc);
    const int len = tx->Protect(pkt, 12 + std::size_t(n), sizeof pkt);
    ASSERT_GT(len, 0);
    ::sendto(fd, pkt, std::size_t(len), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  ASSERT_EQ(Reap(ff, std::chrono::seconds(15)), 0) << "ffmpeg failed (or got no audio)";
  int rate = 0;
  auto pcm = audio::ReadWav(wav, &rate);
  ASSERT_TRUE(pcm.has_value());
  ASSERT_GT(pcm->size(), 24000u);
  std::span<const float> tail(pcm->data() + pcm->size() - 9600, 9600);
  EXPECT_NEAR(audio::DominantFrequency(tail), kToneHz, 5);
  EXPECT_GT(audio::ToneLevelDb(tail, kToneHz), -16);
}

TEST(SrtpFfmpegInteropTest, FfmpegSrtpOutputDecryptsInOurContext) {
  ASSERT_TRUE(HaveFfmpeg()) << "ffmpeg is not installed (tools/setup installs it)";
  const auto key = RandomMasterKey(SrtpSuite::kAesCm128HmacSha1_80);
  fanout::testing::UdpSink sink;
  const uint16_t port = ntohs(sink.address().sin_port);
  pid_t ff = Spawn({"ffmpeg",
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-nostdin",
                    "-f",
                    "lavfi",
                    "-i",
                    "sine=frequency=1000:sample_rate=48000:duration=0.5",
                    "-c:a",
                    "libopus",
                    "-ac",
                    "1",
                    "-b:a",
                    "64k",
                    "-frame_duration",
                    "20",
                    "-f",
                    "rtp",
                    "-srtp_out_suite",
                    "AES_CM_128_HMAC_SHA1_80",
                    "-srtp_out_params",
                    Base64(key),
                    "srtp://127.0.0.1:" + std::to_string(port)});
  ASSERT_GT(ff, 0);
  ASSERT_EQ(Reap(ff, std::chrono::seconds(15)), 0) << "ffmpeg failed";
  auto got = sink.Receive(25, std::chrono::seconds(2));
  ASSERT_GE(got.size(), 20u);
  auto rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, SrtpSuite::kAesCm128HmacSha1_80, key, 0);
  auto dec = audio::OpusDecoder::Create();
  ASSERT_TRUE(rx && dec);
  std::vector<float> pcm;
  std::vector<float> frame(5760);
  for (auto& p : got) {
    const int len = rx->Unprotect(p.data(), p.size());
    ASSERT_GT(len, 12) << "ffmpeg's packet does not authenticate in our context";
    auto h = ParseRtp(p.data(), std::size_t(len));
    ASSERT_TRUE(h.ok());
    const int n = dec->Decode(p.data() + h.header->header_size, int(h.header->payload_size), frame.data(), 5760);
    ASSERT_GT(n, 0);
    pcm.insert(pcm.end(), frame.begin(), frame.begin() + n);
  }
  ASSERT_GT(pcm.size(), 9600u);
  std::span<const float> tail(pcm.data() + pcm.size() - 9600, 9600);
  EXPECT_NEAR(audio::DominantFrequency(tail), 1000, 5);
  EXPECT_GT(audio::ToneLevelDb(tail, 1000), -24) << "lavfi's sine is at -18 dBFS";
}

}  // namespace
}  // namespace tilmash::rtp
