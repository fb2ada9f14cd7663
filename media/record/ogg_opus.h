// Ogg Opus (RFC 7845) from already encoded Opus packets: the two header pages (OpusHead,
// OpusTags), audio pages with granule positions, and reading a file's duration back. No
// libogg (an Ogg page is a 27-byte header, a lacing table and a CRC), no allocation per packet
// beyond the page being built, no I/O: the caller writes the bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tilmash::record {

inline constexpr uint32_t kOpusRate = 48000;  // Ogg Opus granule positions count 48 kHz samples

// Samples (48 kHz) in one Opus packet from its TOC byte (RFC 6716 §3.1); 0 when malformed.
uint32_t OpusPacketSamples(const uint8_t* data, std::size_t size);

// CRC-32 of Ogg pages (polynomial 0x04c11db7, not reflected, initial 0).
uint32_t OggCrc(const uint8_t* data, std::size_t size);

// Builds the pages of one logical Ogg Opus stream.
class OggOpusPager {
 public:
  // pre_skip 0: a recording is a cut of a running stream, not an encoder's start (no encoder
  // delay to discard), so its duration is exactly the samples of its packets.
  OggOpusPager(uint32_t serial, int channels, uint16_t pre_skip = 0);
  // The BOS page (OpusHead) and the OpusTags page; `tags` are "KEY=value" comments.
  std::vector<uint8_t> HeaderPages(const std::vector<std::string>& tags);
  // Adds a packet to the page being built; returns a finished page when the packet would not
  // fit (255 lacing values), else empty. `samples` advances the granule position.
  std::vector<uint8_t> Add(const uint8_t* packet, std::size_t size, uint32_t samples);
  // The page being built (empty when there is none); `last` marks the end of the stream.
  std::vector<uint8_t> Flush(bool last = false);
  bool pending() const { return !lacing_.empty(); }
  uint64_t granule() const { return granule_; }       // samples added so far (pre-skip included)
  uint64_t page_granule() const { return flushed_; }  // granule of the last page flushed

 private:
  std::vector<uint8_t> Page(uint8_t flags, uint64_t granule, const std::vector<uint8_t>& lacing,
                            const std::vector<uint8_t>& body);

  const uint32_t serial_;
  const int channels_;
  const uint16_t pre_skip_;
  uint32_t sequence_ = 0;
  uint64_t granule_;
  uint64_t flushed_;
  std::vector<uint8_t> lacing_, body_;
};

// What an Ogg Opus file says about itself: its channel count, pre-skip and the granule
// position of its last complete page (a file cut by a crash ends at its last whole page).
struct OggOpusInfo {
  int channels = 0;
  uint16_t pre_skip = 0;
  uint64_t last_granule = 0;
  bool finished = false;  // its last page has the end-of-stream flag
  double duration_s() const { return last_granule > pre_skip ? double(last_granule - pre_skip) / kOpusRate : 0; }
};
// Reads the head and the last ~64 KiB of `path`; nullopt (and `error`) when it is not Ogg Opus.
std::optional<OggOpusInfo> ReadOggOpusInfo(const std::string& path, std::string* error);

}  // namespace tilmash::record
