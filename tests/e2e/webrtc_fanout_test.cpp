// WebRTC viewers through the fan-out, against the real daemon: light WebRTC peers
// (tools/tilmash-whep-load's WhepPeer: a real ICE check, DTLS handshake, SRTP and SRTCP
// receiver reports, no browser) POST their offers to WHEP. Each must hear its channel from the
// one shared WebRTC port, decoded as a headset listener of the same channel decodes it; the
// node's metrics must show the handshakes and the receiver reports; DELETE must stop a viewer's
// stream and only its. The browser's own WebRTC on the same path: browser_test.cpp.
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include "audio/audio.h"
#include "e2e_support.h"
#include "http_client.h"
#include "rtp/rtp_packet.h"
#include "webrtc/dtls_srtp.h"
#include "whepload/whep_http.h"
#include "whepload/whep_peer.h"

namespace tilmash::testing {
namespace {

using namespace std::chrono_literals;
using whepload::WhepPeer;

double Value(const std::string& scrape, const std::string& series) {
  const std::string at = "\n" + series + " ";
  const auto i = scrape.find(at);
  if (i == std::string::npos) return std::nan("");
  return std::strtod(scrape.c_str() + i + at.size(), nullptr);
}

// Polls every peer's socket and ticks them all for `d`, or until `done` says so.
void Drive(std::vector<std::unique_ptr<WhepPeer>>& peers, std::chrono::milliseconds d,
           const std::function<bool()>& done = nullptr) {
  const auto end = std::chrono::steady_clock::now() + d;
  std::vector<pollfd> fds;
  for (auto& p : peers) fds.push_back({p ? p->fd() : -1, POLLIN, 0});
  while (std::chrono::steady_clock::now() < end && !(done && done())) {
    ::poll(fds.data(), fds.size(), 10);
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (!peers[i]) continue;
      if (fds[i].revents & POLLIN) peers[i]->OnReadable();
      peers[i]->Tick(now);
    }
  }
}

class WebrtcFanoutTest : public E2eTest {
 protected:
  std::string Scrape() { return Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token()).body; }
  int AudienceOf(const std::string& session, const std::string& channel) {
    const v1::Session s = GetSession(session);
    for (const auto& c : s.channels())
      if (c.language() == channel) return int(c.listener_count());
    return -1;
  }
};

