// proto <-> client-side types, in one place.
#pragma once
#include <optional>

#include "client/rtp_sender.h"
#include "rtp/srtp_context.h"
#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::client {

// CRYPTO_SUITE_UNSPECIFIED means the server default, AES_CM_128_HMAC_SHA1_80.
rtp::SrtpSuite SuiteFromProto(v1::CryptoSuite suite);
v1::CryptoSuite SuiteToProto(rtp::SrtpSuite suite);

// Where and how to send to a daemon ingest (a console's or the floor's). A wildcard host
// ("0.0.0.0", "::", "") becomes loopback of the same family; ssrc 0 (latched by the server)
// becomes a random SSRC; payload type 0 becomes 96; an SrtpKeying without key means plain RTP.
RtpSender::Options IngestFromProto(const v1::IngestEndpoint& ingest);

}  // namespace tilmash::client
