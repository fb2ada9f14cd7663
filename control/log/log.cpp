#include "log/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <map>
#include <mutex>
#include <sstream>

namespace tilmash::log {

namespace {
std::mutex g_mu;
spdlog::level::level_enum g_default = spdlog::level::info;
std::map<std::string, spdlog::level::level_enum> g_levels;

spdlog::sink_ptr Sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return sink;
}
}  // namespace

std::shared_ptr<spdlog::logger> Get(const std::string& component) {
  std::lock_guard lock(g_mu);
  if (auto l = spdlog::get(component)) return l;
  auto l = std::make_shared<spdlog::logger>(component, Sink());
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  auto it = g_levels.find(component);
  l->set_level(it != g_levels.end() ? it->second : g_default);
  spdlog::register_logger(l);
  return l;
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
