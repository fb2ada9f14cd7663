// StreamReceiver against real SRTP/Opus from an RtpSender (or hand-made packets): bind first,
// attach the keys afterwards, as the e2e tests do with JoinConsole's return feed.
#include "client/stream_receiver.h"

#include <gtest/gtest.h>

#include <cmath>

#include "audio/audio.h"
#include "client/convert.h"
#include "client/rtp_sender.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

namespace tilmash::client {
namespace {

using namespace std::chrono_literals;
constexpr uint32_t kSsrc = 0x5e7u;

v1::SrtpKeying Keying(rtp::SrtpSuite suite, const std::vector<uint8_t>& key) {
  v1::SrtpKeying k;
  k.set_suite(SuiteToProto(suite));
  k.set_master_key(std::string(key.begin(), key.end()));
  return k;
}

RtpSender::Options SenderTo(const StreamReceiver& receiver, std::optional<rtp::SrtpSuite> suite,
                            std::vector<uint8_t> key) {
  RtpSender::Options o;
  o.host = receiver.local_host();
  o.port = receiver.local_port();
  o.ssrc = kSsrc;
  o.suite = suite;
  o.master_key = std::move(key);
  return o;
}

TEST(StreamReceiverTest, BindsFirstThenDecodesTheToneOnceKeysAreAttached) {
  for (auto suite : {rtp::SrtpSuite::kAesCm128HmacSha1_80, rtp::SrtpSuite::kAeadAes128Gcm}) {
    std::string error;
    auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
    ASSERT_TRUE(receiver) << error;
    EXPECT_GT(receiver->local_port(), 0);
    EXPECT_EQ(receiver->local_host(), "127.0.0.1");
    EXPECT_FALSE(receiver->attached());

    const auto key = rtp::RandomMasterKey(suite);
    ASSERT_TRUE(receiver->Attach(kSsrc, Keying(suite, key), &error)) << error;
    EXPECT_TRUE(receiver->attached());
    RtpSender sender(SenderTo(*receiver, suite, key));
    sender.SetTone(880, -20);
    ASSERT_TRUE(sender.Start(&error)) << error;
    ASSERT_TRUE(receiver->WaitForSamples(48000 / 2, 5s));
    sender.Stop();

    const auto samples = receiver->Samples(960, 48000 / 2 - 960);
    EXPECT_NEAR(audio::DominantFrequency(samples), 880, 2.0);
    EXPECT_NEAR(audio::ToneLevelDb(samples, 880), -20, 1.5);
    const auto stats = receiver->stats();
    EXPECT_GE(stats.packets, 50u);
    EXPECT_EQ(stats.lost, 0u);
    EXPECT_EQ(stats.auth_failures, 0u);
    EXPECT_GT(stats.mean_interarrival_ms, 8.0);
    EXPECT_LT(stats.mean_interarrival_ms, 12.0);
    const auto arrivals = receiver->Arrivals();
    ASSERT_GE(arrivals.size(), 50u);
    EXPECT_EQ(arrivals.front().seq, sender.first_sequence());
    EXPECT_EQ(arrivals[1].sample_index, 480u);
  }
}

TEST(StreamReceiverTest, PacketsSentBeforeAttachWaitInTheSocketAndAreDecodedAfterwards) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  const auto suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  const auto key = rtp::RandomMasterKey(suite);
  auto srtp = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, suite, key, kSsrc);
  auto encoder = audio::OpusEncoder::Create();
  auto socket = UdpSocket::Bind("127.0.0.1", 0);
  const auto to = ResolveUdp("127.0.0.1", receiver->local_port());
  ASSERT_TRUE(srtp && encoder && socket && to);
  audio::ToneGenerator tone(440, -20);
  std::vector<float> pcm(480);
  for (uint16_t seq = 100; seq < 120; ++seq) {
    tone.Fill(pcm);
    uint8_t packet[1500];
    const int payload = encoder->Encode(pcm, packet + 12, 1000);
    ASSERT_GT(payload, 0);
    rtp::WriteHeader(packet, 96, false, seq, seq * 480u, kSsrc);
    const int len = srtp->Protect(packet, 12 + std::size_t(payload), sizeof packet);
    ASSERT_GT(len, 0);
    ASSERT_TRUE(socket->SendTo(*to, {packet, std::size_t(len)}));
  }
  EXPECT_FALSE(receiver->WaitForSamples(1, 100ms));  // nothing is read before the keys are known
  ASSERT_TRUE(receiver->Attach(kSsrc, Keying(suite, key), &error)) << error;
  ASSERT_TRUE(receiver->WaitForSamples(20 * 480, 5s));
  const auto stats = receiver->stats();
  EXPECT_EQ(stats.packets, 20u);
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.auth_failures, 0u);
  EXPECT_EQ(receiver->Arrivals().front().seq, 100);
}

