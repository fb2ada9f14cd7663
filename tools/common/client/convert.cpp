#include "client/convert.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace tilmash::client {

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(std::size_t(n < 0 ? 0 : n));
  return out;
}

rtp::SrtpSuite SuiteFromProto(v1::CryptoSuite suite) {
  return suite == v1::AEAD_AES_128_GCM ? rtp::SrtpSuite::kAeadAes128Gcm : rtp::SrtpSuite::kAesCm128HmacSha1_80;
}

v1::CryptoSuite SuiteToProto(rtp::SrtpSuite suite) {
  return suite == rtp::SrtpSuite::kAeadAes128Gcm ? v1::AEAD_AES_128_GCM : v1::AES_CM_128_HMAC_SHA1_80;
}

RtpSender::Options IngestFromProto(const v1::IngestEndpoint& ingest) {
  RtpSender::Options o;
  o.host = ingest.endpoint().host();
  if (o.host.empty() || o.host == "0.0.0.0") o.host = "127.0.0.1";
  if (o.host == "::") o.host = "::1";
  o.port = uint16_t(ingest.endpoint().port());
  o.ssrc = ingest.ssrc() != 0 ? ingest.ssrc() : rtp::RandomU32();
  o.payload_type = ingest.payload_type() != 0 ? uint8_t(ingest.payload_type()) : 96;
  if (ingest.has_srtp() && !ingest.srtp().master_key().empty()) {
    o.suite = SuiteFromProto(ingest.srtp().suite());
    const std::string& key = ingest.srtp().master_key();
    o.master_key.assign(key.begin(), key.end());
  }
  return o;
}

namespace {
std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}
}  // namespace

std::optional<v1::InputSelection> InputFromText(const std::string& text) {
  const std::string word = Lower(text);
  v1::InputSelection input;
  if (word == "floor")
    input.set_floor(true);
  else if (word == "auto")
    input.set_auto_(true);
  else if (!word.empty() && word.find_first_of(" ,@=") == std::string::npos)
    input.set_channel(text);  // the server validates and canonicalises the tag
  else
    return std::nullopt;
  return input;
}

std::string InputText(const v1::InputSelection& input) {
  switch (input.kind_case()) {
    case v1::InputSelection::kFloor:
      return "floor";
    case v1::InputSelection::kAuto:
      return "auto";
    case v1::InputSelection::kChannel:
      return input.channel();
    default:
      return "-";
  }
}

std::optional<v1::OutputSlot> OutputSlotFromText(const std::string& text) {
  const std::string word = Lower(text);
  if (word == "a") return v1::OUTPUT_A;
  if (word == "b") return v1::OUTPUT_B;
  if (word == "c") return v1::OUTPUT_C;
  return std::nullopt;
}

const char* MicStateText(v1::MicState mic) {
  switch (mic) {
    case v1::MIC_OFF:
      return "off";
    case v1::MIC_LIVE:
      return "live";
    case v1::MIC_MUTED:
      return "muted";
    default:
      return "-";
  }
}

const char* OutputSlotText(v1::OutputSlot slot) {
  switch (slot) {
    case v1::OUTPUT_A:
      return "A";
    case v1::OUTPUT_B:
      return "B";
    case v1::OUTPUT_C:
      return "C";
    default:
      return "-";
  }
}

std::optional<v1::InterlockMode> InterlockModeFromText(const std::string& text) {
  const std::string word = Lower(text);
  if (word == "interlock") return v1::INTERLOCK;
  if (word == "override") return v1::OVERRIDE;
  if (word == "toggle-override") return v1::TOGGLE_OVERRIDE;
  return std::nullopt;
}

const char* InterlockModeText(v1::InterlockMode mode) {
  switch (mode) {
    case v1::INTERLOCK:
      return "interlock";
    case v1::OVERRIDE:
      return "override";
    case v1::TOGGLE_OVERRIDE:
      return "toggle-override";
    default:
      return "-";
  }
}

std::optional<v1::MessageKind> MessageKindFromText(const std::string& text) {
  const std::string word = Lower(text);
  if (word == "slow-down") return v1::SLOW_DOWN;
  if (word == "call-technician") return v1::CALL_TECHNICIAN;
  if (word == "text") return v1::TEXT;
  return std::nullopt;
}

const char* MessageKindText(v1::MessageKind kind) {
  switch (kind) {
    case v1::SLOW_DOWN:
      return "slow-down";
    case v1::CALL_TECHNICIAN:
      return "call-technician";
    case v1::TEXT:
      return "text";
    default:
      return "-";
  }
}

const char* HandoverWhatText(v1::HandoverEvent::What what) {
  switch (what) {
    case v1::HandoverEvent::REQUESTED:
      return "requested";
    case v1::HandoverEvent::ACCEPTED:
      return "accepted";
    case v1::HandoverEvent::DECLINED:
      return "declined";
    case v1::HandoverEvent::EXPIRED:
      return "expired";
    default:
      return "-";
  }
}

std::string HandoverSentence(const v1::HandoverEvent& h) {
  const std::string live = h.from_console_id().empty() ? "?" : h.from_console_id();
  const std::string partner = h.to_console_id().empty() ? "?" : h.to_console_id();
  const std::string channel = h.channel().empty() ? "the channel" : h.channel();
  switch (h.what()) {
    case v1::HandoverEvent::REQUESTED:
      return partner + " asks " + live + " for " + channel;
    case v1::HandoverEvent::ACCEPTED:
      return live + " handed " + channel + " to " + partner;
    case v1::HandoverEvent::DECLINED:
      return live + " declined " + partner + "'s request for " + channel;
    case v1::HandoverEvent::EXPIRED:
      return partner + "'s request to " + live + " for " + channel + " expired";
    default:
      return "handover of " + channel + " between " + live + " and " + partner;
  }
}

}  // namespace tilmash::client
