#include "sdp/whep_sdp.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

namespace tilmash::sdp {

using domain::Quoted;

namespace {

// One "x=value" line with its number (1-based) and the m= section it belongs to (-1: session).
struct Line {
  int number = 0;
  char type = 0;
  std::string_view value, text;
  int section = -1;
};

std::optional<int> ParseInt(std::string_view s, int lo, int hi) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

domain::Status Bad(const Line& l, const std::string& why) {
  return domain::InvalidArgument("line " + std::to_string(l.number) + " (" + Quoted(l.text) + "): " + why);
}

// Splits the text into lines (CRLF or LF), each checked for the "x=value" shape.
domain::Result<std::vector<Line>> Lines(std::string_view text, const char* what) {
  if (text.size() > kMaxSdpBytes) return domain::InvalidArgument(std::string(what) + " is larger than 64 KiB");
  std::vector<Line> lines;
  int section = -1, number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.empty()) continue;  // a trailing empty line is common; tolerated anywhere
    Line l;
    l.number = number;
    l.text = raw;
    if (raw.size() < 2 || raw[1] != '=' || !std::isalpha(static_cast<unsigned char>(raw[0])))
      return Bad(l, "not an SDP line (type=value)");
    for (char c : raw)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return Bad(l, "control character in the line");
    l.type = raw[0];
    l.value = raw.substr(2);
    if (l.type == 'm') ++section;
    l.section = section;
    lines.push_back(l);
  }
  if (lines.empty() || lines.front().type != 'v' || lines.front().value != "0")
    return domain::InvalidArgument(std::string(what) + " is not SDP: it must start with v=0");
  return lines;
}

// "name:value" of an a= line (value may be empty; name without ':' is a flag).
std::pair<std::string_view, std::string_view> Attribute(const Line& l) {
  const auto colon = l.value.find(':');
  if (colon == std::string_view::npos) return {l.value, {}};
  return {l.value.substr(0, colon), l.value.substr(colon + 1)};
}

// Whether an attribute is present at session level or in `section`.
bool HasAttribute(const std::vector<Line>& lines, int section, std::string_view name) {
  return std::any_of(lines.begin(), lines.end(), [&](const Line& l) {
    return l.type == 'a' && (l.section == -1 || l.section == section) && Attribute(l).first == name;
  });
}

}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

domain::Result<WhepOffer> ParseWhepOffer(std::string_view text) {
  auto parsed = Lines(text, "the offer");
  if (!parsed.ok()) return parsed.status();
  const auto& lines = parsed.value();
  WhepOffer offer;
  int audio = -1;
  for (const Line& l : lines) {
    if (l.type == 'm') {
      const auto w = Words(l.value);
      if (w.size() < 4) return Bad(l, "an m= line is <media> <port> <proto> <format>...");
      if (!ParseInt(w[1], 0, 65535)) return Bad(l, "port must be 0-65535");
      for (std::size_t i = 3; i < w.size(); ++i)
        if (!ParseInt(w[i], 0, 127) && w[2].find("RTP") != std::string_view::npos)
          return Bad(l, "RTP payload types are 0-127");
      if (audio < 0 && w[0] == "audio") audio = l.section;
      offer.sections.push_back({std::string(w[0]), std::string(w[2]), std::string(w[3]), ""});
      continue;
    }
    if (l.type != 'a') continue;
    const auto [name, value] = Attribute(l);
    if (name == "rtpmap") {
      const auto space = value.find(' ');
      if (space == std::string_view::npos) return Bad(l, "a=rtpmap is <payload type> <encoding>/<clock rate>");
      const auto pt = ParseInt(value.substr(0, space), 0, 127);
      if (!pt) return Bad(l, "payload type must be 0-127");
      const auto enc = value.substr(space + 1);
      const auto slash = enc.find('/');
      if (slash == std::string_view::npos) return Bad(l, "a=rtpmap is <payload type> <encoding>/<clock rate>");
      const auto rest = enc.substr(slash + 1);
      const auto rate = ParseInt(rest.substr(0, rest.find('/')), 1, 1000000);
      if (!rate) return Bad(l, "clock rate must be a number (1-1000000)");
      if (l.section == audio && audio >= 0 && offer.opus_payload_type < 0 &&
          EqualsNoCase(enc.substr(0, slash), "opus") && *rate == 48000) {
        if (*pt < 96) return Bad(l, "Opus needs a dynamic payload type (96-127)");
        offer.opus_payload_type = *pt;
      }
    } else if (name == "mid" && l.section >= 0) {
      if (value.empty() || value.size() > 32) return Bad(l, "a=mid must be 1-32 characters");
      offer.sections.back().mid = std::string(value);
      if (l.section == audio) offer.audio_mid = std::string(value);
    }
  }
  // The audio section's credentials, fingerprint and role: its own lines, else the session's.
  for (int pass : {-1, audio}) {
    if (audio < 0) break;
    for (const Line& l : lines) {
      if (l.type != 'a' || l.section != pass) continue;
      const auto [name, value] = Attribute(l);
      if (name == "ice-ufrag") {
        if (value.size() < 4 || value.size() > 256) return Bad(l, "a=ice-ufrag must be 4-256 characters");
        offer.ice_ufrag = std::string(value);
      } else if (name == "ice-pwd") {
        if (value.size() < 22 || value.size() > 256) return Bad(l, "a=ice-pwd must be 22-256 characters");
        offer.ice_pwd = std::string(value);
      } else if (name == "fingerprint") {
        const auto w = Words(value);
        if (w.size() != 2 || w[1].size() > 200) return Bad(l, "a=fingerprint is <hash> <hex pairs separated by ':'>");
        offer.fingerprint_hash = std::string(w[0]);
        offer.fingerprint = std::string(w[1]);
      } else if (name == "setup") {
        if (value != "actpass" && value != "active" && value != "passive" && value != "holdconn")
          return Bad(l, "a=setup is actpass, active, passive or holdconn");
        offer.setup = std::string(value);
      }
    }
  }
  if (audio < 0) return domain::InvalidArgument("the offer has no audio (m=audio) section");
  if (offer.opus_payload_type < 0)
    return domain::InvalidArgument("the offer has no Opus audio (a=rtpmap:<pt> opus/48000/2 in its m=audio section)");
  offer.audio_section = std::size_t(audio);
  for (const char* needed : {"ice-ufrag", "ice-pwd", "fingerprint"})
    if (!HasAttribute(lines, audio, needed))
      return domain::InvalidArgument(std::string("the offer has no a=") + needed +
                                     " (a WebRTC offer carries ICE credentials and a DTLS fingerprint)");
  return offer;
}

