#pragma once
#include <string>
#include <string_view>

namespace tilmash::domain {
// A BCP-47 language tag in the simple form used for channels: 2-3 letter primary subtag,
// optional subtags of 2-8 alphanumerics ("kk", "zh-Hans", "sr-Latn-RS").
bool IsValidLanguageTag(std::string_view tag);
// Canonical case: primary lowercase, 4-letter script title case, 2-letter region uppercase.
std::string CanonicalLanguageTag(std::string_view tag);
}  // namespace tilmash::domain
