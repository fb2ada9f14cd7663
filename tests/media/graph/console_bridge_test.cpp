// A browser console's link to its ingest, without a browser: the playout queue sends packets in
// sequence order on their RTP schedule, continues the console's stream across a reconnect,
// rewrites SSRC and payload type, and protects them with the console's key; and the regular
// timestamps of decoded console audio.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "graph/console_bridge.h"
#include "graph/retimestamp.h"
#include "rtp/rtp_packet.h"

namespace tilmash::graph {
namespace {

using namespace std::chrono_literals;

struct Ingest {  // a UDP socket standing in for the console's ingest
  int fd = -1;
  uint16_t port = 0;
  Ingest() {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t n = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  ~Ingest() { close(fd); }
  // The next packet within `ms`, decrypted; empty when none.
  std::vector<uint8_t> Next(rtp::SrtpContext& srtp, int ms = 500) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return {};
    std::vector<uint8_t> b(2048);
    const ssize_t n = recv(fd, b.data(), b.size(), 0);
    const int plain = n > 0 ? srtp.Unprotect(b.data(), std::size_t(n)) : -1;
    if (plain < 0) return {};
    b.resize(std::size_t(plain));
    return b;
  }
};

std::vector<uint8_t> BrowserPacket(uint16_t seq, uint32_t ts, uint32_t ssrc = 0x1234) {
  std::vector<uint8_t> p(12 + 40, 0x55);
  rtp::WriteHeader(p.data(), 111, false, seq, ts, ssrc);
  return p;
}

class ConsoleLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rtp::EnsureSrtpInitialised();
    std::string error;
    link_ = ConsoleLink::Create(ports_, &error);
    ASSERT_TRUE(link_) << error;
    key_.master_key = rtp::RandomMasterKey(key_.suite);
    ASSERT_TRUE(link_->Attach("127.0.0.1", ingest_.port, kSsrc, 96, key_, 0x777, key_, &error)) << error;
    srtp_ = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, key_.suite, key_.master_key, kSsrc);
    link_->SetPlayoutDelay(30);
  }
  static constexpr uint32_t kSsrc = 0xC0DE;
  fanout::PortAllocator ports_{fanout::PortRange{}};
  std::unique_ptr<ConsoleLink> link_;
  SrtpKey key_;
  Ingest ingest_;
  rtp::SrtpContextPtr srtp_;
};

TEST_F(ConsoleLinkTest, ReorderedPacketsLeaveInSequenceAsTheConsolesStream) {
  // 10 ms packets arriving 3, 1, 2, 4 within the playout delay.
  for (uint16_t s : {3, 1, 2, 4}) {
    auto p = BrowserPacket(uint16_t(100 + s), 480u * s);
    link_->Forward(p.data(), p.size());
  }
  std::vector<uint16_t> seqs;
  uint16_t first = 0;
  for (int i = 0; i < 4; ++i) {
    auto b = ingest_.Next(*srtp_);
    ASSERT_FALSE(b.empty()) << "packet " << i << " never reached the ingest";
    auto h = rtp::ParseRtp(b.data(), b.size());
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h.header->ssrc, kSsrc) << "the console's SSRC";
    EXPECT_EQ(h.header->payload_type, 96) << "the ingest's payload type";
    if (i == 0) first = h.header->sequence;
    seqs.push_back(uint16_t(h.header->sequence - first));
  }
  EXPECT_EQ(seqs, (std::vector<uint16_t>{0, 1, 2, 3}));
  // Counted after its send returned: the ingest may have read the 4th packet a moment before.
  for (int i = 0; i < 100 && link_->counters().up.load() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(link_->counters().up.load(), 4u);
}

TEST_F(ConsoleLinkTest, APacketWhoseTurnHasPassedIsDroppedAndCounted) {
  link_->SetPlayoutDelay(5);
  auto a = BrowserPacket(10, 0), c = BrowserPacket(12, 960);
  link_->Forward(a.data(), a.size());
  link_->Forward(c.data(), c.size());
  ASSERT_FALSE(ingest_.Next(*srtp_).empty());
  ASSERT_FALSE(ingest_.Next(*srtp_).empty());
  auto b = BrowserPacket(11, 480);  // arrives after 12 went out
  link_->Forward(b.data(), b.size());
  EXPECT_TRUE(ingest_.Next(*srtp_, 100).empty());
  EXPECT_EQ(link_->counters().up_late.load(), 1u);
  EXPECT_EQ(link_->counters().up_lost.load(), 1u) << "11 was missing when 12 came";
}

