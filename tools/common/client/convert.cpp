#include "client/convert.h"

namespace tilmash::client {

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

}  // namespace tilmash::client
