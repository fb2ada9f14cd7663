// Session descriptions (RFC 4566) with SDES keys (RFC 4568) for the streams we send, so a
// foreign receiver (ffmpeg, GStreamer, a hardware decoder) can play a listener stream.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "domain/types.h"

namespace tilmash::domain {

std::string ListenerSdp(const std::string& session_name, const ListenerView& listener);

// Base64 (RFC 4648) for a=crypto inline keys.
std::string Base64Encode(std::span<const uint8_t> data);
inline std::string Base64Encode(std::string_view bytes) {
  return Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}
std::optional<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace tilmash::domain
