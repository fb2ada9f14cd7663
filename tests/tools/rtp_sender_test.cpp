#include "client/rtp_sender.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "audio/audio.h"
#include "client/convert.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"

namespace tilmash::client {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Received {
  std::vector<uint8_t> bytes;
  Clock::time_point arrival;
};

// A plain UDP receiver: what the daemon's ingest sees.
class Receiver {
 public:
  Receiver() {
    std::string error;
    socket_ = UdpSocket::Bind("127.0.0.1", 0, &error);
    EXPECT_TRUE(socket_) << error;
  }
  uint16_t port() const { return socket_->local_port(); }
  // Collects up to `n` datagrams, giving up after `timeout` (the wait is poll(), not a sleep).
  std::vector<Received> Collect(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::vector<Received> out;
    const auto deadline = Clock::now() + timeout;
    uint8_t buffer[2048];
    while (out.size() < n && Clock::now() < deadline) {
      const int got = socket_->Receive(buffer, sizeof buffer, 50);
      if (got > 0) out.push_back({{buffer, buffer + got}, Clock::now()});
    }
    return out;
  }

 private:
  std::unique_ptr<UdpSocket> socket_;
};

// Decrypts (if keyed), checks the header and decodes every packet into one 48 kHz buffer.
struct Decoded {
  std::vector<float> pcm;
  std::vector<uint16_t> sequences;
  std::vector<uint32_t> timestamps;
};

Decoded DecodeAll(std::vector<Received>& packets, const RtpSender::Options& o) {
  Decoded d;
  std::unique_ptr<rtp::SrtpContext> srtp;
  if (o.suite) {
    srtp = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, *o.suite, o.master_key, o.ssrc);
    EXPECT_TRUE(srtp);
  }
  auto decoder = audio::OpusDecoder::Create();
  std::vector<float> pcm(5760);
  for (auto& p : packets) {
    int size = int(p.bytes.size());
    if (srtp) {
      size = srtp->Unprotect(p.bytes.data(), p.bytes.size());
      EXPECT_GT(size, 0) << "SRTP unprotect failed";
      if (size <= 0) continue;
    }
    const auto parsed = rtp::ParseRtp(p.bytes.data(), std::size_t(size));
    EXPECT_TRUE(parsed.ok());
    if (!parsed.ok()) continue;
    EXPECT_EQ(parsed.header->ssrc, o.ssrc);
    EXPECT_EQ(parsed.header->payload_type, o.payload_type);
    d.sequences.push_back(parsed.header->sequence);
    d.timestamps.push_back(parsed.header->timestamp);
    const int n = decoder->Decode(p.bytes.data() + parsed.header->header_size, int(parsed.header->payload_size),
                                  pcm.data(), int(pcm.size()));
    EXPECT_EQ(n, 480);
    if (n > 0) d.pcm.insert(d.pcm.end(), pcm.begin(), pcm.begin() + n);
  }
  return d;
}

RtpSender::Options OptionsFor(const Receiver& r, std::optional<rtp::SrtpSuite> suite) {
  RtpSender::Options o;
  o.host = "127.0.0.1";
  o.port = r.port();
  o.ssrc = 0x51c0ffee;
  o.payload_type = 111;
  o.suite = suite;
  if (suite) o.master_key = rtp::RandomMasterKey(*suite);
  return o;
}

double MedianInterarrivalMs(const std::vector<Received>& packets) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < packets.size(); ++i)
    gaps.push_back(std::chrono::duration<double, std::milli>(packets[i].arrival - packets[i - 1].arrival).count());
  std::sort(gaps.begin(), gaps.end());
  return gaps.empty() ? 0 : gaps[gaps.size() / 2];
}

class RtpSenderSuiteTest : public ::testing::TestWithParam<rtp::SrtpSuite> {};

TEST_P(RtpSenderSuiteTest, SendsPacedSrtpOpusToneThatDecodesToTheTone) {
  Receiver receiver;
  const auto options = OptionsFor(receiver, GetParam());
  RtpSender sender(options);
  sender.SetTone(880, -20);
  std::string error;
  ASSERT_TRUE(sender.Start(&error)) << error;
  auto packets = receiver.Collect(60);
  sender.Stop();
  ASSERT_EQ(packets.size(), 60u);

  const Decoded d = DecodeAll(packets, options);
  ASSERT_EQ(d.pcm.size(), 60u * 480);
  for (std::size_t i = 1; i < d.sequences.size(); ++i) {
    EXPECT_EQ(uint16_t(d.sequences[i] - d.sequences[i - 1]), 1);
    EXPECT_EQ(d.timestamps[i] - d.timestamps[i - 1], 480u);
  }
  EXPECT_EQ(d.sequences.front(), sender.first_sequence());
  const std::span<const float> settled = std::span<const float>(d.pcm).subspan(960);  // skip 20 ms
  EXPECT_NEAR(audio::DominantFrequency(settled), 880, 2.0);
  EXPECT_NEAR(audio::ToneLevelDb(settled, 880), -20, 1.5);
  // Paced on 10 ms deadlines (loose: a loaded 2-core CI box).
  const double median = MedianInterarrivalMs(packets);
  EXPECT_GE(median, 8.0);
  EXPECT_LE(median, 12.0);
  // Every packet's send time is recorded and precedes its arrival.
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto sent = sender.SendTime(d.sequences[i]);
    ASSERT_TRUE(sent) << d.sequences[i];
    EXPECT_LE(*sent, packets[i].arrival);
  }
  EXPECT_GE(sender.stats().packets_sent, 60u);
  EXPECT_EQ(sender.stats().send_errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Suites, RtpSenderSuiteTest,
                         ::testing::Values(rtp::SrtpSuite::kAesCm128HmacSha1_80, rtp::SrtpSuite::kAeadAes128Gcm));

