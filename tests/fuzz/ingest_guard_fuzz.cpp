// libFuzzer target: the SRTP unprotect path at ingest, tilmash::graph::IngestGuard, driven
// exactly as in the daemon - a pad probe on a src pad (here an `identity` in a GstHarness).
//
// Input: byte 0 configures the guard (bit 0: SRTP, bit 1: AEAD_AES_128_GCM, bit 2: expected
// SSRC fixed (else latched), bit 3: push as one buffer list). Then packets, each
// [flags][len lo][len hi][len bytes]; flags bit 0: protect the bytes with the right key first (so
// the fuzzer reaches the post-authentication path), bit 1: then flip one byte (tampering).
// Checks: every packet is counted exactly once; whatever passes is plain RTP with payload type
// 96 and the expected (or latched) SSRC; a packet we protected comes out as the original bytes.
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

#include "fuzz_check.h"
#include "graph/ingest_guard.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

namespace {

using tilmash::rtp::SrtpContext;
using tilmash::rtp::SrtpSuite;

constexpr uint32_t kSsrc = 0x0badcafe;
constexpr uint8_t kPayloadType = 96;
// Known finding: with SRTP the guard checks RTP padding only before decryption (where it is
// encrypted, so ParseRtp skips it) and not after, so a packet from the key holder with a bad
// padding count passes. Set to false once ingest_guard.cpp re-parses the decrypted packet.
constexpr bool kToleratePaddingAfterDecrypt = false;

std::vector<uint8_t> FixedKey(SrtpSuite suite) {
  std::vector<uint8_t> key(tilmash::rtp::MasterKeyLength(suite));
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = uint8_t(0x40 + i);
  return key;
}

GstHarness* Harness() {
  static GstHarness* h = [] {
    gst_init(nullptr, nullptr);
    GstHarness* harness = gst_harness_new("identity");
    gst_harness_set_src_caps_str(harness, "application/x-rtp");
    return harness;
  }();
  return h;
}

struct Sent {
  bool may_pass = false;       // could the guard let this packet through?
  std::vector<uint8_t> plain;  // and if so, as exactly these bytes
};

uint64_t Total(const tilmash::graph::IngestCountersAtomic& c) {
  return c.accepted + c.malformed + c.oversized + c.unknown_ssrc + c.wrong_payload_type + c.srtp_auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const uint8_t config = data[0];
  const bool srtp = config & 1;
  const SrtpSuite suite = (config & 2) ? SrtpSuite::kAeadAes128Gcm : SrtpSuite::kAesCm128HmacSha1_80;
  const uint32_t expected = (config & 4) ? kSsrc : 0;
  const bool as_list = config & 8;
  const auto key = FixedKey(suite);

  tilmash::rtp::SrtpContextPtr rx, tx;
  if (srtp) {
    rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, expected);
    tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, 0);
    CHECK(rx && tx);
  }
  GstHarness* h = Harness();
  GstPad* pad = gst_element_get_static_pad(h->element, "src");
  std::vector<Sent> sent;
  std::size_t pushed = 0;
  {
    tilmash::graph::IngestGuard guard("fuzz", kPayloadType, expected, std::move(rx));
    guard.Attach(pad);
    GstBufferList* list = as_list ? gst_buffer_list_new() : nullptr;
    std::size_t at = 1;
    while (at + 3 <= size && pushed < 64) {
      const uint8_t flags = data[at];
      std::size_t len = std::size_t(data[at + 1]) | std::size_t(data[at + 2]) << 8;
      at += 3;
      len = std::min(len, size - at);
      std::vector<uint8_t> pkt(data + at, data + at + len);
      at += len;
      Sent s;
      if (!srtp) s = Sent{true, pkt};
      if (srtp && (flags & 1) && len <= tilmash::rtp::kMaxPacket) {
        std::vector<uint8_t> buf(len + 16);
        if (len) std::memcpy(buf.data(), pkt.data(), len);
        const int n = tx->Protect(buf.data(), len, buf.size());
        if (n > 0) {
          buf.resize(std::size_t(n));
          if (flags & 2)
            buf[std::size_t(flags >> 2) % buf.size()] ^= 0x01;
          else
            s = Sent{true, pkt};
          pkt = std::move(buf);
        }
      }
      // An empty datagram is an empty buffer (gst_buffer_new_memdup refuses size 0).
      GstBuffer* b = pkt.empty() ? gst_buffer_new() : gst_buffer_new_memdup(pkt.data(), pkt.size());
      if (list) {
        gst_buffer_list_insert(list, -1, b);
      } else {
        CHECK(gst_harness_push(h, b) == GST_FLOW_OK);
      }
      sent.push_back(std::move(s));
      ++pushed;
    }
    // GstHarness 1.22 has no push_list: push on the harness's own src pad (linked to identity).
    if (list) CHECK(gst_pad_push_list(h->srcpad, list) == GST_FLOW_OK);

    // What passed is, in order, a subsequence of what may pass, byte for byte; junk that did not
    // carry our key never passes SRTP authentication.
    std::size_t next = 0;
    uint32_t latched = expected;
    uint64_t out = 0;
    while (GstBuffer* b = gst_harness_try_pull(h)) {
      GstMapInfo map;
      CHECK(gst_buffer_map(b, &map, GST_MAP_READ));
      const auto r = tilmash::rtp::ParseRtp(map.data, map.size);
      const uint32_t ssrc = map.size >= 12 ? tilmash::rtp::ReadU32(map.data + 8) : 0;
      if (!r.ok()) std::cerr << "passed the guard but is not RTP: " << r.error << "\n";
      if (!r.ok() && r.error == tilmash::rtp::ParseError::kBadPadding && kToleratePaddingAfterDecrypt) {
        // Known finding (reported): see kToleratePaddingAfterDecrypt. Only the header is checked.
        CHECK(srtp && map.size >= tilmash::rtp::kMinHeader && (map.data[1] & 0x7f) == kPayloadType);
      } else {
        CHECK(r.ok() && r.header->payload_type == kPayloadType);
      }
      if (latched == 0) latched = ssrc;
      CHECK(ssrc == latched);
      auto same = [&](const Sent& s) {
        return s.may_pass && s.plain.size() == map.size && std::memcmp(s.plain.data(), map.data, map.size) == 0;
      };
      while (next < sent.size() && !same(sent[next])) ++next;
      CHECK(next < sent.size());
      ++next;
      gst_buffer_unmap(b, &map);
      gst_buffer_unref(b);
      ++out;
    }
    const auto& c = guard.counters();
    CHECK(Total(c) == pushed);
    CHECK(c.accepted == out);
    if (!srtp) CHECK(c.srtp_auth == 0);
  }  // the guard's probe goes with it
  gst_object_unref(pad);
  return 0;
}
