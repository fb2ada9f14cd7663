#include "schedule.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "client/convert.h"

namespace tilmash::booth {

namespace {

std::vector<std::string> Items(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// Splits "WHAT@SECONDS" at the last '@'.
bool SplitAt(const std::string& item, std::string* what, double* seconds, const char* expected, std::string* error) {
  const auto at = item.rfind('@');
  if (at == std::string::npos || at == 0) {
    if (error) *error = "bad schedule item '" + item + "' (expected " + expected + ")";
    return false;
  }
  *what = item.substr(0, at);
  const std::string time = item.substr(at + 1);
  char* end = nullptr;
  *seconds = std::strtod(time.c_str(), &end);
  if (time.empty() || *end != '\0' || *seconds < 0) {
    if (error) *error = "bad time in schedule item '" + item + "'";
    return false;
  }
  return true;
}

}  // namespace

bool ParseSchedule(const std::string& text, KeyEvent::Key key, std::vector<KeyEvent>* out, std::string* error) {
  for (const std::string& item : Items(text)) {
    std::string state;
    double seconds = 0;
    if (!SplitAt(item, &state, &seconds, "on@SECONDS or off@SECONDS", error)) return false;
    if (state != "on" && state != "off") {
      if (error) *error = "bad schedule item '" + item + "' (expected on@SECONDS or off@SECONDS)";
      return false;
    }
    out->push_back({.at_seconds = seconds, .key = key, .on = state == "on"});
  }
  return true;
}

bool ParseSelectSchedule(const std::string& text, std::vector<KeyEvent>* out, std::string* error) {
  constexpr const char* kExpected = "input=floor|auto|LANG@SECONDS or output=A|B|C@SECONDS";
  for (const std::string& item : Items(text)) {
    std::string what;
    double seconds = 0;
    if (!SplitAt(item, &what, &seconds, kExpected, error)) return false;
    const auto eq = what.find('=');
    const std::string name = what.substr(0, eq), value = eq == std::string::npos ? "" : what.substr(eq + 1);
    KeyEvent e{.at_seconds = seconds, .key = KeyEvent::Key::kInput};
    if (name == "input" && client::InputFromText(value)) {
      e.value = value;
    } else if (name == "output" && client::OutputSlotFromText(value)) {
      e.key = KeyEvent::Key::kOutput;
      e.value = client::OutputSlotText(*client::OutputSlotFromText(value));
    } else {
      if (error) *error = "bad schedule item '" + item + "' (expected " + kExpected + ")";
      return false;
    }
    out->push_back(std::move(e));
  }
  return true;
}

bool ParseMessageSchedule(const std::string& text, std::vector<KeyEvent>* out, std::string* error) {
  constexpr const char* kExpected = "slow-down@SECONDS, call-technician@SECONDS or text:chair|technician:TEXT@SECONDS";
  for (const std::string& item : Items(text)) {
    std::string what;
    double seconds = 0;
    if (!SplitAt(item, &what, &seconds, kExpected, error)) return false;
    KeyEvent e{.at_seconds = seconds, .key = KeyEvent::Key::kMessage};
    if (what == "slow-down" || what == "call-technician") {
      e.value = what;
    } else if (what.rfind("text:", 0) == 0) {
      const std::string rest = what.substr(5);
      const auto colon = rest.find(':');
      e.value = "text";
      e.to = rest.substr(0, colon);
      e.text = colon == std::string::npos ? "" : rest.substr(colon + 1);
      if ((e.to != "chair" && e.to != "technician") || e.text.empty()) {
        if (error) *error = "bad message '" + item + "' (expected text:chair:TEXT@SECONDS or text:technician:...)";
        return false;
      }
    } else {
      if (error) *error = "bad message '" + item + "' (expected " + kExpected + ")";
      return false;
    }
    out->push_back(std::move(e));
  }
  return true;
}

void SortByTime(std::vector<KeyEvent>& events) {
  std::stable_sort(events.begin(), events.end(),
                   [](const KeyEvent& a, const KeyEvent& b) { return a.at_seconds < b.at_seconds; });
}

const char* KeyName(KeyEvent::Key key) {
  switch (key) {
    case KeyEvent::Key::kMic:
      return "mic";
    case KeyEvent::Key::kCough:
      return "cough";
    case KeyEvent::Key::kInput:
      return "input";
    case KeyEvent::Key::kOutput:
      return "output";
    case KeyEvent::Key::kHandoverRequest:
      return "handover";
    case KeyEvent::Key::kMessage:
      return "message";
  }
  return "?";
}

}  // namespace tilmash::booth
