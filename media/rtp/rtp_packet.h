// RTP header view and validation (RFC 3550). No allocation, no GStreamer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>

namespace tilmash::rtp {

inline constexpr std::size_t kMinHeader = 12;
inline constexpr std::size_t kMaxPacket = 1500;

enum class ParseError { kShort, kBadVersion, kBadCsrcCount, kBadExtension, kBadPadding, kOversized };
std::ostream& operator<<(std::ostream& os, ParseError e);

struct RtpHeaderView {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::size_t header_size = 0;   // incl. CSRCs and extension
  std::size_t payload_size = 0;  // excl. padding
};

struct ParseResult {
  std::optional<RtpHeaderView> header;
  ParseError error = ParseError::kShort;
  bool ok() const { return header.has_value(); }
};

// Validates an RTP packet. `srtp_tag_size` bytes at the end are ignored (SRTP auth tag).
ParseResult ParseRtp(const uint8_t* data, std::size_t size, std::size_t srtp_tag_size = 0);

// In-place header rewrites used by the fan-out.
inline void WriteU16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void WriteU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline uint16_t ReadU16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t ReadU32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
inline void SetSsrc(uint8_t* pkt, uint32_t ssrc) { WriteU32(pkt + 8, ssrc); }
inline void SetSequence(uint8_t* pkt, uint16_t seq) { WriteU16(pkt + 2, seq); }
inline void SetTimestamp(uint8_t* pkt, uint32_t ts) { WriteU32(pkt + 4, ts); }
inline void SetPayloadType(uint8_t* pkt, uint8_t pt) { pkt[1] = uint8_t((pkt[1] & 0x80) | (pt & 0x7f)); }

// Builds a minimal RTP header (no CSRC, no extension) into `out` (>= 12 bytes).
void WriteHeader(uint8_t* out, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc);

}  // namespace tilmash::rtp
