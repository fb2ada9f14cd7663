#include "rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <vector>

namespace tilmash::rtp {
namespace {

std::vector<uint8_t> Packet(std::size_t payload) {
  std::vector<uint8_t> p(12 + payload, 0xab);
  WriteHeader(p.data(), 96, true, 65535, 123456, 0xdeadbeef);
  return p;
}

TEST(RtpPacket, ParsesHeaderFields) {
  auto p = Packet(40);
  auto r = ParseRtp(p.data(), p.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header->payload_type, 96);
  EXPECT_TRUE(r.header->marker);
  EXPECT_EQ(r.header->sequence, 65535);
  EXPECT_EQ(r.header->timestamp, 123456u);
  EXPECT_EQ(r.header->ssrc, 0xdeadbeefu);
  EXPECT_EQ(r.header->header_size, 12u);
  EXPECT_EQ(r.header->payload_size, 40u);
}

TEST(RtpPacket, RejectsMalformedPackets) {
  auto p = Packet(0);
  EXPECT_EQ(ParseRtp(p.data(), 11).error, ParseError::kShort);
  auto bad_version = Packet(4);
  bad_version[0] = 0x40;
  EXPECT_EQ(ParseRtp(bad_version.data(), bad_version.size()).error, ParseError::kBadVersion);
  auto csrc = Packet(4);
  csrc[0] |= 0x0f;  // 15 CSRCs claimed, 4 bytes present
  EXPECT_EQ(ParseRtp(csrc.data(), csrc.size()).error, ParseError::kBadCsrcCount);
  auto ext = Packet(8);
  ext[0] |= 0x10;
  ext[14] = 0x10;  // extension length 4096 words
  EXPECT_EQ(ParseRtp(ext.data(), ext.size()).error, ParseError::kBadExtension);
  auto pad = Packet(4);
  pad[0] |= 0x20;
  pad.back() = 200;
  EXPECT_EQ(ParseRtp(pad.data(), pad.size()).error, ParseError::kBadPadding);
  std::vector<uint8_t> big(kMaxPacket + 1, 0x80);
  EXPECT_EQ(ParseRtp(big.data(), big.size()).error, ParseError::kOversized);
}

TEST(RtpPacket, HonoursExtensionAndPadding) {
  auto p = Packet(20);
  p[0] |= 0x30;  // extension + padding
  p[14] = 0;
  p[15] = 1;  // one extension word
  p.back() = 4;
  auto r = ParseRtp(p.data(), p.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header->header_size, 20u);
  EXPECT_EQ(r.header->payload_size, 20u - 8u - 4u);
}

TEST(RtpPacket, RewritesInPlace) {
  auto p = Packet(4);
  SetSsrc(p.data(), 7);
  SetSequence(p.data(), 9);
  SetTimestamp(p.data(), 11);
  SetPayloadType(p.data(), 111);
  auto r = ParseRtp(p.data(), p.size());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.header->ssrc, 7u);
  EXPECT_EQ(r.header->sequence, 9);
  EXPECT_EQ(r.header->timestamp, 11u);
  EXPECT_EQ(r.header->payload_type, 111);
  EXPECT_TRUE(r.header->marker);
}

}  // namespace
}  // namespace tilmash::rtp
