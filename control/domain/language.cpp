#include "domain/language.h"

#include <cctype>

namespace tilmash::domain {

bool IsValidLanguageTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) return false;
  std::size_t start = 0;
  bool first = true;
  while (start <= tag.size()) {
    std::size_t end = tag.find('-', start);
    if (end == std::string_view::npos) end = tag.size();
    std::string_view part = tag.substr(start, end - start);
    if (first) {
      if (part.size() < 2 || part.size() > 3) return false;
      for (char c : part)
        if (!std::isalpha(static_cast<unsigned char>(c))) return false;
    } else {
      if (part.size() < 2 || part.size() > 8) return false;
      for (char c : part)
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    first = false;
    if (end == tag.size()) break;
    start = end + 1;
  }
  return tag.back() != '-';
}

std::string CanonicalLanguageTag(std::string_view tag) {
  std::string out;
  std::size_t start = 0;
  bool first = true;
  while (true) {
    std::size_t end = tag.find('-', start);
    if (end == std::string_view::npos) end = tag.size();
    std::string part(tag.substr(start, end - start));
    for (auto& c : part) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (!first && part.size() == 4) part[0] = char(std::toupper(static_cast<unsigned char>(part[0])));
    if (!first && part.size() == 2)
      for (auto& c : part) c = char(std::toupper(static_cast<unsigned char>(c)));
    if (!first) out += '-';
    out += part;
    first = false;
    if (end == tag.size()) break;
    start = end + 1;
  }
  return out;
}

}  // namespace tilmash::domain
