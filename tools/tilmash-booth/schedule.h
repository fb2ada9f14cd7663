// "on@0.5,off@2.0,on@3": when to press the mic (or cough) key, in seconds after the start.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace tilmash::booth {

struct KeyEvent {
  enum class Key { kMic, kCough };
  double at_seconds;
  Key key;
  bool on;
};

// Appends the parsed events to `out`; returns false with `error` on a malformed schedule.
bool ParseSchedule(const std::string& text, KeyEvent::Key key, std::vector<KeyEvent>* out, std::string* error);
// Stable sort by time, so a mic and cough event at the same instant keep command-line order.
void SortByTime(std::vector<KeyEvent>& events);
const char* KeyName(KeyEvent::Key key);

}  // namespace tilmash::booth
