#include "schedule.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace tilmash::booth {

bool ParseSchedule(const std::string& text, KeyEvent::Key key, std::vector<KeyEvent>* out, std::string* error) {
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    const auto at = item.find('@');
    const std::string state = item.substr(0, at);
    if (at == std::string::npos || (state != "on" && state != "off")) {
      if (error) *error = "bad schedule item '" + item + "' (expected on@SECONDS or off@SECONDS)";
      return false;
    }
    const std::string time = item.substr(at + 1);
    char* end = nullptr;
    const double seconds = std::strtod(time.c_str(), &end);
    if (time.empty() || *end != '\0' || seconds < 0) {
      if (error) *error = "bad time in schedule item '" + item + "'";
      return false;
    }
    out->push_back({seconds, key, state == "on"});
  }
  return true;
}

void SortByTime(std::vector<KeyEvent>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const KeyEvent& a, const KeyEvent& b) { return a.at_seconds < b.at_seconds; });
}

const char* KeyName(KeyEvent::Key key) { return key == KeyEvent::Key::kMic ? "mic" : "cough"; }

}  // namespace tilmash::booth
