// The shared WebRTC port's parts without a daemon: ICE checks through libnice's STUN code, a
// DTLS-SRTP handshake between our client and server roles, the server on a real UDP socket
// (a viewer's check, handshake, receiver report and lost consent), the fan-out sending from
// that socket, and the lite answer's SDP.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fanout/fanout_engine.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "sdp/whep_sdp.h"
#include "webrtc/dtls_srtp.h"
#include "webrtc/ice_lite.h"
#include "webrtc/webrtc_server.h"

namespace tilmash::webrtc {
namespace {

using Datagrams = std::vector<std::vector<uint8_t>>;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

TEST(IceLite, ACheckWithTheRightPasswordIsAnsweredOthersAreNot) {
  const std::string pwd = "server-password-24chars!";
  IceResponder responder;
  auto lookup = [&](const std::string& ufrag) -> const std::string* { return ufrag == "srvr" ? &pwd : nullptr; };
  const sockaddr_in from = Loopback(40000);
  uint8_t request[512], reply[512];
  std::string error;
  IceCheck check;

  IceChecker good("srvr:clnt", pwd);
  std::size_t n = good.Build(true, request, sizeof request);
  ASSERT_GT(n, 20u);
  EXPECT_EQ(Classify(request, n), Datagram::kStun);
  const std::size_t r = responder.Answer(request, n, from, lookup, reply, sizeof reply, &check, &error);
  ASSERT_GT(r, 0u) << error;
  EXPECT_EQ(check.local_ufrag, "srvr");
  EXPECT_EQ(check.remote_ufrag, "clnt");
  EXPECT_TRUE(check.use_candidate);
  EXPECT_TRUE(good.IsSuccess(reply, r)) << "the checker accepts the answer to its own request";

  IceChecker wrong_password("srvr:clnt", "not-the-password-at-all!");
  n = wrong_password.Build(false, request, sizeof request);
  EXPECT_EQ(responder.Answer(request, n, from, lookup, reply, sizeof reply, &check, &error), 0u);
  EXPECT_EQ(error, "bad MESSAGE-INTEGRITY");

  IceChecker stranger("nobody:clnt", pwd);
  n = stranger.Build(false, request, sizeof request);
  EXPECT_EQ(responder.Answer(request, n, from, lookup, reply, sizeof reply, &check, &error), 0u);
  EXPECT_EQ(error, "unknown ICE username");

  const uint8_t junk[] = {0, 1, 0, 4, 1, 2, 3};
  EXPECT_EQ(responder.Answer(junk, sizeof junk, from, lookup, reply, sizeof reply, &check, &error), 0u);
}

// Runs both ends' flights into each other until neither has anything to say.
void Handshake(DtlsEndpoint& client, DtlsEndpoint& server) {
  Datagrams to_server, to_client;
  client.Start(&to_server);
  for (int round = 0; round < 20 && (!to_server.empty() || !to_client.empty()); ++round) {
    Datagrams next_to_client, next_to_server;
    for (const auto& d : to_server) {
      EXPECT_LE(d.size(), 1200u) << "DTLS datagrams fit WebRTC's MTU";
      EXPECT_EQ(Classify(d.data(), d.size()), Datagram::kDtls);
      server.Receive(d.data(), d.size(), &next_to_client);
    }
    for (const auto& d : to_client) client.Receive(d.data(), d.size(), &next_to_server);
    to_server = std::move(next_to_server);
    to_client = std::move(next_to_client);
  }
}

TEST(DtlsSrtp, BothRolesAgreeOnKeysAndAProtectedPacketCrosses) {
  std::string error;
  auto server_id = DtlsIdentity::Generate(&error);
  auto client_id = DtlsIdentity::Generate(&error);
  ASSERT_TRUE(server_id && client_id) << error;
  EXPECT_EQ(server_id->fingerprint().size(), 32u * 3 - 1) << "sha-256 as hex pairs";
  DtlsEndpoint server(server_id, DtlsEndpoint::Role::kServer, "sha-256", client_id->fingerprint());
  DtlsEndpoint client(client_id, DtlsEndpoint::Role::kClient, "sha-256", server_id->fingerprint());
  Handshake(client, server);
  ASSERT_EQ(server.state(), DtlsEndpoint::State::kConnected) << server.error();
  ASSERT_EQ(client.state(), DtlsEndpoint::State::kConnected) << client.error();
  EXPECT_EQ(server.keys().suite, rtp::SrtpSuite::kAeadAes128Gcm) << "GCM is preferred when both offer it";
  EXPECT_EQ(server.keys().local, client.keys().remote);
  EXPECT_EQ(server.keys().remote, client.keys().local);
  EXPECT_NE(server.keys().local, server.keys().remote);
  EXPECT_EQ(server.keys().local.size(), rtp::MasterKeyLength(server.keys().suite));

  auto tx =
      rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, server.keys().suite, server.keys().local, 0x1234);
  auto rx = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, client.keys().suite, client.keys().remote,
                                     0x1234);
  uint8_t packet[200] = {};
  rtp::WriteHeader(packet, 111, false, 7, 960, 0x1234);
  packet[20] = 0x5A;
  const int sent = tx->Protect(packet, 100, sizeof packet);
  ASSERT_GT(sent, 100);
  EXPECT_EQ(rx->Unprotect(packet, std::size_t(sent)), 100);
  EXPECT_EQ(packet[20], 0x5A);
}

