// libFuzzer target: tilmash::rtp::ParseRtp on arbitrary bytes, with and without an SRTP tag.
// Beyond "no crash, no out-of-bounds read" (ASan), it checks what a caller relies on: an accepted
// header lies inside the packet and its fields are the packet's bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "rtp/rtp_packet.h"

namespace {

void ParseAndCheck(const uint8_t* data, std::size_t size, std::size_t tag) {
  const auto r = tilmash::rtp::ParseRtp(data, size, tag);
  if (!r.ok()) return;
  const auto& h = *r.header;
  CHECK(size <= tilmash::rtp::kMaxPacket && size >= tilmash::rtp::kMinHeader + tag);
  CHECK(h.header_size >= tilmash::rtp::kMinHeader);
  CHECK(h.header_size + h.payload_size <= size - tag);
  CHECK((data[0] >> 6) == 2);
  CHECK(h.payload_type == (data[1] & 0x7f) && h.marker == bool(data[1] & 0x80));
  CHECK(h.sequence == tilmash::rtp::ReadU16(data + 2));
  CHECK(h.timestamp == tilmash::rtp::ReadU32(data + 4));
  CHECK(h.ssrc == tilmash::rtp::ReadU32(data + 8));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // An exactly sized heap copy: any read past the end is an ASan report.
  std::vector<uint8_t> copy(data, data + size);
  for (std::size_t tag : {std::size_t(0), std::size_t(10), std::size_t(16)}) ParseAndCheck(copy.data(), size, tag);
  // The in-place rewrites the fan-out applies keep an accepted packet accepted.
  const auto r = tilmash::rtp::ParseRtp(copy.data(), size);
  if (r.ok()) {
    tilmash::rtp::SetSsrc(copy.data(), 0x11223344);
    tilmash::rtp::SetSequence(copy.data(), uint16_t(r.header->sequence + 1));
    tilmash::rtp::SetTimestamp(copy.data(), r.header->timestamp + 480);
    tilmash::rtp::SetPayloadType(copy.data(), 111);
    const auto again = tilmash::rtp::ParseRtp(copy.data(), size);
    CHECK(again.ok() && again.header->ssrc == 0x11223344 && again.header->payload_type == 111 &&
          again.header->header_size == r.header->header_size && again.header->payload_size == r.header->payload_size);
  }
  return 0;
}
