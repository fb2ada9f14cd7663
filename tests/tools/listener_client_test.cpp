// ListenerClient against an in-process fake ListenerService: the fake hands out an SSRC and key,
// the test sends real SRTP/Opus to the endpoint the client subscribed with.
#include "client/listener_client.h"
#include "client/credentials.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/rtp_sender.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::client {
namespace {

using namespace std::chrono_literals;
constexpr uint32_t kSsrc = 0x7e57;

class FakeListenerService final : public v1::ListenerService::Service {
 public:
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest* request,
                         v1::SubscribeResponse* response) override {
    std::lock_guard lock(mutex_);
    if (request->session_id() != "s-1") return {grpc::StatusCode::NOT_FOUND, "no session " + request->session_id()};
    last_request_ = *request;
    const auto suite = request->suite() == v1::AEAD_AES_128_GCM ? rtp::SrtpSuite::kAeadAes128Gcm
                                                                : rtp::SrtpSuite::kAesCm128HmacSha1_80;
    key_ = rtp::RandomMasterKey(suite);
    response->set_listener_id("l-1");
    response->set_ssrc(kSsrc);
    response->set_payload_type(96);
    response->set_clock_rate(48000);
    response->set_frame_ms(10);
    response->mutable_srtp()->set_suite(request->suite());
    response->mutable_srtp()->set_master_key(std::string(key_.begin(), key_.end()));
    return grpc::Status::OK;
  }
  grpc::Status SwitchChannel(grpc::ServerContext*, const v1::SwitchChannelRequest* request,
                             v1::SwitchChannelResponse*) override {
    if (request->channel() == "xx") return {grpc::StatusCode::NOT_FOUND, "no channel xx"};
    return grpc::Status::OK;
  }
  grpc::Status Unsubscribe(grpc::ServerContext*, const v1::UnsubscribeRequest* request,
                           v1::UnsubscribeResponse*) override {
    std::lock_guard lock(mutex_);
    unsubscribed_.push_back(request->listener_id());
    return grpc::Status::OK;
  }

  v1::SubscribeRequest last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }
  std::vector<uint8_t> key() {
    std::lock_guard lock(mutex_);
    return key_;
  }
  std::vector<std::string> unsubscribed() {
    std::lock_guard lock(mutex_);
    return unsubscribed_;
  }

 private:
  std::mutex mutex_;
  v1::SubscribeRequest last_request_;
  std::vector<uint8_t> key_;
  std::vector<std::string> unsubscribed_;
};

class ListenerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    // Plaintext on loopback, as a daemon started with --plaintext (gRPC local credentials).
    builder.AddListeningPort("127.0.0.1:0", grpc::experimental::LocalServerCredentials(LOCAL_TCP), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  ListenerClient::Options Options(v1::CryptoSuite suite = v1::AES_CM_128_HMAC_SHA1_80) const {
    ListenerClient::Options o;
    o.server = "127.0.0.1:" + std::to_string(port_);
    client::Credentials plaintext;
    plaintext.plaintext = true;
    o.grpc_channel = client::ConnectWith(o.server, plaintext);
    o.session_id = "s-1";
    o.channel = "en";
    o.suite = suite;
    return o;
  }

  // A sender aimed at the endpoint the client subscribed with, keyed like the fake's stream.
  RtpSender::Options SenderOptions(rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80) {
    const auto request = service_.last_request();
    RtpSender::Options o;
    o.host = request.endpoint().host();
    o.port = uint16_t(request.endpoint().port());
    o.ssrc = kSsrc;
    o.suite = suite;
    o.master_key = service_.key();
    return o;
  }

  FakeListenerService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ListenerClientTest, ReceivesDecryptsAndDecodesTheTone) {
  for (auto suite : {v1::AES_CM_128_HMAC_SHA1_80, v1::AEAD_AES_128_GCM}) {
    std::string error;
    auto listener = ListenerClient::Start(Options(suite), &error);
    ASSERT_TRUE(listener) << error;
    EXPECT_EQ(listener->listener_id(), "l-1");
    EXPECT_EQ(service_.last_request().endpoint().host(), "127.0.0.1");
    EXPECT_EQ(service_.last_request().endpoint().port(), listener->local_port());

    RtpSender sender(SenderOptions(suite == v1::AEAD_AES_128_GCM ? rtp::SrtpSuite::kAeadAes128Gcm
                                                                 : rtp::SrtpSuite::kAesCm128HmacSha1_80));
    sender.SetTone(660, -20);
    ASSERT_TRUE(sender.Start(&error)) << error;
    ASSERT_TRUE(listener->WaitForSamples(48000 / 2, 5s));
    sender.Stop();

    const auto samples = listener->Samples(960, 48000 / 2 - 960);
    EXPECT_NEAR(audio::DominantFrequency(samples), 660, 2.0);
    EXPECT_NEAR(audio::ToneLevelDb(samples, 660), -20, 1.5);
    const auto stats = listener->stats();
    EXPECT_GE(stats.packets, 50u);
    EXPECT_EQ(stats.lost, 0u);
    EXPECT_EQ(stats.auth_failures, 0u);
    EXPECT_EQ(stats.decode_errors, 0u);
    EXPECT_GT(stats.mean_interarrival_ms, 8.0);
    EXPECT_LT(stats.mean_interarrival_ms, 12.0);
    EXPECT_GE(stats.max_interarrival_ms, stats.mean_interarrival_ms);
    const auto arrivals = listener->Arrivals();
    ASSERT_GE(arrivals.size(), 50u);
    EXPECT_EQ(arrivals.front().seq, sender.first_sequence());
    EXPECT_EQ(arrivals[1].sample_index, 480u);
    EXPECT_EQ(arrivals[1].timestamp - arrivals[0].timestamp, 480u);
    listener->Stop();
  }
  EXPECT_EQ(service_.unsubscribed(), (std::vector<std::string>{"l-1", "l-1"}));
}

