#include "web/hls_playlist.h"

#include <map>

namespace tilmash::web {

std::string LanguageName(const std::string& tag) {
  // The languages of a Central Asian summit and the UN's six, each in its own language.
  static const std::map<std::string, std::string> kNames = {
      {"ar", "العربية"},  {"de", "Deutsch"},   {"en", "English"}, {"es", "Español"},      {"fa", "فارسی"},
      {"fr", "Français"}, {"hy", "Հայերեն"},   {"ja", "日本語"},  {"kk", "Қазақша"},      {"ko", "한국어"},
      {"ky", "Кыргызча"}, {"mn", "Монгол"},    {"ru", "Русский"}, {"tg", "Тоҷикӣ"},       {"tk", "Türkmençe"},
      {"tr", "Türkçe"},   {"uz", "Oʻzbekcha"}, {"zh", "中文"},    {"az", "Azərbaycanca"}, {"ka", "ქართული"}};
  auto it = kNames.find(tag);
  if (it != kNames.end()) return it->second;
  // "kk-Cyrl", "zh-Hans": the primary subtag's name with the rest in brackets.
  const auto dash = tag.find('-');
  if (dash != std::string::npos) {
    it = kNames.find(tag.substr(0, dash));
    if (it != kNames.end()) return it->second + " (" + tag.substr(dash + 1) + ")";
  }
  return tag;
}

std::vector<HlsRendition> Renditions(const std::vector<std::string>& channels, const std::string& floor_language) {
  std::vector<HlsRendition> out;
  for (const auto& c : channels) {
    if (c == "floor")
      out.push_back({c, floor_language,
                     floor_language.empty() ? "Original" : "Original (" + LanguageName(floor_language) + ")", true});
    else
      out.push_back({c, c, LanguageName(c), false});
  }
  return out;
}

namespace {
// Quoted-string attribute values (RFC 8216 §4.2) may hold anything but '"', CR and LF.
std::string Quoted(const std::string& s) {
  std::string q = "\"";
  for (char ch : s)
    if (ch != '"' && ch != '\r' && ch != '\n') q += ch;
  return q + "\"";
}
}  // namespace

std::string MasterPlaylist(const std::vector<HlsRendition>& renditions, int bandwidth) {
  std::string m = "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  const HlsRendition* main = nullptr;
  for (const auto& r : renditions) {
    m += "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\"";
    if (!r.language.empty()) m += ",LANGUAGE=" + Quoted(r.language);
    m += ",NAME=" + Quoted(r.name) + ",DEFAULT=" + (r.is_default ? "YES" : "NO") +
         ",AUTOSELECT=YES,URI=" + Quoted(r.channel + "/playlist.m3u8") + "\n";
    if (!main || (r.is_default && !main->is_default)) main = &r;
  }
  if (main) {
    m += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(bandwidth) + ",CODECS=\"mp4a.40.2\",AUDIO=\"audio\"\n";
    m += main->channel + "/playlist.m3u8\n";
  }
  return m;
}

}  // namespace tilmash::web
