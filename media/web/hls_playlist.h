// The HLS master playlist of a session: every language channel as an alternate audio rendition
// (EXT-X-MEDIA with LANGUAGE and NAME), the original (floor) the default. Pure text, no I/O.
#pragma once
#include <string>
#include <vector>

namespace tilmash::web {

struct HlsRendition {
  std::string channel;   // the directory under the session: "floor", "en", "ru", ...
  std::string language;  // BCP-47 tag ("" when the floor language is not set)
  std::string name;      // shown to the listener: "Русский", "Original (English)"
  bool is_default = false;
};

// A listener-facing name for a BCP-47 tag, in its own language ("ru" -> "Русский"); the tag
// itself when unknown.
std::string LanguageName(const std::string& tag);

// The renditions of a session's channels: `channels` as the domain lists them ("floor" first),
// the floor named after `floor_language` and marked default.
std::vector<HlsRendition> Renditions(const std::vector<std::string>& channels, const std::string& floor_language);

// RFC 8216 master playlist; `bandwidth` in bits/s of one rendition (AAC plus MPEG-TS overhead).
std::string MasterPlaylist(const std::vector<HlsRendition>& renditions, int bandwidth);

}  // namespace tilmash::web