TEST_F(ListenerClientTest, LossIsCountedAndConcealedSoTheTimelineStaysContinuous) {
  std::string error;
  auto listener = ListenerClient::Start(Options(), &error);
  ASSERT_TRUE(listener) << error;
  const auto o = SenderOptions();
  auto srtp = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, *o.suite, o.master_key, o.ssrc);
  auto encoder = audio::OpusEncoder::Create();
  auto socket = UdpSocket::Bind("127.0.0.1", 0);
  const auto to = ResolveUdp(o.host, o.port);
  ASSERT_TRUE(srtp && encoder && socket && to);
  audio::ToneGenerator tone(440, -20);
  std::vector<float> pcm(480);
  for (uint16_t seq = 0; seq < 20; ++seq) {
    tone.Fill(pcm);
    uint8_t packet[1500];
    const int payload = encoder->Encode(pcm, packet + 12, 1000);
    ASSERT_GT(payload, 0);
    if (seq >= 10 && seq <= 12) continue;  // lost in the network
    rtp::WriteHeader(packet, 96, false, seq, seq * 480u, o.ssrc);
    const int len = srtp->Protect(packet, 12 + std::size_t(payload), sizeof packet);
    ASSERT_GT(len, 0);
    ASSERT_TRUE(socket->SendTo(*to, {packet, std::size_t(len)}));
  }
  ASSERT_TRUE(listener->WaitForSamples(20 * 480, 5s));
  const auto stats = listener->stats();
  EXPECT_EQ(stats.packets, 17u);
  EXPECT_EQ(stats.lost, 3u);
  EXPECT_EQ(listener->SampleCount(), 20u * 480);
  const auto arrivals = listener->Arrivals();
  ASSERT_EQ(arrivals.size(), 17u);
  EXPECT_EQ(arrivals[10].seq, 13);
  EXPECT_EQ(arrivals[10].sample_index, 13u * 480);
}

TEST_F(ListenerClientTest, WrongKeyWrongSsrcAndGarbageAreCountedNotDecoded) {
  auto options = Options();
  options.key_override = rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80);
  std::string error;
  auto listener = ListenerClient::Start(options, &error);
  ASSERT_TRUE(listener) << error;
  RtpSender good_key(SenderOptions());
  good_key.SetTone(440, -20);
  ASSERT_TRUE(good_key.Start(&error)) << error;
  auto other_ssrc_options = SenderOptions();
  other_ssrc_options.ssrc = kSsrc + 1;
  RtpSender other_ssrc(other_ssrc_options);
  ASSERT_TRUE(other_ssrc.Start(&error)) << error;
  const std::vector<uint8_t> garbage(20, 0x11);  // version 0
  ASSERT_TRUE(good_key.SendRaw(garbage));

  EXPECT_TRUE(listener->WaitForStats(
      [](const ListenerClient::Stats& s) { return s.auth_failures >= 5 && s.wrong_ssrc >= 5 && s.malformed >= 1; },
      5s));
  const auto stats = listener->stats();
  EXPECT_EQ(stats.packets, 0u);
  EXPECT_EQ(listener->SampleCount(), 0u);
}

TEST_F(ListenerClientTest, SubscribeErrorIsReportedAsStatusText) {
  auto options = Options();
  options.session_id = "missing";
  std::string error;
  EXPECT_FALSE(ListenerClient::Start(options, &error));
  EXPECT_EQ(error, "Subscribe: NOT_FOUND: no session missing");
}

TEST_F(ListenerClientTest, UnreachableServerFailsWithUnavailable) {
  auto options = Options();
  options.server = "127.0.0.1:1";
  options.grpc_channel = nullptr;  // connect to the unreachable address itself
  std::string error;
  EXPECT_FALSE(ListenerClient::Start(options, &error));
  EXPECT_NE(error.find("UNAVAILABLE"), std::string::npos) << error;
}

TEST_F(ListenerClientTest, SwitchChannelReturnsTheServerStatus) {
  std::string error;
  auto listener = ListenerClient::Start(Options(), &error);
  ASSERT_TRUE(listener) << error;
  EXPECT_TRUE(listener->SwitchChannel("ru").ok());
  EXPECT_EQ(listener->channel(), "ru");
  const grpc::Status status = listener->SwitchChannel("xx");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(StatusText(status), "NOT_FOUND: no channel xx");
  EXPECT_EQ(listener->channel(), "ru");
  // Stop without unsubscribing leaves the server untouched; WaitForSamples returns at once.
  listener->Stop(/*unsubscribe=*/false);
  EXPECT_FALSE(listener->WaitForSamples(1, 10s));
  listener.reset();
  EXPECT_TRUE(service_.unsubscribed().empty());
}

}  // namespace
}  // namespace tilmash::client