TEST(StreamReceiverTest, PlainRtpWhenTheKeyingHasNoKeyAndAnySsrcWhenSsrcIsZero) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  ASSERT_TRUE(receiver->Attach(0, v1::SrtpKeying(), &error)) << error;
  RtpSender sender(SenderTo(*receiver, std::nullopt, {}));
  sender.SetTone(1100, -20);
  ASSERT_TRUE(sender.Start(&error)) << error;
  ASSERT_TRUE(receiver->WaitForSamples(48000 / 4, 5s));
  sender.Stop();
  EXPECT_NEAR(audio::DominantFrequency(receiver->Samples(960, 48000 / 4 - 960)), 1100, 2.0);
  EXPECT_EQ(receiver->stats().wrong_ssrc, 0u);
}

// A player's receiver (tilmash-listen --play): every block reaches the sink in order, as
// Samples() has it, and with a history limit only the newest samples are kept while the indices
// still count from the first packet.
TEST(StreamReceiverTest, APcmSinkGetsEveryBlockAndAHistoryLimitKeepsTheNewestWithTheirIndices) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  std::vector<float> played;  // only the receive thread appends until Stop()
  receiver->SetPcmSink([&](const float* pcm, std::size_t n) { played.insert(played.end(), pcm, pcm + n); });
  receiver->SetHistoryLimit(4800);
  ASSERT_TRUE(receiver->Attach(0, v1::SrtpKeying(), &error)) << error;
  RtpSender sender(SenderTo(*receiver, std::nullopt, {}));
  sender.SetTone(700, -20);
  ASSERT_TRUE(sender.Start(&error)) << error;
  ASSERT_TRUE(receiver->WaitForSamples(48000 / 2, 5s));
  sender.Stop();
  receiver->Stop();
  const std::size_t count = receiver->SampleCount(), first = receiver->FirstKeptSample();
  const auto kept = receiver->Samples();
  EXPECT_EQ(played.size(), count);
  EXPECT_GE(first, count - 7200) << "at most 1.5 x the limit kept";
  EXPECT_EQ(first + kept.size(), count);
  ASSERT_FALSE(kept.empty());
  EXPECT_TRUE(std::equal(kept.begin(), kept.end(), played.begin() + std::ptrdiff_t(first)));
  // Absolute indices: the kept tail by its index, nothing for a dropped span.
  EXPECT_EQ(receiver->Samples(first, 100), std::vector<float>(kept.begin(), kept.begin() + 100));
  EXPECT_TRUE(receiver->Samples(0, 100).empty());
  EXPECT_NEAR(audio::DominantFrequency(kept), 700, 2.0);
  for (const auto& a : receiver->Arrivals()) EXPECT_GE(a.sample_index, first);
}

TEST(StreamReceiverTest, WrongKeyAndOtherSsrcAreCountedNotDecoded) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  const auto suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  ASSERT_TRUE(receiver->Attach(kSsrc, Keying(suite, rtp::RandomMasterKey(suite)), &error)) << error;
  RtpSender wrong_key(SenderTo(*receiver, suite, rtp::RandomMasterKey(suite)));
  auto other = SenderTo(*receiver, suite, rtp::RandomMasterKey(suite));
  other.ssrc = kSsrc + 1;
  RtpSender other_ssrc(other);
  ASSERT_TRUE(wrong_key.Start(&error)) << error;
  ASSERT_TRUE(other_ssrc.Start(&error)) << error;
  EXPECT_TRUE(receiver->WaitForStats(
      [](const StreamReceiver::Stats& s) { return s.auth_failures >= 5 && s.wrong_ssrc >= 5; }, 5s));
  EXPECT_EQ(receiver->stats().packets, 0u);
  EXPECT_EQ(receiver->SampleCount(), 0u);
}

