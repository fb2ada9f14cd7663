#include "rtp/rtp_packet.h"

namespace tilmash::rtp {

std::ostream& operator<<(std::ostream& os, ParseError e) {
  switch (e) {
    case ParseError::kShort:
      return os << "short";
    case ParseError::kBadVersion:
      return os << "bad-version";
    case ParseError::kBadCsrcCount:
      return os << "bad-csrc-count";
    case ParseError::kBadExtension:
      return os << "bad-extension";
    case ParseError::kBadPadding:
      return os << "bad-padding";
    case ParseError::kOversized:
      return os << "oversized";
  }
  return os << "unknown";
}

ParseResult ParseRtp(const uint8_t* data, std::size_t size, std::size_t srtp_tag_size) {
  ParseResult r;
  if (size > kMaxPacket) {
    r.error = ParseError::kOversized;
    return r;
  }
  if (size < kMinHeader + srtp_tag_size) {
    r.error = ParseError::kShort;
    return r;
  }
  size -= srtp_tag_size;
  if ((data[0] >> 6) != 2) {
    r.error = ParseError::kBadVersion;
    return r;
  }
  const std::size_t csrc = data[0] & 0x0f;
  std::size_t header = kMinHeader + 4 * csrc;
  if (header > size) {
    r.error = ParseError::kBadCsrcCount;
    return r;
  }
  if (data[0] & 0x10) {
    if (header + 4 > size) {
      r.error = ParseError::kBadExtension;
      return r;
    }
    header += 4 + 4 * std::size_t(ReadU16(data + header + 2));
    if (header > size) {
      r.error = ParseError::kBadExtension;
      return r;
    }
  }
  std::size_t padding = 0;
  if (data[0] & 0x20) {
    padding = data[size - 1];
    // With SRTP the padding is encrypted; only check it on plain RTP.
    if (srtp_tag_size == 0 && (padding == 0 || header + padding > size)) {
      r.error = ParseError::kBadPadding;
      return r;
    }
    if (srtp_tag_size != 0) padding = 0;
  }
  RtpHeaderView h;
  h.marker = data[1] & 0x80;
  h.payload_type = data[1] & 0x7f;
  h.sequence = ReadU16(data + 2);
  h.timestamp = ReadU32(data + 4);
  h.ssrc = ReadU32(data + 8);
  h.header_size = header;
  h.payload_size = size - header - padding;
  r.header = h;
  return r;
}

void WriteHeader(uint8_t* out, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc) {
  out[0] = 0x80;
  out[1] = uint8_t((marker ? 0x80 : 0) | (pt & 0x7f));
  WriteU16(out + 2, seq);
  WriteU32(out + 4, ts);
  WriteU32(out + 8, ssrc);
}

}  // namespace tilmash::rtp