TEST_F(WebrtcFanoutTest, LightViewersHearTheirChannelFromTheSharedPortAsAHeadsetDoes) {
  const v1::Session s = CreateSession({"ru"}, 440.0, "en");
  ASSERT_FALSE(s.id().empty());
  auto ru = Join(s.id(), "ru");
  auto voice = Speak(ru.ingest(), 880);
  ASSERT_TRUE(SetMic(s.id(), ru.console().id(), true).ok());
  auto headset = Listen(s.id(), "ru");
  ASSERT_TRUE(headset);

  constexpr int kViewers = 20;
  const std::string token = Mint(v1::VIEWER, s.id(), "", {}, kViewers).token();
  std::string error;
  auto identity = webrtc::DtlsIdentity::Generate(&error);
  ASSERT_TRUE(identity) << error;
  // The first viewer decodes what it gets, as a browser would.
  auto decoder = audio::OpusDecoder::Create(&error);
  ASSERT_TRUE(decoder) << error;
  std::vector<float> heard;
  whepload::WhepPeerOptions with_ears;
  with_ears.on_rtp = [&](const uint8_t* p, std::size_t n) {
    auto h = rtp::ParseRtp(p, n);
    if (!h.ok()) return;
    float pcm[5760];
    const int got = decoder->Decode(p + h.header->header_size, int(h.header->payload_size), pcm, 5760);
    if (got > 0) heard.insert(heard.end(), pcm, pcm + got);
  };
  whepload::WhepHttp http(token, 10);
  std::vector<std::unique_ptr<WhepPeer>> peers;
  std::vector<std::string> locations;
  std::set<uint16_t> ports;
  for (int i = 0; i < kViewers; ++i) {
    auto peer = WhepPeer::Create(identity, i == 0 ? with_ears : whepload::WhepPeerOptions{}, &error);
    ASSERT_TRUE(peer) << error;
    const auto reply = http.PostOffer(daemon_.http_url() + "whep/" + s.id() + "/ru", peer->Offer());
    ASSERT_EQ(reply.status, 201) << reply.Describe();
    ASSERT_TRUE(peer->Answer(reply.body, &error)) << error << "\n" << reply.body;
    auto answer = whepload::ParseAnswer(reply.body, &error);
    ASSERT_TRUE(answer) << error;
    ports.insert(ntohs(answer->address.sin_port));
    EXPECT_NE(reply.body.find("a=ice-lite"), std::string::npos) << reply.body;
    locations.push_back(reply.location);
    peers.push_back(std::move(peer));
  }
  EXPECT_EQ(ports.size(), 1u) << "every viewer is answered with the one shared WebRTC port";
  const auto daemon_ports = UdpPortsOf(daemon_.pid());
  EXPECT_TRUE(std::find(daemon_ports.begin(), daemon_ports.end(), *ports.begin()) != daemon_ports.end())
      << "the candidate's port is one the daemon holds";

  const auto all_hearing = [&] {
    for (auto& p : peers)
      if (p->stats().packets < 150) return false;
    return true;
  };
  Drive(peers, 10s, all_hearing);
  for (int i = 0; i < kViewers; ++i) {
    const auto& st = peers[std::size_t(i)]->stats();
    EXPECT_TRUE(st.connected) << "viewer " << i << ": " << peers[std::size_t(i)]->state() << " " << st.error;
    EXPECT_GE(st.packets, 150u) << "viewer " << i;
    EXPECT_EQ(st.lost, 0u) << "viewer " << i;
    EXPECT_EQ(st.auth_failures, 0u) << "viewer " << i;
  }
  // The viewer's audio: the interpreter's 880 Hz at the level a headset of the same channel
  // decodes, the floor ducked under it.
  ASSERT_GE(heard.size(), 48000u) << "the first viewer decoded under a second of audio";
  std::vector<float> last(heard.end() - 48000, heard.end());
  const double viewer_db = audio::ToneLevelDb(last, 880);
  const double headset_db = NextLevels(*headset, {880}, 1000)[0];
  std::printf("[ webrtc   ] viewer: 880 Hz at %.2f dBFS (dominant %.1f Hz), 440 Hz at %.2f; headset: %.2f dBFS\n",
              viewer_db, audio::DominantFrequency(last), audio::ToneLevelDb(last, 440), headset_db);
  EXPECT_NEAR(audio::DominantFrequency(last), 880, 10);
  EXPECT_NEAR(viewer_db, headset_db, 1.0);
  EXPECT_GT(viewer_db - audio::ToneLevelDb(last, 440), 15) << "the floor is ducked under the interpreter";

  // The audience counts them; the node's metrics show their handshakes and receiver reports.
  EXPECT_EQ(AudienceOf(s.id(), "ru"), kViewers + 1);
  Drive(peers, 1200ms);  // a receiver report a second from each
  const std::string m = Scrape();
  EXPECT_EQ(Value(m, "tilmash_webrtc_viewers"), kViewers);
  EXPECT_EQ(Value(m, "tilmash_webrtc_dtls_handshakes_total{result=\"done\"}"), kViewers);
  EXPECT_EQ(Value(m, "tilmash_webrtc_dtls_handshakes_total{result=\"failed\"}"), 0);
  EXPECT_GE(Value(m, "tilmash_webrtc_rtcp_packets_total{result=\"accepted\"}"), kViewers);
  EXPECT_EQ(Value(m, "tilmash_webrtc_rtcp_packets_total{result=\"refused\"}"), 0);

  // DELETE ends the first viewer's stream, and only its.
  ASSERT_EQ(Http(locations[0], "DELETE", "", "", token).status, 200);
  Drive(peers, 300ms);
  const uint64_t first = peers[0]->stats().packets, second = peers[1]->stats().packets;
  Drive(peers, 700ms);
  EXPECT_EQ(peers[0]->stats().packets, first) << "the ended viewer still gets packets";
  EXPECT_GE(peers[1]->stats().packets, second + 50) << "another viewer's stream stopped too";
  EXPECT_EQ(AudienceOf(s.id(), "ru"), kViewers);
}

// A server behind 1:1 NAT: its public address and fixed port in every candidate.
class WebrtcPublicIpTest : public E2eTest {
 protected:
  WebrtcPublicIpTest() : E2eTest({"--webrtc-public-ip", "192.0.2.10", "--webrtc-port", std::to_string(Port())}) {}
  static uint16_t Port() {
    static const uint16_t port = FreePortPair();
    return port;
  }
};

TEST_F(WebrtcPublicIpTest, TheAnswerNamesThePublicAddressAndAPassiveOfferIsRefused) {
  const v1::Session s = CreateSession({"ru"}, 440.0, "en");
  const std::string token = Mint(v1::VIEWER, s.id(), "", {}, 2).token();
  std::string error;
  auto identity = webrtc::DtlsIdentity::Generate(&error);
  auto peer = WhepPeer::Create(identity, {}, &error);
  ASSERT_TRUE(peer) << error;
  const std::string url = daemon_.http_url() + "whep/" + s.id() + "/ru";
  auto r = Http(url, "POST", "application/sdp", peer->Offer(), token);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string candidate = "a=candidate:1 1 udp 2130706431 192.0.2.10 " + std::to_string(Port()) + " typ host";
  EXPECT_NE(r.body.find(candidate), std::string::npos) << r.body;
  const auto held = UdpPortsOf(daemon_.pid());
  EXPECT_TRUE(std::find(held.begin(), held.end(), Port()) != held.end()) << "--webrtc-port is bound";

  // An offer that wants the daemon to be the DTLS client is refused, naming why.
  std::string passive = peer->Offer();
  passive.replace(passive.find("a=setup:actpass"), 15, "a=setup:passive");
  r = Http(url, "POST", "application/sdp", passive, token);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("a=setup:passive"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tilmash::testing