TEST(StreamReceiverTest, AttachRefusesABadKeyASecondCallAndAStoppedReceiver) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  v1::SrtpKeying short_key;
  short_key.set_suite(v1::AES_CM_128_HMAC_SHA1_80);
  short_key.set_master_key("too short");
  EXPECT_FALSE(receiver->Attach(kSsrc, short_key, &error));
  EXPECT_EQ(error.rfind("SRTP: ", 0), 0u) << error;
  EXPECT_FALSE(receiver->attached());

  const auto suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  ASSERT_TRUE(receiver->Attach(kSsrc, Keying(suite, rtp::RandomMasterKey(suite)), &error)) << error;
  EXPECT_FALSE(receiver->Attach(kSsrc, Keying(suite, rtp::RandomMasterKey(suite)), &error));
  EXPECT_EQ(error, "already attached");

  receiver->Stop();
  receiver->Stop();                                // idempotent
  EXPECT_FALSE(receiver->WaitForSamples(1, 10s));  // returns at once
  EXPECT_TRUE(receiver->Samples(5, 10).empty());   // clamped, no throw

  auto stopped = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(stopped) << error;
  stopped->Stop();
  EXPECT_FALSE(stopped->Attach(kSsrc, Keying(suite, rtp::RandomMasterKey(suite)), &error));
  EXPECT_EQ(error, "the receiver is stopped");
}

// What a receiver outputs after the gaps an overloaded sender leaves: a timestamp jump with no
// sequence gap (a sender numbering only what it sends), a sequence gap, and a restarted input
// (a jump far past any concealment). A 0 dBFS tone is the worst case: Opus overshoots it.
TEST(StreamReceiverTest, NothingAboveMinusOneDbfsAfterGapsAndTimeJumpsAreConcealedAsGaps) {
  std::string error;
  auto receiver = StreamReceiver::Bind("127.0.0.1", &error);
  ASSERT_TRUE(receiver) << error;
  ASSERT_TRUE(receiver->Attach(kSsrc, v1::SrtpKeying(), &error)) << error;  // plain RTP
  auto encoder = audio::OpusEncoder::Create();
  auto raw = audio::OpusDecoder::Create();
  auto socket = UdpSocket::Bind("127.0.0.1", 0);
  const auto to = ResolveUdp("127.0.0.1", receiver->local_port());
  ASSERT_TRUE(encoder && raw && socket && to);
  audio::ToneGenerator tone(997, 0);
  std::vector<float> pcm(480);
  float raw_peak = 0;
  std::size_t sent = 0;
  uint16_t seq = 0;
  uint32_t ts = 0;
  auto send = [&](int frames) {
    for (int i = 0; i < frames; ++i, ++seq, ts += 480) {
      tone.Fill(pcm);
      uint8_t packet[1500];
      const int payload = encoder->Encode(pcm, packet + 12, 1000);
      ASSERT_GT(payload, 0);
      rtp::WriteHeader(packet, 96, false, seq, ts, kSsrc);
      float out[5760];
      const int n = raw->Decode(packet + 12, payload, out, 5760);
      for (int k = 0; k < n; ++k) raw_peak = std::max(raw_peak, std::abs(out[k]));
      ASSERT_TRUE(socket->SendTo(*to, {packet, 12 + std::size_t(payload)}));
      ++sent;
    }
  };
  send(20);
  ts += 7 * 480;  // 7 frames dropped, the sequence goes on: concealed as 7 lost frames
  send(20);
  seq += 3;  // 3 packets lost: a gap in sequence and time
  ts += 3 * 480;
  send(20);
  ts += 48000 * 10;  // a restarted input: far past concealment, the next frame fades in
  const std::size_t restart_at = (sent + 7 + 3) * 480;
  send(20);
  const std::size_t total = (sent + 7 + 3) * 480;
  ASSERT_TRUE(receiver->WaitForSamples(total, 5s));
  const auto samples = receiver->Samples();
  EXPECT_EQ(samples.size(), total) << "time jumps and gaps both keep the timeline (index / 48 = ms)";
  const auto stats = receiver->stats();
  EXPECT_EQ(stats.time_jumps, 7u);
  EXPECT_EQ(stats.lost, 3u);
  std::printf("decoded peak %.2f dBFS (the bare decoder: %.2f dBFS)\n", audio::PeakDb(samples),
              20 * std::log10(raw_peak));
  EXPECT_GT(raw_peak, 0.8913f) << "without the receiver's ceiling this stream goes past -1 dBFS";
  EXPECT_LE(audio::PeakDb(samples), -1.0 + 1e-4);
  for (std::size_t i = 0; i < 120; ++i)
    EXPECT_LE(std::abs(samples[restart_at + i]), raw_peak * float(i) / 120.0f + 1e-6f) << "fades in, at " << i;
}

TEST(StreamReceiverTest, BindFailureIsReported) {
  std::string error;
  EXPECT_FALSE(StreamReceiver::Bind("192.0.2.1", &error));  // TEST-NET: not an address of this host
  EXPECT_NE(error.find("bind"), std::string::npos) << error;
}

}  // namespace
}  // namespace tilmash::client
