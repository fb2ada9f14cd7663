// The recorder without a daemon: Ogg pages and granule positions, segment rotation by audio
// time, a full queue dropping (never waiting), and a failing disk stopping it with the reason.
#include "record/channel_recorder.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../../support/ffmpeg_decode.h"
#include "audio/audio.h"
#include "rtp/rtp_packet.h"

namespace tilmash::record {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tilmash::testing::DecodeWithFfmpeg;

// 10 ms of a 1 kHz tone as an RTP packet of Opus (one encoder for the whole stream).
class Source {
 public:
  Source() : enc_(audio::OpusEncoder::Create(64000)) {}
  void Skip(int packets) { ts_ += uint32_t(480 * packets); }  // the source stops for a while
  std::vector<uint8_t> Next() {
    std::vector<float> pcm(480);
    for (auto& s : pcm) s = float(0.1 * std::sin(2 * M_PI * 1000 * double(n_++) / 48000));
    std::vector<uint8_t> out(12);
    rtp::WriteHeader(out.data(), 111, false, seq_++, ts_ += 480, 1234);
    uint8_t payload[1500];
    const int n = enc_->Encode(pcm, payload, sizeof payload);
    out.insert(out.end(), payload, payload + std::max(n, 0));
    return out;
  }

 private:
  std::unique_ptr<audio::OpusEncoder> enc_;
  uint64_t n_ = 0;
  uint16_t seq_ = 0;
  uint32_t ts_ = 0;
};

std::string TempDir() {
  char tmpl[] = "/tmp/tilmash-recorder-XXXXXX";
  return mkdtemp(tmpl) ? tmpl : "";
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : fs::directory_iterator(dir)) out.push_back(f.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(OggOpusTest, PacketSamplesFromTheToc) {
  const uint8_t celt10[] = {uint8_t(30 << 3)};  // CELT FB 10 ms, one frame
  const uint8_t celt20x2[] = {uint8_t(31 << 3 | 1)};
  const uint8_t silk60[] = {uint8_t(3 << 3)};
  const uint8_t code3[] = {uint8_t(28 << 3 | 3), 4};  // 4 frames of 2.5 ms
  EXPECT_EQ(OpusPacketSamples(celt10, 1), 480u);
  EXPECT_EQ(OpusPacketSamples(celt20x2, 1), 1920u);
  EXPECT_EQ(OpusPacketSamples(silk60, 1), 2880u);
  EXPECT_EQ(OpusPacketSamples(code3, 2), 480u);
  EXPECT_EQ(OpusPacketSamples(code3, 1), 0u);
  EXPECT_EQ(OpusPacketSamples(nullptr, 0), 0u);
}

TEST(ChannelRecorderTest, SegmentsByAudioTimeWithTheirDurations) {
  const std::string dir = TempDir();
  RecorderConfig config;
  config.dir = dir + "/s/ru";
  config.segment_s = 1;
  std::string error;
  auto r = ChannelRecorder::Start(config, &error);
  ASSERT_TRUE(r) << error;
  Source source;
  for (int i = 0; i < 250; ++i) {  // 2.5 s
    auto p = source.Next();
    r->Push(p.data(), p.size());
    if (i % 20 == 0) std::this_thread::sleep_for(10ms);  // the writer drains as it goes
  }
  r.reset();
  const auto files = Files(config.dir);
  ASSERT_EQ(files.size(), 3u);
  const double want[] = {1.0, 1.0, 0.5};
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto info = ReadOggOpusInfo(files[i], &error);
    ASSERT_TRUE(info) << error;
    EXPECT_EQ(info->channels, 1);
    EXPECT_TRUE(info->finished) << files[i];
    EXPECT_NEAR(info->duration_s(), want[i], 1e-9) << files[i];
  }
  fs::remove_all(dir);
}

TEST(ChannelRecorderTest, AGapInThePacketsIsSilenceOfItsLength) {
  const std::string dir = TempDir();
  RecorderConfig config;
  config.dir = dir;
  std::string error;
  auto r = ChannelRecorder::Start(config, &error);
  ASSERT_TRUE(r) << error;
  Source source;
  for (int i = 0; i < 200; ++i) {
    if (i == 100) source.Skip(50);  // 1 s of tone, 0.5 s without packets, 1 s of tone
    auto p = source.Next();
    r->Push(p.data(), p.size());
  }
  r.reset();
  const auto files = Files(dir);
  ASSERT_EQ(files.size(), 1u);
  auto info = ReadOggOpusInfo(files[0], &error);
  ASSERT_TRUE(info) << error;
  EXPECT_NEAR(info->duration_s(), 2.5, 1e-9);
  const auto x = DecodeWithFfmpeg(files[0]);
  ASSERT_NEAR(double(x.size()) / 48000, 2.5, 0.03) << "ffmpeg decodes the filled gap";
  auto window = [&](double from) { return std::span<const float>(x.data() + std::size_t(from * 48000), 9600); };
  EXPECT_GT(audio::ToneLevelDb(window(0.5), 1000), -25);
  EXPECT_LT(audio::ToneLevelDb(window(1.2), 1000), -50) << "the gap is silent";
  EXPECT_GT(audio::ToneLevelDb(window(2.0), 1000), -25) << "the tone after the gap is at its time";
  fs::remove_all(dir);
}

TEST(ChannelRecorderTest, AFullQueueDropsAndCountsInsteadOfWaiting) {
  const std::string dir = TempDir();
  RecorderConfig config;
  config.dir = dir;
  config.max_queue = 50;
  std::string error;
  auto r = ChannelRecorder::Start(config, &error);
  ASSERT_TRUE(r) << error;
  Source source;
  std::vector<std::vector<uint8_t>> packets;
  for (int i = 0; i < 500; ++i) packets.push_back(source.Next());
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& p : packets) r->Push(p.data(), p.size());  // faster than any writer wake-up
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_GE(r->dropped(), 400u) << "the queue holds 50 packets; the rest are dropped and counted";
  r.reset();
  fs::remove_all(dir);
}

TEST(ChannelRecorderTest, AFailingDiskStopsItWithTheReason) {
  const std::string dir = TempDir();
  // A file size limit makes write(2) fail as a full disk would (EFBIG instead of ENOSPC).
  signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 2000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  RecorderConfig config;
  config.dir = dir;
  std::string error;
  auto r = ChannelRecorder::Start(config, &error);
  ASSERT_TRUE(r) << error;
  Source source;
  for (int i = 0; i < 200 && !r->failed(); ++i) {
    auto p = source.Next();
    r->Push(p.data(), p.size());
    std::this_thread::sleep_for(2ms);
  }
  for (int i = 0; i < 100 && !r->failed(); ++i) std::this_thread::sleep_for(10ms);
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_TRUE(r->failed());
  EXPECT_NE(r->error().find("File too large"), std::string::npos) << r->error();
  EXPECT_NE(r->error().find(dir), std::string::npos) << "the error names the file";
  r.reset();  // a failed recorder ends without waiting for anything
  fs::remove_all(dir);
}

TEST(ChannelRecorderTest, ADirectoryThatCannotBeMadeIsAnAnswer) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/file") << "x";
  RecorderConfig config;
  config.dir = dir + "/file/ru";
  std::string error;
  EXPECT_FALSE(ChannelRecorder::Start(config, &error));
  EXPECT_NE(error.find(config.dir), std::string::npos) << error;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tilmash::record
