// proto <-> client-side types, in one place.
#pragma once
#include <optional>
#include <string>

#include "client/rtp_sender.h"
#include "rtp/srtp_context.h"
#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::client {

// Base64 (RFC 4648, with padding) of a key, as SDP's a=crypto inline: carries it (OpenSSL's encoder).
std::string Base64(const std::string& bytes);

// CRYPTO_SUITE_UNSPECIFIED means the server default, AES_CM_128_HMAC_SHA1_80.
rtp::SrtpSuite SuiteFromProto(v1::CryptoSuite suite);
v1::CryptoSuite SuiteToProto(rtp::SrtpSuite suite);

// Where and how to send to a daemon ingest (a console's or the floor's). A wildcard host
// ("0.0.0.0", "::", "") becomes loopback of the same family; ssrc 0 (latched by the server)
// becomes a random SSRC; payload type 0 becomes 96; an SrtpKeying without key means plain RTP.
RtpSender::Options IngestFromProto(const v1::IngestEndpoint& ingest);

// The words the tools use on command lines and in output for the booth enums. Parsers are
// case-insensitive and return nullopt for an unknown word.
// Input selection: "floor", "auto" or a language channel ("ru"). An unset selection prints "-".
std::optional<v1::InputSelection> InputFromText(const std::string& text);
std::string InputText(const v1::InputSelection& input);
// Mic state: "off", "live", "muted" or "-".
const char* MicStateText(v1::MicState mic);
// Output slot: "A", "B", "C".
std::optional<v1::OutputSlot> OutputSlotFromText(const std::string& text);
const char* OutputSlotText(v1::OutputSlot slot);  // "A", "B", "C" or "-"
// Interlock mode: "interlock", "override", "toggle-override".
std::optional<v1::InterlockMode> InterlockModeFromText(const std::string& text);
const char* InterlockModeText(v1::InterlockMode mode);  // or "-"
// Message kind: "slow-down", "call-technician", "text".
std::optional<v1::MessageKind> MessageKindFromText(const std::string& text);
const char* MessageKindText(v1::MessageKind kind);  // or "-"
// "requested", "accepted", "declined", "expired" or "-".
const char* HandoverWhatText(v1::HandoverEvent::What what);
// A sentence: "c-2 asks c-1 for ru", "c-1 handed ru to c-2", "c-1 declined c-2's request for ru",
// "c-2's request to c-1 for ru expired" (from = the live console, to = the partner).
std::string HandoverSentence(const v1::HandoverEvent& event);

}  // namespace tilmash::client
