#include "record/ogg_opus.h"

#include <array>
#include <cstring>
#include <fstream>

namespace tilmash::record {

namespace {

void PutLe(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

const std::array<uint32_t, 256>& CrcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t r = i << 24;
      for (int k = 0; k < 8; ++k) r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
      t[i] = r;
    }
    return t;
  }();
  return table;
}

constexpr std::size_t kPageHeader = 27;
constexpr std::size_t kMaxLacing = 255;

}  // namespace

uint32_t OggCrc(const uint8_t* data, std::size_t size) {
  const auto& t = CrcTable();
  uint32_t crc = 0;
  for (std::size_t i = 0; i < size; ++i) crc = (crc << 8) ^ t[((crc >> 24) ^ data[i]) & 0xff];
  return crc;
}

uint32_t OpusPacketSamples(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const uint8_t config = data[0] >> 3;
  uint32_t frame;
  if (config < 12)
    frame = std::array<uint32_t, 4>{480, 960, 1920, 2880}[config & 3];  // SILK 10/20/40/60 ms
  else if (config < 16)
    frame = (config & 1) ? 960 : 480;  // hybrid 10/20 ms
  else
    frame = std::array<uint32_t, 4>{120, 240, 480, 960}[config & 3];  // CELT 2.5/5/10/20 ms
  uint32_t frames;
  switch (data[0] & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (size < 2) return 0;
      frames = data[1] & 0x3f;
  }
  const uint32_t samples = frame * frames;
  return samples > 5760 ? 0 : samples;  // at most 120 ms per packet
}

OggOpusPager::OggOpusPager(uint32_t serial, int channels, uint16_t pre_skip)
    : serial_(serial), channels_(channels), pre_skip_(pre_skip), granule_(0), flushed_(0) {}

std::vector<uint8_t> OggOpusPager::Page(uint8_t flags, uint64_t granule, const std::vector<uint8_t>& lacing,
                                        const std::vector<uint8_t>& body) {
  std::vector<uint8_t> page;
  page.reserve(kPageHeader + lacing.size() + body.size());
  for (char c : std::string("OggS")) page.push_back(uint8_t(c));
  page.push_back(0);  // version
  page.push_back(flags);
  PutLe(page, granule, 8);
  PutLe(page, serial_, 4);
  PutLe(page, sequence_++, 4);
  PutLe(page, 0, 4);  // CRC, filled below
  page.push_back(uint8_t(lacing.size()));
  page.insert(page.end(), lacing.begin(), lacing.end());
  page.insert(page.end(), body.begin(), body.end());
  const uint32_t crc = OggCrc(page.data(), page.size());
  for (int i = 0; i < 4; ++i) page[22 + i] = uint8_t(crc >> (8 * i));
  return page;
}

std::vector<uint8_t> OggOpusPager::HeaderPages(const std::vector<std::string>& tags) {
  std::vector<uint8_t> head;
  for (char c : std::string("OpusHead")) head.push_back(uint8_t(c));
  head.push_back(1);  // version
  head.push_back(uint8_t(channels_));
  PutLe(head, pre_skip_, 2);
  PutLe(head, kOpusRate, 4);  // input sample rate (informational)
  PutLe(head, 0, 2);          // output gain
  head.push_back(0);          // mapping family 0: mono or stereo
  std::vector<uint8_t> comments;
  for (char c : std::string("OpusTags")) comments.push_back(uint8_t(c));
  const std::string vendor = "tilmash";
  PutLe(comments, vendor.size(), 4);
  comments.insert(comments.end(), vendor.begin(), vendor.end());
  PutLe(comments, tags.size(), 4);
  for (const auto& t : tags) {
    PutLe(comments, t.size(), 4);
    comments.insert(comments.end(), t.begin(), t.end());
  }
  auto lacing_of = [](std::size_t size) {
    std::vector<uint8_t> l(size / 255, 255);
    l.push_back(uint8_t(size % 255));
    return l;
  };
  // Both headers end a page of their own (RFC 7845 §3); OpusTags is small enough for one page.
  std::vector<uint8_t> out = Page(0x02, 0, lacing_of(head.size()), head);
  std::vector<uint8_t> tags_page = Page(0x00, 0, lacing_of(comments.size()), comments);
  out.insert(out.end(), tags_page.begin(), tags_page.end());
  return out;
}

std::vector<uint8_t> OggOpusPager::Add(const uint8_t* packet, std::size_t size, uint32_t samples) {
  std::vector<uint8_t> done;
  const std::size_t need = size / 255 + 1;
  if (lacing_.size() + need > kMaxLacing) done = Flush();
  for (std::size_t i = 0; i < size / 255; ++i) lacing_.push_back(255);
  lacing_.push_back(uint8_t(size % 255));
  body_.insert(body_.end(), packet, packet + size);
  granule_ += samples;
  return done;
}

std::vector<uint8_t> OggOpusPager::Flush(bool last) {
  if (lacing_.empty() && !last) return {};
  std::vector<uint8_t> page = Page(last ? 0x04 : 0x00, granule_, lacing_, body_);
  flushed_ = granule_;
  lacing_.clear();
  body_.clear();
  return page;
}

std::optional<OggOpusInfo> ReadOggOpusInfo(const std::string& path, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  std::vector<uint8_t> head(kPageHeader + 1 + 19);
  f.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  if (f.gcount() < std::streamsize(head.size()) || std::memcmp(head.data(), "OggS", 4) != 0 ||
      std::memcmp(head.data() + kPageHeader + 1, "OpusHead", 8) != 0) {
    *error = path + " is not Ogg Opus";
    return std::nullopt;
  }
  OggOpusInfo info;
  const uint8_t* opus_head = head.data() + kPageHeader + 1;
  info.channels = opus_head[9];
  info.pre_skip = uint16_t(GetLe(opus_head + 10, 2));
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 65536);
  std::vector<uint8_t> tail(std::size_t(size - from));
  f.seekg(from);
  f.read(reinterpret_cast<char*>(tail.data()), std::streamsize(tail.size()));
  tail.resize(std::size_t(f.gcount()));
  // Walk back to the last page that is whole and whose CRC holds.
  for (std::size_t i = tail.size() >= kPageHeader ? tail.size() - kPageHeader + 1 : 0; i-- > 0;) {
    if (std::memcmp(tail.data() + i, "OggS", 4) != 0 || i + kPageHeader > tail.size()) continue;
    const std::size_t segments = tail[i + 26];
    if (i + kPageHeader + segments > tail.size()) continue;
    std::size_t body = 0;
    for (std::size_t s = 0; s < segments; ++s) body += tail[i + kPageHeader + s];
    const std::size_t end = i + kPageHeader + segments + body;
    if (end > tail.size()) continue;
    std::vector<uint8_t> page(tail.begin() + std::ptrdiff_t(i), tail.begin() + std::ptrdiff_t(end));
    const uint32_t crc = uint32_t(GetLe(page.data() + 22, 4));
    std::memset(page.data() + 22, 0, 4);
    if (OggCrc(page.data(), page.size()) != crc) continue;
    const uint64_t granule = GetLe(tail.data() + i + 6, 8);
    if (granule == ~uint64_t(0)) continue;
    info.last_granule = granule;
    info.finished = tail[i + 5] & 0x04;
    return info;
  }
  return info;  // headers only
}

}  // namespace tilmash::record