std::string BuildLiteAnswer(const WhepOffer& offer, const LiteAnswer& a) {
  const std::string pt = std::to_string(offer.opus_payload_type);
  const std::string port = std::to_string(a.port);
  std::string s = "v=0\r\no=- " + std::to_string(a.ssrc) + " 2 IN IP4 " + a.ip + "\r\ns=-\r\nt=0 0\r\n";
  if (!offer.audio_mid.empty()) s += "a=group:BUNDLE " + offer.audio_mid + "\r\n";
  s += "a=ice-lite\r\na=msid-semantic: WMS " + a.stream + "\r\n";
  for (std::size_t i = 0; i < offer.sections.size(); ++i) {
    const auto& sec = offer.sections[i];
    if (i != offer.audio_section) {
      s += "m=" + sec.media + " 0 " + sec.proto + " " + sec.first_format + "\r\nc=IN IP4 0.0.0.0\r\n";
      if (!sec.mid.empty()) s += "a=mid:" + sec.mid + "\r\n";
      s += "a=inactive\r\n";
      continue;
    }
    s += "m=audio " + port + " " + sec.proto + " " + pt + "\r\nc=IN IP4 " + a.ip + "\r\n";
    s += "a=ice-ufrag:" + a.ice_ufrag + "\r\na=ice-pwd:" + a.ice_pwd + "\r\n";
    s += "a=fingerprint:sha-256 " + a.fingerprint + "\r\na=setup:passive\r\n";
    if (!sec.mid.empty()) s += "a=mid:" + sec.mid + "\r\n";
    s += "a=sendonly\r\na=rtcp-mux\r\n";
    s += "a=rtpmap:" + pt + " opus/48000/2\r\na=fmtp:" + pt + " minptime=10;useinbandfec=1\r\n";
    s += "a=msid:" + a.stream + " " + a.stream + "-audio\r\n";
    s += "a=ssrc:" + std::to_string(a.ssrc) + " cname:tilmash\r\n";
    s += "a=candidate:1 1 udp 2130706431 " + a.ip + " " + port + " typ host\r\na=end-of-candidates\r\n";
  }
  return s;
}

domain::Status CheckWhepAnswer(const WhepOffer& offer, std::string_view answer) {
  auto parsed = Lines(answer, "the answer");
  if (!parsed.ok()) return domain::Internal("the answer: " + parsed.status().message());
  const auto& lines = parsed.value();
  const int section = int(offer.audio_section);
  auto missing = [](const std::string& what) { return domain::Internal("the answer " + what); };
  const auto m =
      std::find_if(lines.begin(), lines.end(), [&](const Line& l) { return l.type == 'm' && l.section == section; });
  if (m == lines.end()) return missing("has no m= line for the offer's audio section");
  const auto w = Words(m->value);
  if (w.size() < 4 || w[0] != "audio") return missing("does not answer the offer's audio section with audio");
  if (w[1] == "0") return missing("rejects the offer's audio section (port 0)");
  const std::string pt = std::to_string(offer.opus_payload_type);
  if (std::find(w.begin() + 3, w.end(), pt) == w.end()) return missing("does not send Opus with payload type " + pt);
  bool sends = true, mid_ok = offer.audio_mid.empty(), candidate = false;
  for (const Line& l : lines) {
    if (l.type != 'a' || l.section != section) continue;
    const auto [name, value] = Attribute(l);
    if (name == "recvonly" || name == "inactive") sends = false;
    if (name == "mid" && value == offer.audio_mid) mid_ok = true;
    if (name == "candidate") candidate = true;
  }
  if (!sends) return missing("does not send audio (recvonly or inactive)");
  if (!mid_ok) return missing("does not carry the offer's a=mid:" + offer.audio_mid);
  if (!candidate) return missing("has no ICE candidate (no trickle: the answer must carry them)");
  for (const char* needed : {"ice-ufrag", "ice-pwd", "fingerprint"})
    if (!HasAttribute(lines, section, needed)) return missing(std::string("has no a=") + needed);
  return domain::Status::Ok();
}

}  // namespace tilmash::sdp