TEST(DtlsSrtp, ACertificateOtherThanTheOfferedFingerprintFailsTheHandshake) {
  std::string error;
  auto server_id = DtlsIdentity::Generate(&error);
  auto client_id = DtlsIdentity::Generate(&error);
  auto impostor = DtlsIdentity::Generate(&error);
  ASSERT_TRUE(server_id && client_id && impostor) << error;
  // The server was told (by the offer) to expect someone else's certificate.
  DtlsEndpoint server(server_id, DtlsEndpoint::Role::kServer, "sha-256", impostor->fingerprint());
  DtlsEndpoint client(client_id, DtlsEndpoint::Role::kClient, "sha-256", server_id->fingerprint());
  Handshake(client, server);
  EXPECT_EQ(server.state(), DtlsEndpoint::State::kFailed);
  EXPECT_NE(server.error().find("fingerprint"), std::string::npos) << server.error();
}

// A viewer on a real socket: the light client's side of the shared port, driven by hand.
class TestViewer {
 public:
  TestViewer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string error;
    id_ = DtlsIdentity::Generate(&error);
  }
  ~TestViewer() { ::close(fd_); }
  PeerOffer Offer() const { return {"clnt", "client-password-24chars!", "sha-256", id_->fingerprint()}; }
  void SendTo(const uint8_t* d, std::size_t n) {
    ::sendto(fd_, d, n, 0, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
  }
  // One datagram, or empty after the timeout.
  std::vector<uint8_t> Receive(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return {};
    std::vector<uint8_t> buf(2048);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? std::size_t(n) : 0);
    return buf;
  }
  // ICE check answered, then DTLS as the client until connected. False on failure.
  bool Connect(const WebrtcServer& server, const WebrtcPeer& peer) {
    server_ = Loopback(server.port());
    checker_ = std::make_unique<IceChecker>(peer.ufrag() + ":clnt", peer.pwd());
    uint8_t req[512];
    const std::size_t n = checker_->Build(true, req, sizeof req);
    SendTo(req, n);
    auto reply = Receive();
    if (reply.empty() || !checker_->IsSuccess(reply.data(), reply.size())) return false;
    dtls_ = std::make_unique<DtlsEndpoint>(id_, DtlsEndpoint::Role::kClient, "sha-256", server.fingerprint());
    Datagrams out;
    dtls_->Start(&out);
    for (int i = 0; i < 20 && dtls_->state() == DtlsEndpoint::State::kHandshaking; ++i) {
      for (const auto& d : out) SendTo(d.data(), d.size());
      out.clear();
      auto in = Receive();
      if (in.empty()) return false;
      if (Classify(in.data(), in.size()) == Datagram::kDtls) dtls_->Receive(in.data(), in.size(), &out);
    }
    for (const auto& d : out) SendTo(d.data(), d.size());
    return dtls_->state() == DtlsEndpoint::State::kConnected;
  }
  void Check() {
    uint8_t req[512];
    SendTo(req, checker_->Build(false, req, sizeof req));
  }
  const SrtpKeys& keys() const { return dtls_->keys(); }

 private:
  int fd_ = -1;
  sockaddr_in server_{};
  std::shared_ptr<DtlsIdentity> id_;
  std::unique_ptr<IceChecker> checker_;
  std::unique_ptr<DtlsEndpoint> dtls_;
};

