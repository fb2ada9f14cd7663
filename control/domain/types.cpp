#include "domain/types.h"
#include <algorithm>
#include "domain/status.h"

namespace tilmash::domain {

std::ostream& operator<<(std::ostream& os, MicState s) {
  switch (s) {
    case MicState::kOff:
      return os << "off";
    case MicState::kLive:
      return os << "live";
    case MicState::kMuted:
      return os << "muted";
  }
  return os << "?";
}

std::ostream& operator<<(std::ostream& os, CryptoSuite s) {
  return os << (s == CryptoSuite::kAeadAes128Gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80");
}

std::ostream& operator<<(std::ostream& os, InterlockMode m) {
  switch (m) {
    case InterlockMode::kInterlock:
      return os << "interlock";
    case InterlockMode::kOverride:
      return os << "override";
    case InterlockMode::kToggleOverride:
      return os << "toggle-override";
  }
  return os << "?";
}

std::ostream& operator<<(std::ostream& os, FloorSelect s) {
  switch (s) {
    case FloorSelect::kAuto:
      return os << "auto";
    case FloorSelect::kPrimary:
      return os << "primary";
    case FloorSelect::kBackup:
      return os << "backup";
  }
  return os << "?";
}

std::ostream& operator<<(std::ostream& os, FloorActive a) {
  return os << (a == FloorActive::kBackup ? "backup" : "primary");
}

std::ostream& operator<<(std::ostream& os, OutputSlot s) {
  return os << (s == OutputSlot::kA ? "A" : s == OutputSlot::kB ? "B" : "C");
}

std::ostream& operator<<(std::ostream& os, StatusCode c) {
  switch (c) {
    case StatusCode::kOk:
      return os << "OK";
    case StatusCode::kInvalidArgument:
      return os << "INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return os << "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return os << "ALREADY_EXISTS";
    case StatusCode::kFailedPrecondition:
      return os << "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted:
      return os << "RESOURCE_EXHAUSTED";
    case StatusCode::kUnavailable:
      return os << "UNAVAILABLE";
    case StatusCode::kInternal:
      return os << "INTERNAL";
    case StatusCode::kUnauthenticated:
      return os << "UNAUTHENTICATED";
    case StatusCode::kPermissionDenied:
      return os << "PERMISSION_DENIED";
  }
  return os << "?";
}

std::string Quoted(std::string_view v) {
  std::size_t n = v.size();
  bool cut = false;
  if (n > kQuotedMax) {
    n = kQuotedMax;
    // Back up to the start of a UTF-8 sequence, so the cut never splits a character.
    while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
    cut = true;
  }
  std::string out = "'";
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    out += c < 0x20 || c == 0x7F ? '?' : char(c);
  }
  out += cut ? "...'" : "'";
  return out;
}

std::pair<uint64_t, uint32_t> ResumePoint(const StreamAnchor& a, int64_t now_unix_ms) {
  const int64_t elapsed = std::max<int64_t>(0, now_unix_ms - a.since_unix_ms);
  const uint64_t frame_us = a.frame_us ? a.frame_us : uint64_t(a.frame_ms ? a.frame_ms : 10) * 1000;
  const uint64_t packets = uint64_t(elapsed) * 1000 / frame_us + 1 + kResumeMarginPackets;
  return {a.index + packets, a.timestamp + uint32_t(packets * 48 * frame_us / 1000)};
}

}  // namespace tilmash::domain
