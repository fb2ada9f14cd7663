// The SDP of a WHEP exchange (draft-ietf-wish-whep), read by us before webrtcbin sees it:
// every number is parsed with bounds, nothing throws, and a bad offer is refused naming the
// line. The answer webrtcbin makes is checked against the offer before it is sent, so a
// viewer never gets an answer that cannot play (no audio, no candidate, the wrong codec).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "domain/status.h"

namespace tilmash::sdp {

inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;

// What the daemon needs of an offer.
struct WhepOffer {
  int opus_payload_type = -1;     // the first Opus format of the first audio section (96-127)
  std::size_t audio_section = 0;  // index of that m= section (0 = the first m= line)
  std::string audio_mid;          // its a=mid, "" when it has none
};

// INVALID_ARGUMENT naming the line ("line 7 (a=rtpmap:...): ...") for anything that is not a
// WebRTC audio offer we can answer: not SDP, no audio, no Opus at 48 kHz, no ICE credentials,
// no DTLS fingerprint.
domain::Result<WhepOffer> ParseWhepOffer(std::string_view text);

// OK when `answer` answers the offer's audio section with its Opus format, sends on it, and
// carries ICE credentials, a DTLS fingerprint and at least one candidate (no trickle);
// otherwise INTERNAL saying what is missing.
domain::Status CheckWhepAnswer(const WhepOffer& offer, std::string_view answer);

}  // namespace tilmash::sdp
