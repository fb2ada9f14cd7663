// What reaches the shared WebRTC port from anyone on the network (media/webrtc): the first byte
// picks the reader - an ICE check (libnice's STUN code behind our responder), a DTLS datagram
// to a server endpoint (OpenSSL behind our record packing), or the RTCP a viewer sends once it
// has keys (our receiver-report reader). None may crash, hang or answer what is not a valid check.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "webrtc/dtls_srtp.h"
#include "webrtc/ice_lite.h"
#include "webrtc/webrtc_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const uint8_t which = data[0] % 3;
  ++data;
  --size;
  if (which == 0) {
    static tilmash::webrtc::IceResponder responder;
    static const std::string pwd = "0123456789abcdefghijkl";
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = htons(5000);
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t reply[512];
    tilmash::webrtc::IceCheck check;
    std::string error;
    const std::size_t n = responder.Answer(
        data, size, from, [&](const std::string& ufrag) { return ufrag == "ufrg" ? &pwd : nullptr; }, reply,
        sizeof reply, &check, &error);
    // An answer only to a check that named our ufrag (and so passed MESSAGE-INTEGRITY with its pwd).
    if (n > 0)
      CHECK(check.local_ufrag == "ufrg" && n <= sizeof reply);
    else
      CHECK(!error.empty());
  } else if (which == 1) {
    static auto identity = tilmash::webrtc::DtlsIdentity::Generate(nullptr);
    CHECK(identity);
    tilmash::webrtc::DtlsEndpoint server(identity, tilmash::webrtc::DtlsEndpoint::Role::kServer, "sha-256", "AA:BB");
    std::vector<std::vector<uint8_t>> out;
    server.Receive(data, size, &out);
    for (const auto& d : out) CHECK(d.size() <= 1200 || out.size() == 1);
    // A handshake cannot complete from one datagram of anyone's, nor with a fingerprint it cannot match.
    CHECK(server.state() != tilmash::webrtc::DtlsEndpoint::State::kConnected);
  } else {
    tilmash::webrtc::PeerReport r;
    tilmash::webrtc::ReadReceiverReports(data, size, &r);
    CHECK(r.receiver_reports <= size / 24);
    CHECK(r.fraction_lost >= 0 && r.fraction_lost < 1);
  }
  return 0;
}
