#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

namespace tilmash::daemon {

bool LoadConfigFile(const std::string& path, Config* c, std::string* error) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    static const char* kKnown[] = {"grpc_listen", "media_address", "opus_bitrate", "frame_ms",
                                   "jitter_ms",   "floor_duck_db", "log_level",    "demo"};
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      bool known = false;
      for (const char* k : kKnown) known = known || key == k;
      if (!known) {
        *error = path + ": unknown key '" + key + "'";
        return false;
      }
    }
    if (root["grpc_listen"]) c->grpc_listen = root["grpc_listen"].as<std::string>();
    if (root["media_address"]) c->media_address = root["media_address"].as<std::string>();
    if (root["opus_bitrate"]) c->opus_bitrate = root["opus_bitrate"].as<int>();
    if (root["frame_ms"]) c->frame_ms = root["frame_ms"].as<int>();
    if (root["jitter_ms"]) c->jitter_ms = root["jitter_ms"].as<int>();
    if (root["floor_duck_db"]) c->floor_duck_db = root["floor_duck_db"].as<double>();
    if (root["log_level"]) c->log_level = root["log_level"].as<std::string>();
    if (root["demo"]) c->demo = root["demo"].as<bool>();
  } catch (const YAML::Exception& e) {
    *error = path + ": " + e.what();
    return false;
  }
  return true;
}

std::string Validate(const Config& c) {
  if (c.frame_ms != 5 && c.frame_ms != 10 && c.frame_ms != 20) return "frame_ms must be 5, 10 or 20";
  if (c.jitter_ms < 0 || c.jitter_ms > 500) return "jitter_ms must be between 0 and 500";
  if (c.opus_bitrate < 6000 || c.opus_bitrate > 510000) return "opus_bitrate must be between 6000 and 510000";
  if (c.floor_duck_db > 0 || c.floor_duck_db < -60) return "floor_duck_db must be between -60 and 0";
  if (c.grpc_listen.find(':') == std::string::npos) return "grpc_listen must be HOST:PORT";
  return "";
}

}  // namespace tilmash::daemon
