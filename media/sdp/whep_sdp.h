// The SDP of a WHEP exchange (draft-ietf-wish-whep), read by us before webrtcbin sees it:
// every number is parsed with bounds, nothing throws, and a bad offer is refused naming the
// line. The answer webrtcbin makes is checked against the offer before it is sent, so a
// viewer never gets an answer that cannot play (no audio, no candidate, the wrong codec).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/status.h"

namespace tilmash::sdp {

inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;

// What the daemon needs of an offer.
struct WhepOffer {
  int opus_payload_type = -1;     // the first Opus format of the first audio section (96-127)
  std::size_t audio_section = 0;  // index of that m= section (0 = the first m= line)
  std::string audio_mid;          // its a=mid, "" when it has none
  // The audio section's ICE credentials and DTLS fingerprint (its own, else the session's).
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint_hash, fingerprint;  // a=fingerprint:<hash> <value>
  std::string setup;                          // a=setup: actpass, active or passive ("" = actpass)
  // Every m= section, to answer each (the ones not the audio one are rejected: port 0).
  struct Section {
    std::string media, proto, first_format, mid;
  };
  std::vector<Section> sections;
};

// What the daemon's own lite ICE agent and DTLS server put in an answer.
struct LiteAnswer {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint;  // sha-256
  std::string ip;           // the candidate: the shared WebRTC port
  uint16_t port = 0;
  uint32_t ssrc = 0;
  std::string stream;  // a=msid's stream id (the channel)
};

// SDP's small pieces, for other readers of SDP (tools/tilmash-whep-load reads answers).
bool EqualsNoCase(std::string_view a, std::string_view b);
std::vector<std::string_view> Words(std::string_view s);  // split on spaces, empty words dropped

// INVALID_ARGUMENT naming the line ("line 7 (a=rtpmap:...): ...") for anything that is not a
// WebRTC audio offer we can answer: not SDP, no audio, no Opus at 48 kHz, no ICE credentials,
// no DTLS fingerprint.
domain::Result<WhepOffer> ParseWhepOffer(std::string_view text);

// OK when `answer` answers the offer's audio section with its Opus format, sends on it, and
// carries ICE credentials, a DTLS fingerprint and at least one candidate (no trickle);
// otherwise INTERNAL saying what is missing.
// The answer of the daemon's lite agent (a=ice-lite, a=setup:passive: the viewer is the DTLS
// client), sending the offer's Opus format from one host candidate; the offer's other sections
// rejected (port 0).
std::string BuildLiteAnswer(const WhepOffer& offer, const LiteAnswer& answer);

domain::Status CheckWhepAnswer(const WhepOffer& offer, std::string_view answer);

}  // namespace tilmash::sdp