TEST_F(ConsoleLinkTest, AReconnectedPageContinuesTheConsolesSequence) {
  auto a = BrowserPacket(500, 1000, 0xAAAA);
  link_->Forward(a.data(), a.size());
  auto first = ingest_.Next(*srtp_);
  ASSERT_FALSE(first.empty());
  const auto h1 = *rtp::ParseRtp(first.data(), first.size()).header;
  std::this_thread::sleep_for(100ms);
  link_->Restart();  // a new WebRTC connection: a new SSRC, sequence and timestamps of its own
  auto b = BrowserPacket(7, 99999, 0xBBBB);
  link_->Forward(b.data(), b.size());
  auto second = ingest_.Next(*srtp_);
  ASSERT_FALSE(second.empty()) << "the same key and SSRC go on (the ingest's replay window too)";
  const auto h2 = *rtp::ParseRtp(second.data(), second.size()).header;
  EXPECT_EQ(uint16_t(h2.sequence - h1.sequence), 1) << "the next sequence number";
  const uint32_t elapsed = h2.timestamp - h1.timestamp;
  EXPECT_GE(elapsed, 48u * 90) << "the timestamp moved on by the time elapsed";
  EXPECT_LT(elapsed, 48u * 2000);
}

TEST(RetimestampTest, BuffersContinueEachOtherAndFollowArrivalsSlowly) {
  Retimestamp r;
  const GstClockTime ms = GST_MSECOND;
  EXPECT_EQ(r.Next(100 * ms, 480, false, 200 * ms), 100 * ms);
  // Jittery arrival stamps (+-8 ms): the output stays 10 ms apart, nudged by 1/32 of the offset.
  const GstClockTime b = r.Next(118 * ms, 480, false, 200 * ms);
  EXPECT_EQ(b, 110 * ms + 8 * ms / 32);
  const GstClockTime c = r.Next(112 * ms, 480, false, 200 * ms);
  EXPECT_EQ(c, b + 10 * ms + GstClockTimeDiff(112 * ms - (b + 10 * ms)) / 32);
  // A jump beyond 60 ms (a gap) re-anchors; a stamp ahead of the clock is taken as now.
  EXPECT_EQ(r.Next(400 * ms, 480, false, 500 * ms), 400 * ms);
  EXPECT_EQ(r.Next(700 * ms, 480, false, 650 * ms), 650 * ms);
  EXPECT_EQ(r.Next(660 * ms, 480, true, 700 * ms), 660 * ms) << "a discont re-anchors";
}

TEST(RetimestampTest, OnTheFrameGridAStreamKeepsTheGridsPhase) {
  const GstClockTime ms = GST_MSECOND;
  Retimestamp r(10 * ms);
  // Arriving 3.4 ms past a frame: stamped at the next frame, and its buffers continue from there.
  EXPECT_EQ(r.Next(103 * ms + 400 * GST_USECOND, 480, false, 200 * ms), 110 * ms);
  const GstClockTime b = r.Next(113 * ms + 400 * GST_USECOND, 480, false, 200 * ms);
  EXPECT_EQ(b, 120 * ms) << "the same phase as the first: on the grid";
  // Arrival jitter nudges the stream by 1/32 of it, as without the grid.
  const GstClockTime c = r.Next(127 * ms, 480, false, 200 * ms);
  EXPECT_EQ(c, 130 * ms + GstClockTimeDiff(127 * ms - (123 * ms + 400 * GST_USECOND)) / 32);
  // A re-anchor (a gap) takes the grid again from its own arrival.
  EXPECT_EQ(r.Next(501 * ms, 480, false, 600 * ms), 510 * ms);
  EXPECT_EQ(r.Next(520 * ms, 480, true, 600 * ms), 520 * ms) << "already on the grid: not moved";
}

}  // namespace
}  // namespace tilmash::graph
