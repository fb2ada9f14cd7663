#include "domain/sdp.h"

#include <cstring>
#include <sstream>

namespace tilmash::domain {

namespace {
// RFC 7587: Opus frames of 2.5 ms are a ptime of 2.5.
std::string PtimeText(const SendInfo& send) {
  if (send.frame_us == 0 || send.frame_us % 1000 == 0)
    return std::to_string(send.frame_us ? send.frame_us / 1000 : send.frame_ms);
  return std::to_string(send.frame_us / 1000) + "." + std::to_string(send.frame_us % 1000 / 100);
}
}  // namespace

std::string ListenerSdp(const std::string& session_name, const ListenerView& l) {
  const bool v6 = l.endpoint.host.find(':') != std::string::npos;
  const char* suite = l.srtp.suite == CryptoSuite::kAeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
  const unsigned pt = l.send.payload_type;
  std::ostringstream sdp;
  sdp << "v=0\r\n"
      << "o=- " << l.ssrc << " 1 IN " << (v6 ? "IP6 " : "IP4 ") << l.send.source.host << "\r\n"
      << "s=" << (session_name.empty() ? "Tilmash" : session_name) << " - " << l.channel << "\r\n"
      << "c=IN " << (v6 ? "IP6 " : "IP4 ") << l.endpoint.host
      << (l.transport == Transport::kMulticast && !v6 ? "/1" : "") << "\r\n"
      << "t=0 0\r\n"
      << "a=tool:tilmash\r\n"
      << "m=audio " << l.endpoint.port << " RTP/SAVP " << pt << "\r\n"
      << "a=rtpmap:" << pt << " opus/48000/2\r\n"
      << "a=fmtp:" << pt << " stereo=0;sprop-stereo=0;useinbandfec=0\r\n"
      << "a=ptime:" << PtimeText(l.send) << "\r\n"
      << "a=ssrc:" << l.ssrc << " cname:tilmash-" << l.channel << "\r\n"
      << "a=crypto:1 " << suite << " inline:" << Base64Encode(l.srtp.master_key) << "\r\n"
      << "a=lang:" << l.channel << "\r\n"
      << "a=recvonly\r\n";
  return sdp.str();
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::span<const uint8_t> d) {
  std::string out;
  out.reserve((d.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < d.size(); i += 3) {
    uint32_t v = uint32_t(d[i]) << 16 | uint32_t(d[i + 1]) << 8 | d[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == d.size()) {
    uint32_t v = uint32_t(d[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == d.size()) {
    uint32_t v = uint32_t(d[i]) << 16 | uint32_t(d[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::vector<uint8_t>> Base64Decode(std::string_view t) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : t) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (!p || c == 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
    }
  }
  return out;
}

}  // namespace tilmash::domain