template <typename F>
bool WaitFor(F f, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(WebrtcServer, AViewerConnectsGetsTheFanoutFromTheSharedPortAndLosesConsentWhenChecksStop) {
  WebrtcServerOptions o;
  o.consent_timeout = std::chrono::milliseconds(600);
  std::string error;
  auto server = WebrtcServer::Create(o, &error);
  ASSERT_TRUE(server) << error;
  fanout::FanoutOptions fo;
  fo.max_backlog_ms = 0;
  auto fanout = fanout::FanoutEngine::Create(fo, &error);
  ASSERT_TRUE(fanout) << error;

  TestViewer viewer;
  std::atomic<bool> connected{false};
  std::unique_ptr<fanout::ListenerHandle> listener;
  sockaddr_in seen{};
  auto peer = server->Admit(viewer.Offer(), [&](const sockaddr_in& to, const SrtpKeys& keys) {
    fanout::ListenerSpec spec;
    spec.channel = 1;
    spec.destination = to;
    spec.ssrc = 0xABCD;
    spec.suite = keys.suite;
    spec.master_key = keys.local;
    spec.socket = server->socket();
    spec.payload_type = 109;
    listener = fanout->AddListener(spec, nullptr);
    seen = to;
    connected = true;
  });
  ASSERT_TRUE(viewer.Connect(*server, *peer));
  ASSERT_TRUE(WaitFor([&] { return connected.load(); })) << "the server's connected callback ran";
  ASSERT_TRUE(listener);
  EXPECT_EQ(server->Stats().handshakes, 1u);

  // A channel packet reaches the viewer from the shared port, in its payload type, under its DTLS key.
  uint8_t packet[200] = {};
  rtp::WriteHeader(packet, 96, false, 100, 4800, 0xC0FFEE);
  packet[12] = 0x77;
  fanout->Push(1, packet, 12 + 60);
  std::vector<uint8_t> got;
  for (int i = 0; i < 5 && got.empty(); ++i) {
    auto d = viewer.Receive();
    if (!d.empty() && Classify(d.data(), d.size()) == Datagram::kRtp) got = d;
  }
  ASSERT_FALSE(got.empty()) << "no SRTP packet at the viewer";
  auto rx = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, viewer.keys().suite, viewer.keys().remote,
                                     0xABCD);
  const int len = rx->Unprotect(got.data(), got.size());
  ASSERT_EQ(len, 72);
  auto h = rtp::ParseRtp(got.data(), std::size_t(len));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.header->payload_type, 109);
  EXPECT_EQ(got[12], 0x77);

  // A receiver report (SRTCP, the viewer's own key) is read: 25 % lost, jitter 480 samples.
  uint8_t rr[128] = {0x81, 201, 0, 7, 0, 0, 0, 0x42, 0, 0, 0xAB, 0xCD, 64, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0x01, 0xE0};
  auto tx =
      rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, viewer.keys().suite, viewer.keys().local, 0x42);
  const int rr_len = tx->ProtectRtcp(rr, 32, sizeof rr);
  ASSERT_GT(rr_len, 32);
  viewer.SendTo(rr, std::size_t(rr_len));
  ASSERT_TRUE(WaitFor([&] { return peer->report().receiver_reports == 1; })) << server->Stats().rtcp_refused;
  EXPECT_DOUBLE_EQ(peer->report().fraction_lost, 0.25);
  EXPECT_EQ(peer->report().cumulative_lost, 3);
  EXPECT_EQ(peer->report().jitter_samples, 480u);

  // Consent: checks keep it alive; without them it expires.
  for (int i = 0; i < 4; ++i) {
    viewer.Check();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_FALSE(peer->over()) << peer->why_over();
  EXPECT_TRUE(WaitFor([&] { return peer->over(); }));
  EXPECT_NE(peer->why_over().find("consent"), std::string::npos) << peer->why_over();
  server->Forget(peer);
  listener.reset();
  EXPECT_EQ(server->Stats().peers, 0u);
}