TEST(RtpSender, ToneSwitchesLiveAndTheChangeIsRecorded) {
  Receiver receiver;
  auto options = OptionsFor(receiver, std::nullopt);
  options.initial_sequence = 65530;  // also crosses the sequence wrap
  RtpSender sender(options);
  sender.SetTone(440, -20);
  ASSERT_TRUE(sender.Start());
  auto before = receiver.Collect(20);
  ASSERT_EQ(before.size(), 20u);
  sender.SetTone(1320, -20);
  // Everything from the change on: collect until 30 packets of the new tone have arrived.
  auto after = receiver.Collect(40);
  sender.Stop();
  const auto change = sender.LastSourceChange();
  ASSERT_TRUE(change);
  const Decoded d = DecodeAll(after, options);
  const auto it = std::find(d.sequences.begin(), d.sequences.end(), change->sequence);
  ASSERT_NE(it, d.sequences.end());
  const std::size_t first = std::size_t(it - d.sequences.begin()) * 480 + 960;
  ASSERT_LT(first + 4096, d.pcm.size());
  EXPECT_NEAR(audio::DominantFrequency(std::span<const float>(d.pcm).subspan(first)), 1320, 2.0);
  EXPECT_EQ(sender.SendTime(change->sequence), change->sent);
  EXPECT_EQ(DecodeAll(before, options).sequences.front(), 65530);
}

TEST(RtpSender, SamplesPlayThenSilence) {
  Receiver receiver;
  const auto options = OptionsFor(receiver, std::nullopt);
  RtpSender sender(options);
  std::vector<float> pcm(4800);  // 100 ms of 2 kHz
  audio::ToneGenerator(2000, -10).Fill(pcm);
  sender.SetSamples(pcm, /*loop=*/false);
  ASSERT_TRUE(sender.Start());
  auto packets = receiver.Collect(30);
  sender.Stop();
  const Decoded d = DecodeAll(packets, options);
  ASSERT_EQ(d.pcm.size(), 30u * 480);
  EXPECT_NEAR(audio::ToneLevelDb(std::span<const float>(d.pcm).subspan(480, 3840), 2000), -10, 1.5);
  EXPECT_LT(audio::RmsDb(std::span<const float>(d.pcm).subspan(20 * 480)), -60);
}

TEST(RtpSender, SendRawDeliversBytesUnchanged) {
  Receiver receiver;
  RtpSender sender(OptionsFor(receiver, rtp::SrtpSuite::kAesCm128HmacSha1_80));
  EXPECT_FALSE(sender.SendRaw(std::vector<uint8_t>{1, 2, 3}));  // not started: no socket
  ASSERT_TRUE(sender.Start());
  const std::vector<uint8_t> garbage = {0x00, 0xde, 0xad, 0xbe, 0xef};
  ASSERT_TRUE(sender.SendRaw(garbage));
  // The raw datagram is interleaved with paced packets; read until it shows up.
  bool seen = false;
  const auto deadline = Clock::now() + 3s;
  while (!seen && Clock::now() < deadline) {
    for (const auto& r : receiver.Collect(1, 100ms)) seen = seen || r.bytes == garbage;
  }
  sender.Stop();
  EXPECT_TRUE(seen);
}

TEST(RtpSender, StartRejectsBadOptionsWithAReason) {
  RtpSender::Options o;
  o.host = "127.0.0.1";
  o.port = 9;
  o.suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  o.master_key = {1, 2, 3};
  std::string error;
  EXPECT_FALSE(RtpSender(o).Start(&error));
  EXPECT_NE(error.find("30 bytes"), std::string::npos) << error;
  o.suite.reset();
  o.frame_ms = 7;
  EXPECT_FALSE(RtpSender(o).Start(&error));
  EXPECT_NE(error.find("frame_ms"), std::string::npos) << error;
  o.frame_ms = 10;
  o.port = 0;
  EXPECT_FALSE(RtpSender(o).Start(&error));
}

TEST(IngestFromProto, FillsGapsTheServerLeaves) {
  v1::IngestEndpoint ingest;
  ingest.mutable_endpoint()->set_host("0.0.0.0");
  ingest.mutable_endpoint()->set_port(40000);
  ingest.set_payload_type(0);
  ingest.set_ssrc(0);
  auto o = IngestFromProto(ingest);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 40000);
  EXPECT_EQ(o.payload_type, 96);
  EXPECT_FALSE(o.suite);

  ingest.mutable_endpoint()->set_host("::");
  ingest.set_payload_type(100);
  ingest.set_ssrc(1234);
  const auto key = rtp::RandomMasterKey(rtp::SrtpSuite::kAeadAes128Gcm);
  ingest.mutable_srtp()->set_suite(v1::AEAD_AES_128_GCM);
  ingest.mutable_srtp()->set_master_key(std::string(key.begin(), key.end()));
  o = IngestFromProto(ingest);
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.payload_type, 100);
  EXPECT_EQ(o.ssrc, 1234u);
  ASSERT_TRUE(o.suite);
  EXPECT_EQ(*o.suite, rtp::SrtpSuite::kAeadAes128Gcm);
  EXPECT_EQ(o.master_key, key);
}

}  // namespace
}  // namespace tilmash::client
