// What a console does during a run, and when (seconds after the start):
//   --mic-schedule / --cough-schedule   "on@0.5,off@2.0,on@3"
//   --select-schedule                   "input=ru@2,output=B@3,input=auto@5"
//   --message-at                        "slow-down@3,call-technician@5,text:chair:need water@6"
//   --handover-request-at               2.5 (repeatable)
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace tilmash::booth {

struct KeyEvent {
  enum class Key { kMic, kCough, kInput, kOutput, kHandoverRequest, kMessage };
  double at_seconds = 0;
  Key key = Key::kMic;
  bool on = false;         // kMic, kCough
  std::string value = {};  // kInput: floor|auto|<lang>; kOutput: A|B|C; kMessage: slow-down|call-technician|text
  std::string to = {};     // kMessage text: chair|technician
  std::string text = {};   // kMessage text
};

// Each parser appends to `out`; returns false with `error` on a malformed schedule.
bool ParseSchedule(const std::string& text, KeyEvent::Key key, std::vector<KeyEvent>* out, std::string* error);
bool ParseSelectSchedule(const std::string& text, std::vector<KeyEvent>* out, std::string* error);
bool ParseMessageSchedule(const std::string& text, std::vector<KeyEvent>* out, std::string* error);
// Stable sort by time, so events at the same instant keep command-line order.
void SortByTime(std::vector<KeyEvent>& events);
const char* KeyName(KeyEvent::Key key);

}  // namespace tilmash::booth