TEST(WebrtcServer, DatagramsFromStrangersAreCountedAndDropped) {
  std::string error;
  auto server = WebrtcServer::Create({}, &error);
  ASSERT_TRUE(server) << error;
  TestViewer stranger;
  auto peer = server->Admit(stranger.Offer(), nullptr);
  // Another viewer's ufrag is not this one's: a check naming a ufrag nobody has is refused.
  IceChecker wrong("nope:clnt", peer->pwd());
  uint8_t req[512];
  const sockaddr_in to = Loopback(server->port());
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const std::size_t n = wrong.Build(true, req, sizeof req);
  ::sendto(fd, req, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  const uint8_t dtls_hello[] = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  ::sendto(fd, dtls_hello, sizeof dtls_hello, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return server->Stats().checks_refused == 1 && server->Stats().dropped == 1; }))
      << server->Stats().checks_refused << " refused, " << server->Stats().dropped << " dropped";
  EXPECT_EQ(server->Stats().handshakes, 0u);
  server->Forget(peer);
}

TEST(LiteAnswer, AnswersTheAudioSectionFromTheSharedPortAndRejectsTheRest) {
  const std::string offer_text =
      "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "a=fingerprint:sha-256 AA:BB\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n"
      "a=ice-pwd:0123456789abcdefghijkl\r\na=setup:actpass\r\na=recvonly\r\na=rtcp-mux\r\n"
      "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n";
  auto parsed = sdp::ParseWhepOffer(offer_text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto& offer = parsed.value();
  EXPECT_EQ(offer.ice_ufrag, "abcd");
  EXPECT_EQ(offer.fingerprint_hash, "sha-256");
  EXPECT_EQ(offer.fingerprint, "AA:BB") << "the session's fingerprint applies to the section";
  EXPECT_EQ(offer.setup, "actpass");
  ASSERT_EQ(offer.sections.size(), 2u);
  sdp::LiteAnswer a{"srvr", "server-password-24chars!", "CC:DD", "192.0.2.7", 50000, 77, "en"};
  const std::string answer = sdp::BuildLiteAnswer(offer, a);
  EXPECT_TRUE(sdp::CheckWhepAnswer(offer, answer).ok()) << sdp::CheckWhepAnswer(offer, answer).message();
  for (const char* line : {"a=ice-lite\r\n", "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\n", "a=setup:passive\r\n",
                           "a=candidate:1 1 udp 2130706431 192.0.2.7 50000 typ host\r\n", "a=ssrc:77 cname:tilmash\r\n",
                           "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n", "a=group:BUNDLE 0\r\n"})
    EXPECT_NE(answer.find(line), std::string::npos) << line << " missing from\n" << answer;

  auto bad = sdp::ParseWhepOffer(
      "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:abcd\r\n"
      "a=ice-pwd:short\r\na=fingerprint:sha-256 AA\r\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("a=ice-pwd must be 22-256 characters"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace tilmash::webrtc
