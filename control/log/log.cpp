#include "log/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tilmash::log {

namespace {
std::mutex g_mu;
spdlog::level::level_enum g_default = spdlog::level::info;
std::map<std::string, spdlog::level::level_enum> g_levels;

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

// One sink for every component: the format is the sink's, so a logger made later gets it too.
spdlog::sink_ptr Sink() {
  static auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s->set_pattern(kTextPattern);
    return s;
  }();
  return sink;
}

bool KeyChar(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '_' || std::isdigit(c); }

// A value as JSON: a number when all of it reads as one, else the text without quotes.
nlohmann::json Value(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front())
    return std::string(v.substr(1, v.size() - 2));
  long long i = 0;
  if (auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
      ec == std::errc() && end == v.data() + v.size())
    return i;
  double d = 0;
  if (auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      ec == std::errc() && end == v.data() + v.size())
    return d;
  return std::string(v);
}

// Every key=value word of the message: key in [a-z0-9_] starting with a letter, value up to a
// space or a closing , ; ) (a quoted value up to its quote).
nlohmann::json Fields(std::string_view m) {
  nlohmann::json fields = nlohmann::json::object();
  std::size_t i = 0;
  while (i < m.size()) {
    const std::size_t start = i;
    while (i < m.size() && m[i] != ' ') ++i;
    std::string_view word = m.substr(start, i - start);
    ++i;
    std::size_t lead = 0;  // "(key=value)": the parenthesis is the sentence's
    while (lead < word.size() && (word[lead] == '(' || word[lead] == '[')) ++lead;
    word.remove_prefix(lead);
    const std::size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0 || !std::islower(static_cast<unsigned char>(word[0]))) continue;
    bool key = true;
    for (std::size_t k = 0; k < eq; ++k) key = key && KeyChar(word[k]);
    if (!key) continue;
    std::string_view value = word.substr(eq + 1);
    if (!value.empty() && (value[0] == '\'' || value[0] == '"')) {
      // A quoted value may hold spaces: take it up to its closing quote.
      const std::size_t from = start + lead + eq + 2;
      const std::size_t close = m.find(value[0], from);
      if (close != std::string_view::npos) {
        value = m.substr(from - 1, close - from + 2);
        i = close + 1;
      }
    } else {
      while (!value.empty() &&
             (value.back() == ',' || value.back() == ';' || value.back() == ')' || value.back() == '.'))
        value.remove_suffix(1);
    }
    if (value.empty()) continue;
    fields[std::string(word.substr(0, eq))] = Value(value);
  }
  return fields;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = JsonLine(msg.time, spdlog::level::to_string_view(msg.level).data(),
                                      std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                                      std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};
}  // namespace

std::string JsonLine(std::chrono::system_clock::time_point time, std::string_view level, std::string_view component,
                     std::string_view text) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[40];
  const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", int(ms % 1000));
  nlohmann::json j;
  j["time"] = stamp;
  j["level"] = std::string(level);
  j["component"] = std::string(component);
  // "session ID: rest": the id is the session's, the rest is the message.
  j["session"] = nullptr;
  std::string_view message = text;
  if (message.rfind("session ", 0) == 0) {
    const std::size_t colon = message.find(": ", 8);
    const std::string_view id = colon == std::string_view::npos ? std::string_view() : message.substr(8, colon - 8);
    if (!id.empty() && id.find(' ') == std::string_view::npos) {
      j["session"] = std::string(id);
      message.remove_prefix(colon + 2);
    }
  }
  j["message"] = std::string(message);
  j["fields"] = Fields(message);
  // Invalid UTF-8 (a peer's bytes in a message) is replaced, never a throw on the logging path.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<spdlog::logger> Get(const std::string& component) {
  std::lock_guard lock(g_mu);
  if (auto l = spdlog::get(component)) return l;
  auto l = std::make_shared<spdlog::logger>(component, Sink());
  auto it = g_levels.find(component);
  l->set_level(it != g_levels.end() ? it->second : g_default);
  spdlog::register_logger(l);
  return l;
}

bool SetFormat(const std::string& format, std::string* error) {
  std::lock_guard lock(g_mu);
  if (format == "text") {
    Sink()->set_pattern(kTextPattern);
  } else if (format == "json") {
    Sink()->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    if (error) *error = "unknown log format '" + format + "' (text or json)";
    return false;
  }
  return true;
}

bool Configure(const std::string& spec, std::string* error) {
  std::stringstream ss(spec);
  std::string item;
  std::lock_guard lock(g_mu);
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string name = eq == std::string::npos ? "" : item.substr(0, eq);
    std::string level = eq == std::string::npos ? item : item.substr(eq + 1);
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
      if (error) *error = "unknown log level '" + level + "'";
      return false;
    }
    if (name.empty()) {
      g_default = lvl;
      spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
        if (!g_levels.count(l->name())) l->set_level(lvl);
      });
    } else {
      g_levels[name] = lvl;
      if (auto l = spdlog::get(name)) l->set_level(lvl);
    }
  }
  return true;
}

}  // namespace tilmash::log
