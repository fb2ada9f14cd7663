// The master playlist as RFC 8216 wants it: every channel an alternate audio rendition of one
// group, the floor the default, names in the listener's own language.
#include "web/hls_playlist.h"

#include <gtest/gtest.h>

namespace tilmash::web {
namespace {

TEST(HlsPlaylistTest, EveryChannelIsARenditionAndTheFloorIsTheDefault) {
  const auto r = Renditions({"floor", "ru", "kk", "uz"}, "en");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].name, "Original (English)");
  EXPECT_EQ(r[0].language, "en");
  EXPECT_TRUE(r[0].is_default);
  EXPECT_EQ(r[1].name, "Русский");
  EXPECT_EQ(r[2].name, "Қазақша");
  EXPECT_EQ(r[3].name, "Oʻzbekcha");
  EXPECT_FALSE(r[3].is_default);
  const std::string m = MasterPlaylist(r, 110000);
  EXPECT_EQ(m.rfind("#EXTM3U\n", 0), 0u);
  EXPECT_NE(m.find("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",LANGUAGE=\"kk\",NAME=\"Қазақша\",DEFAULT=NO,"
                   "AUTOSELECT=YES,URI=\"kk/playlist.m3u8\"\n"),
            std::string::npos)
      << m;
  // The variant stream plays the default rendition and names the group.
  EXPECT_NE(m.find("#EXT-X-STREAM-INF:BANDWIDTH=110000,CODECS=\"mp4a.40.2\",AUDIO=\"audio\"\nfloor/playlist.m3u8\n"),
            std::string::npos)
      << m;
  int media = 0;
  for (std::size_t at = 0; (at = m.find("#EXT-X-MEDIA:", at)) != std::string::npos; ++at) ++media;
  EXPECT_EQ(media, 4);
}

TEST(HlsPlaylistTest, UnknownLanguagesAndAMissingFloorLanguageStayUsable) {
  EXPECT_EQ(LanguageName("kk-Latn"), "Қазақша (Latn)");
  EXPECT_EQ(LanguageName("x-klingon"), "x-klingon");
  const auto r = Renditions({"floor", "xx"}, "");
  EXPECT_EQ(r[0].name, "Original");
  const std::string m = MasterPlaylist(r, 1);
  // No LANGUAGE attribute rather than an empty one.
  EXPECT_NE(m.find("GROUP-ID=\"audio\",NAME=\"Original\",DEFAULT=YES"), std::string::npos) << m;
  EXPECT_EQ(MasterPlaylist({}, 1).find("#EXT-X-STREAM-INF"), std::string::npos);
}

TEST(HlsPlaylistTest, QuotesAndLineBreaksCannotEscapeAnAttribute) {
  const std::string m = MasterPlaylist({{"a", "en", "evil\"\n#EXT-X-ENDLIST", true}}, 1);
  EXPECT_EQ(m.find("#EXT-X-ENDLIST"), m.find("evil#EXT-X-ENDLIST") + 4) << m;
  EXPECT_EQ(m.find("\n#EXT-X-ENDLIST"), std::string::npos) << m;
}

}  // namespace
}  // namespace tilmash::web
