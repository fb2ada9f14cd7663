#include "domain/aes67.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <vector>

namespace tilmash::domain {

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const auto at = s.find(sep);
    const auto part = s.substr(0, at);
    if (!part.empty()) out.push_back(part);
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

template <class T>
bool Number(std::string_view s, T* out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// A value from the SDP, as an error message quotes it: at most 40 characters.
std::string Quote(std::string_view v) { return v.size() <= 40 ? std::string(v) : std::string(v.substr(0, 40)) + "..."; }

bool IsMulticast(const std::string& address) {
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
  return (ntohl(a.s_addr) >> 28) == 0xE;
}

}  // namespace

Result<Aes67Stream> ParseAes67Sdp(std::string_view sdp, const std::string& field) {
  if (sdp.size() > 16 * 1024) return InvalidArgument(field + ": longer than 16 KiB");
  Aes67Stream s;
  bool in_audio = false, have_audio = false, have_rtpmap = false;
  std::string session_c, media_c;
  std::vector<std::string_view> payload_types;
  for (std::string_view line : Split(sdp, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 2 || line[1] != '=') continue;
    const char kind = line[0];
    const std::string_view value = line.substr(2);
    if (kind == 'm') {
      if (have_audio) {  // only the first audio stream is taken
        in_audio = false;
        continue;
      }
      const auto f = Split(value, ' ');
      in_audio = f.size() >= 4 && f[0] == "audio";
      if (!in_audio) continue;
      have_audio = true;
      uint32_t port = 0;
      if (!Number(f[1].substr(0, f[1].find('/')), &port) || port == 0 || port > 65535)
        return InvalidArgument(field + ": m=audio has no valid port (" + Quote(f[1]) + ")");
      s.port = uint16_t(port);
      if (f[2] != "RTP/AVP") return InvalidArgument(field + ": m=audio is " + Quote(f[2]) + ", AES67 is RTP/AVP");
      payload_types.assign(f.begin() + 3, f.end());
    } else if (kind == 's' && !have_audio) {
      s.name = std::string(value.substr(0, 200));
    } else if (kind == 'c') {
      const auto f = Split(value, ' ');
      if (f.size() != 3 || f[0] != "IN") return InvalidArgument(field + ": c= line is not IN IP4 ADDRESS");
      if (f[1] != "IP4") return InvalidArgument(field + ": only IPv4 streams are taken (c= " + Quote(f[1]) + ")");
      (in_audio ? media_c : session_c) = std::string(f[2].substr(0, f[2].find('/')));  // drop /ttl
    } else if (kind == 'a' && in_audio) {
      const auto colon = value.find(':');
      const std::string_view name = value.substr(0, colon);
      const std::string_view arg = colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
      if (name == "rtpmap") {
        const auto f = Split(arg, ' ');
        uint32_t pt = 0;
        if (f.size() != 2 || !Number(f[0], &pt) || pt > 127) continue;
        if (payload_types.empty() || f[0] != payload_types.front()) continue;
        const auto enc = Split(f[1], '/');
        if (enc.size() < 2) return InvalidArgument(field + ": a=rtpmap:" + Quote(arg) + " has no clock rate");
        if (enc[0] == "L24" || enc[0] == "l24")
          s.bits = 24;
        else if (enc[0] == "L16" || enc[0] == "l16")
          s.bits = 16;
        else
          return InvalidArgument(field + ": encoding " + Quote(enc[0]) + " is not AES67's L24 or L16");
        uint32_t rate = 0;
        if (!Number(enc[1], &rate) || rate != 48000)
          return InvalidArgument(field + ": clock rate " + Quote(enc[1]) + " (the floor takes 48000 Hz)");
        s.channels = 1;
        if (enc.size() >= 3 && (!Number(enc[2], &s.channels) || s.channels == 0 || s.channels > 8))
          return InvalidArgument(field + ": " + Quote(enc[2]) + " channels (1 to 8 are taken)");
        s.payload_type = uint8_t(pt);
        have_rtpmap = true;
      } else if (name == "ptime") {
        double ms = 0;
        const std::string text(arg);
        char* end = nullptr;
        ms = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || !(ms >= 0.125 - 1e-9 && ms <= 4 + 1e-9))
          return InvalidArgument(field + ": a=ptime:" + text + " (AES67 packet times are 0.125 to 4 ms)");
        s.ptime_us = uint32_t(std::lround(ms * 1000));
      } else if (name == "source-filter") {
        // a=source-filter: incl IN IP4 <dest> <source>
        const auto f = Split(arg, ' ');
        if (f.size() >= 5 && f[0] == "incl") {
          in_addr source{};
          s.source = std::string(f[4]);
          if (inet_pton(AF_INET, s.source.c_str(), &source) != 1)
            return InvalidArgument(field + ": a=source-filter source " + Quote(f[4]) + " is not an IPv4 address");
        }
      }
    }
  }
  if (!have_audio) return InvalidArgument(field + ": no m=audio line");
  if (!have_rtpmap) {
    uint32_t pt = 0;
    if (payload_types.empty() || !Number(payload_types.front(), &pt))
      return InvalidArgument(field + ": m=audio has no payload type");
    // Static payload types 10/11 are L16 44.1 kHz: never AES67's 48 kHz.
    return InvalidArgument(field + ": no a=rtpmap for payload type " + Quote(payload_types.front()) +
                           " (AES67 streams are dynamic L24 or L16 at 48 kHz)");
  }
  s.address = !media_c.empty() ? media_c : session_c;
  if (s.address.empty()) return InvalidArgument(field + ": no c= address");
  in_addr a{};
  if (inet_pton(AF_INET, s.address.c_str(), &a) != 1)
    return InvalidArgument(field + ": c= address " + Quote(s.address) + " is not an IPv4 address");
  s.multicast = IsMulticast(s.address);
  return s;
}

}  // namespace tilmash::domain
