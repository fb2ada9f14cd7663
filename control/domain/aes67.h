// AES67 streams (RTP with linear PCM, AES67-2018): what the floor takes from a venue's sound
// desk (or a Dante/RAVENNA device in AES67 mode), described by the sender's SDP (RFC 4566 with
// RFC 7273's clock attributes). No I/O here: parsing and checking the description only.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/status.h"

namespace tilmash::domain {

struct Aes67Stream {
  std::string name;     // s=
  std::string address;  // c= (multicast group, or the unicast address the sender sends to)
  bool multicast = false;
  uint16_t port = 0;  // m=audio PORT RTP/AVP PT
  uint8_t payload_type = 0;
  int bits = 24;             // L24 or L16
  uint32_t channels = 1;     // a=rtpmap:PT L24/48000/CHANNELS
  uint32_t ptime_us = 1000;  // a=ptime (ms, fractions allowed: 0.125 ... 4); 1 ms when absent
  std::string source;        // a=source-filter's source address, if any (SSM)
};

// Parses an AES67 sender's SDP. Errors name `field` and what is wrong ("sdp: no m=audio line").
// Refused: no audio media, an encoding other than L24/L16, a clock rate other than 48 kHz,
// more than 8 channels, a packet time outside 125 us - 4 ms, a port of 0.
Result<Aes67Stream> ParseAes67Sdp(std::string_view sdp, const std::string& field);

}  // namespace tilmash::domain
