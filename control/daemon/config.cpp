#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

namespace tilmash::daemon {

bool LoadConfigFile(const std::string& path, Config* c, std::string* error) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    static const char* kKnown[] = {"grpc_listen",         "media_address",     "opus_bitrate",     "frame_ms",
                                   "jitter_ms",           "floor_duck_db",     "log_level",        "demo",
                                   "plaintext",           "tls_cert",          "tls_key",          "tls_client_ca",
                                   "require_client_cert", "token_secret_file", "admin_token_file", "audit_log",
                                   "fanout_threads"};
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
    if (root["fanout_threads"]) c->fanout_threads = root["fanout_threads"].as<int>();
    if (root["plaintext"]) c->plaintext = root["plaintext"].as<bool>();
    if (root["tls_cert"]) c->tls_cert = root["tls_cert"].as<std::string>();
    if (root["tls_key"]) c->tls_key = root["tls_key"].as<std::string>();
    if (root["tls_client_ca"]) c->tls_client_ca = root["tls_client_ca"].as<std::string>();
    if (root["require_client_cert"]) c->require_client_cert = root["require_client_cert"].as<bool>();
    if (root["token_secret_file"]) c->token_secret_file = root["token_secret_file"].as<std::string>();
    if (root["admin_token_file"]) c->admin_token_file = root["admin_token_file"].as<std::string>();
    if (root["audit_log"]) c->audit_log = root["audit_log"].as<std::string>();
  } catch (const YAML::Exception& e) {
    *error = path + ": " + e.what();
    return false;
  }
  return true;
}

std::string Validate(const Config& c) {
  if (c.frame_ms != 5 && c.frame_ms != 10 && c.frame_ms != 20) return "frame_ms must be 5, 10 or 20";
  if (c.jitter_ms < 0 || c.jitter_ms > 500) return "jitter_ms must be between 0 and 500";
  if (c.fanout_threads < 1 || c.fanout_threads > 64) return "fanout_threads must be between 1 and 64";
  if (c.opus_bitrate < 6000 || c.opus_bitrate > 510000) return "opus_bitrate must be between 6000 and 510000";
  if (c.floor_duck_db > 0 || c.floor_duck_db < -60) return "floor_duck_db must be between -60 and 0";
  if (c.grpc_listen.find(':') == std::string::npos) return "grpc_listen must be HOST:PORT";
  return "";
}

}  // namespace tilmash::daemon
