#include "daemon/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

namespace tilmash::daemon {

bool LoadConfigFile(const std::string& path, Config* c, std::string* error) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    static const char* kKnown[] = {"grpc_listen",
                                   "media_address",
                                   "opus_bitrate",
                                   "frame_ms",
                                   "jitter_ms",
                                   "floor_duck_db",
                                   "log_level",
                                   "demo",
                                   "plaintext",
                                   "tls_cert",
                                   "tls_key",
                                   "tls_client_ca",
                                   "require_client_cert",
                                   "token_secret_file",
                                   "admin_token_file",
                                   "audit_log",
                                   "fanout_threads",
                                   "listener_lease_ms",
                                   "key_rotation_s",
                                   "key_lead_ms",
                                   "rekey_after_packets",
                                   "multicast_group",
                                   "multicast_port",
                                   "multicast_ttl",
                                   "http_listen",
                                   "http_tls_cert",
                                   "http_tls_key",
                                   "hls",
                                   "hls_dir",
                                   "web_root"};
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
    if (root["listener_lease_ms"]) c->listener_lease_ms = root["listener_lease_ms"].as<int>();
    if (root["key_rotation_s"]) c->key_rotation_s = root["key_rotation_s"].as<int>();
    if (root["key_lead_ms"]) c->key_lead_ms = root["key_lead_ms"].as<int>();
    if (root["rekey_after_packets"]) c->rekey_after_packets = root["rekey_after_packets"].as<long long>();
    if (root["multicast_group"]) c->multicast_group = root["multicast_group"].as<std::string>();
    if (root["multicast_port"]) c->multicast_port = root["multicast_port"].as<int>();
    if (root["multicast_ttl"]) c->multicast_ttl = root["multicast_ttl"].as<int>();
    if (root["http_listen"]) c->http_listen = root["http_listen"].as<std::string>();
    if (root["http_tls_cert"]) c->http_tls_cert = root["http_tls_cert"].as<std::string>();
    if (root["http_tls_key"]) c->http_tls_key = root["http_tls_key"].as<std::string>();
    if (root["hls"]) c->hls = root["hls"].as<bool>();
    if (root["web_root"]) c->web_root = root["web_root"].as<std::string>();
    if (root["hls_dir"]) c->hls_dir = root["hls_dir"].as<std::string>();
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
  if (c.listener_lease_ms < 0) return "listener_lease_ms must be >= 0 (0: no lease)";
  if (c.listener_lease_ms > 0 && c.listener_lease_ms < 1000) return "listener_lease_ms must be 0 or at least 1000";
  if (c.key_rotation_s < 0) return "key_rotation_s must be >= 0 (0: no periodic rotation)";
  if (c.key_lead_ms < 100 || c.key_lead_ms > 60000) return "key_lead_ms must be between 100 and 60000";
  if (c.rekey_after_packets < 16 || c.rekey_after_packets > (1LL << 47))
    return "rekey_after_packets must be between 16 and 2^47 (libsrtp's limit is 2^48)";
  if (!c.multicast_group.empty()) {
    unsigned a = 0, b, cc, d;
    char tail;
    if (std::sscanf(c.multicast_group.c_str(), "%u.%u.%u.%u%c", &a, &b, &cc, &d, &tail) != 4 || a < 224 || a > 239 ||
        b > 255 || cc > 255 || d > 255)
      return "multicast_group must be an IPv4 multicast address (224.0.0.0 - 239.255.255.255)";
  }
  if (c.multicast_port < 1 || c.multicast_port > 65535) return "multicast_port must be between 1 and 65535";
  if (c.multicast_ttl < 0 || c.multicast_ttl > 255) return "multicast_ttl must be between 0 and 255";
  const bool http = !c.http_listen.empty() && c.http_listen != "off";
  if (http && c.http_listen.find(':') == std::string::npos) return "http_listen must be HOST:PORT or off";
  if (c.http_tls_cert.empty() != c.http_tls_key.empty()) return "http_tls_cert and http_tls_key go together";
  if ((c.hls || !c.hls_dir.empty()) && !http) return "hls needs http_listen (the segments are served over HTTP)";
  return "";
}

}  // namespace tilmash::daemon
