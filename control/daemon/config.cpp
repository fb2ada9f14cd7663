#include "daemon/config.h"

#include <arpa/inet.h>
#include <sched.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <type_traits>

#include "domain/session_registry.h"
#include "domain/status.h"
#include "domain/types.h"
#include "fanout/port_range.h"

#ifndef TILMASH_SOURCE_WEB_ROOT
#define TILMASH_SOURCE_WEB_ROOT ""
#endif

namespace tilmash::daemon {

namespace {
// One key: absent leaves the default; a value of the wrong type (or out of the type's range)
// is an error naming the key and its line, never an exception out of here.
template <class T>
bool Read(const YAML::Node& root, const char* key, T* out, const std::string& path, std::string* error) {
  const YAML::Node n = root[key];
  if (!n) return true;
  try {
    *out = n.as<T>();
    return true;
  } catch (const YAML::Exception&) {
    *error = path + ":" + std::to_string(n.Mark().line + 1) + ": " + key + ": " +
             (n.IsScalar() ? domain::Quoted(n.Scalar()) + " is not " : std::string("expected ")) +
             (std::is_same_v<T, bool>          ? "true or false"
              : std::is_same_v<T, std::string> ? "a string"
              : std::is_integral_v<T>          ? "an integer in range"
              : std::is_arithmetic_v<T>        ? "a number"
                                               : "a list of strings");
    return false;
  }
}

// fanout_threads: "auto" (0) or a number.
bool ReadThreads(const YAML::Node& root, const char* key, int* out, const std::string& path, std::string* error) {
  const YAML::Node n = root[key];
  if (n && n.IsScalar() && n.Scalar() == "auto") {
    *out = 0;
    return true;
  }
  if (!Read(root, key, out, path, error)) {
    *error += " (or auto)";
    return false;
  }
  return true;
}
}  // namespace

const std::vector<std::string>& ConfigKeys() {
  static const std::vector<std::string> keys = {"grpc_listen",
                                                "media_address",
                                                "media_ports",
                                                "webrtc_mode",
                                                "webrtc_port",
                                                "webrtc_public_ip",
                                                "opus_bitrate",
                                                "frame_ms",
                                                "jitter_ms",
                                                "floor_duck_db",
                                                "loudness_target_lufs",
                                                "console_link_loss_ms",
                                                "floor_loss_ms",
                                                "floor_return_ms",
                                                "drain_s",
                                                "log_level",
                                                "log_format",
                                                "demo",
                                                "plaintext",
                                                "tls_cert",
                                                "tls_key",
                                                "tls_client_ca",
                                                "require_client_cert",
                                                "token_secret_file",
                                                "admin_token_file",
                                                "audit_log",
                                                "state_dir",
                                                "fanout_threads",
                                                "fanout_max_backlog_ms",
                                                "fanout_realtime_priority",
                                                "max_listeners",
                                                "listener_lease_ms",
                                                "key_rotation_s",
                                                "key_lead_ms",
                                                "rekey_after_packets",
                                                "multicast_group",
                                                "aes67_interface",
                                                "aes67_out_group",
                                                "aes67_out_port",
                                                "ptp_domain",
                                                "multicast_port",
                                                "multicast_ttl",
                                                "http_listen",
                                                "http_tls_cert",
                                                "http_tls_key",
                                                "hls",
                                                "hls_dir",
                                                "record_dir",
                                                "record_segment_s",
                                                "edge_of",
                                                "edge_token_file",
                                                "edge_ca_file",
                                                "edge_plaintext",
                                                "edge_sessions",
                                                "edge_hls_origin",
                                                "web_root"};
  return keys;
}

std::string ResolveWebRoot(const std::string& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "tilmash" / "web";
    if (std::filesystem::exists(installed / "index.html", ec)) return installed.string();
  }
  return TILMASH_SOURCE_WEB_ROOT;
}

bool LoadConfigFile(const std::string& path, Config* c, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    *error = path + ": " + e.what();
    return false;
  }
  if (!root.IsMap()) {
    *error = path + ": expected a map of settings (key: value)";
    return false;
  }
  const auto& known = ConfigKeys();
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      *error = path + ":" + std::to_string(kv.first.Mark().line + 1) + ": unknown key " + domain::Quoted(key);
      return false;
    }
  }
  return Read(root, "grpc_listen", &c->grpc_listen, path, error) &&
         Read(root, "media_address", &c->media_address, path, error) &&
         Read(root, "media_ports", &c->media_ports, path, error) &&
         Read(root, "webrtc_mode", &c->webrtc_mode, path, error) &&
         Read(root, "webrtc_port", &c->webrtc_port, path, error) &&
         Read(root, "webrtc_public_ip", &c->webrtc_public_ip, path, error) &&
         Read(root, "opus_bitrate", &c->opus_bitrate, path, error) &&
         Read(root, "frame_ms", &c->frame_ms, path, error) && Read(root, "jitter_ms", &c->jitter_ms, path, error) &&
         Read(root, "floor_duck_db", &c->floor_duck_db, path, error) &&
         Read(root, "loudness_target_lufs", &c->loudness_target_lufs, path, error) &&
         Read(root, "console_link_loss_ms", &c->console_link_loss_ms, path, error) &&
         Read(root, "floor_loss_ms", &c->floor_loss_ms, path, error) &&
         Read(root, "floor_return_ms", &c->floor_return_ms, path, error) &&
         Read(root, "drain_s", &c->drain_s, path, error) && Read(root, "log_level", &c->log_level, path, error) &&
         Read(root, "log_format", &c->log_format, path, error) && Read(root, "demo", &c->demo, path, error) &&
         ReadThreads(root, "fanout_threads", &c->fanout_threads, path, error) &&
         Read(root, "fanout_max_backlog_ms", &c->fanout_max_backlog_ms, path, error) &&
         Read(root, "fanout_realtime_priority", &c->fanout_realtime_priority, path, error) &&
         Read(root, "max_listeners", &c->max_listeners, path, error) &&
         Read(root, "listener_lease_ms", &c->listener_lease_ms, path, error) &&
         Read(root, "key_rotation_s", &c->key_rotation_s, path, error) &&
         Read(root, "key_lead_ms", &c->key_lead_ms, path, error) &&
         Read(root, "rekey_after_packets", &c->rekey_after_packets, path, error) &&
         Read(root, "multicast_group", &c->multicast_group, path, error) &&
         Read(root, "aes67_interface", &c->aes67_interface, path, error) &&
         Read(root, "aes67_out_group", &c->aes67_out_group, path, error) &&
         Read(root, "aes67_out_port", &c->aes67_out_port, path, error) &&
         Read(root, "ptp_domain", &c->ptp_domain, path, error) &&
         Read(root, "multicast_port", &c->multicast_port, path, error) &&
         Read(root, "multicast_ttl", &c->multicast_ttl, path, error) &&
         Read(root, "http_listen", &c->http_listen, path, error) &&
         Read(root, "http_tls_cert", &c->http_tls_cert, path, error) &&
         Read(root, "http_tls_key", &c->http_tls_key, path, error) && Read(root, "hls", &c->hls, path, error) &&
         Read(root, "web_root", &c->web_root, path, error) && Read(root, "hls_dir", &c->hls_dir, path, error) &&
         Read(root, "plaintext", &c->plaintext, path, error) && Read(root, "tls_cert", &c->tls_cert, path, error) &&
         Read(root, "tls_key", &c->tls_key, path, error) &&
         Read(root, "tls_client_ca", &c->tls_client_ca, path, error) &&
         Read(root, "require_client_cert", &c->require_client_cert, path, error) &&
         Read(root, "token_secret_file", &c->token_secret_file, path, error) &&
         Read(root, "admin_token_file", &c->admin_token_file, path, error) &&
         Read(root, "audit_log", &c->audit_log, path, error) && Read(root, "state_dir", &c->state_dir, path, error) &&
         Read(root, "record_dir", &c->record_dir, path, error) &&
         Read(root, "record_segment_s", &c->record_segment_s, path, error) &&
         Read(root, "edge_of", &c->edge_of, path, error) &&
         Read(root, "edge_token_file", &c->edge_token_file, path, error) &&
         Read(root, "edge_ca_file", &c->edge_ca_file, path, error) &&
         Read(root, "edge_plaintext", &c->edge_plaintext, path, error) &&
         Read(root, "edge_sessions", &c->edge_sessions, path, error) &&
         Read(root, "edge_hls_origin", &c->edge_hls_origin, path, error);
}

int FanoutThreads(const Config& c) {
  if (c.fanout_threads > 0) return c.fanout_threads;
  cpu_set_t set;
  CPU_ZERO(&set);
  int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
  if (cores <= 0) cores = int(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, 64);
}

int DefaultMaxListeners(const Config& c) {
  // tools/bench on the 2-vCPU Debian 12 machine: 3.58 us of daemon CPU per listener packet
  // (20 ms fan-out to 2,000 listeners, AES_CM_128_HMAC_SHA1_80, send side), i.e. 5,587
  // listener streams per core at 20 ms packets. Half of that core is kept for the pipelines
  // (mixing, encoding) and the control plane: 1,396 listeners per sender thread at 10 ms frames.
  constexpr double kUsPerListenerPacket = 3.58;
  constexpr double kFanoutShareOfCore = 0.5;
  const int frame_ms = c.frame_ms > 0 ? c.frame_ms : 10;
  const double per_thread = kFanoutShareOfCore * 1e6 / (kUsPerListenerPacket * (1000.0 / frame_ms));
  return int(per_thread) * FanoutThreads(c);
}

int EffectiveMaxListeners(const Config& c) { return c.max_listeners > 0 ? c.max_listeners : DefaultMaxListeners(c); }

std::string Validate(const Config& c) {
  std::string problem;
  if (c.frame_ms != 5 && c.frame_ms != 10 && c.frame_ms != 20) return "frame_ms must be 5, 10 or 20";
  if (c.jitter_ms < 0 || c.jitter_ms > 500) return "jitter_ms must be between 0 and 500";
  if (c.fanout_threads < 0 || c.fanout_threads > 64)
    return "fanout_threads must be auto (0, one per core) or between 1 and 64";
  if (c.fanout_max_backlog_ms < 5 || c.fanout_max_backlog_ms > 10000)
    return "fanout_max_backlog_ms must be between 5 and 10000";
  if (c.fanout_realtime_priority < 0 || c.fanout_realtime_priority > 99)
    return "fanout_realtime_priority must be between 1 and 99 (SCHED_FIFO), or 0 for ordinary scheduling";
  if (c.max_listeners < 0 || c.max_listeners > 1000000)
    return "max_listeners must be between 0 (derived from the fan-out's measured cost) and 1000000";
  if (c.opus_bitrate < 6000 || c.opus_bitrate > 510000) return "opus_bitrate must be between 6000 and 510000";
  if (c.floor_duck_db > 0 || c.floor_duck_db < -60) return "floor_duck_db must be between -60 and 0";
  if (std::string problem = domain::LoudnessTargetProblem(c.loudness_target_lufs); !problem.empty())
    return "loudness_target_lufs " + problem;
  if (c.console_link_loss_ms != 0 && (c.console_link_loss_ms < 20 || c.console_link_loss_ms > 10000))
    return "console_link_loss_ms must be 0 (never) or between 20 and 10000";
  if (c.floor_loss_ms != 0 && (c.floor_loss_ms < 20 || c.floor_loss_ms > 10000))
    return "floor_loss_ms must be 0 (never) or between 20 and 10000";
  if (c.floor_return_ms < 0 || c.floor_return_ms > 600000) return "floor_return_ms must be between 0 and 600000";
  if (fanout::PortRange ports; !fanout::PortRange::Parse(c.media_ports, &ports, &problem)) return problem;
  if (c.log_format != "text" && c.log_format != "json") return "log_format must be text or json";
  if (c.webrtc_mode != "fanout" && c.webrtc_mode != "webrtcbin") return "webrtc_mode must be fanout or webrtcbin";
  if (c.webrtc_port < 0 || c.webrtc_port > 65535) return "webrtc_port must be between 0 (one of media_ports) and 65535";
  if (in_addr a{}; !c.webrtc_public_ip.empty() && inet_pton(AF_INET, c.webrtc_public_ip.c_str(), &a) != 1)
    return "webrtc_public_ip must be an IPv4 address (the server's public address behind 1:1 NAT)";
  if (c.drain_s < 0 || c.drain_s > 3600) return "drain_s must be between 0 and 3600";
  if (c.record_segment_s < 1 || c.record_segment_s > 24 * 3600) return "record_segment_s must be between 1 and 86400";
  if (c.state_dir.empty()) return "state_dir must be a directory, or none (memory only)";
  if (c.grpc_listen.find(':') == std::string::npos) return "grpc_listen must be HOST:PORT";
  if (c.listener_lease_ms < 0) return "listener_lease_ms must be >= 0 (0: no lease)";
  if (c.listener_lease_ms > 0 && c.listener_lease_ms < 1000) return "listener_lease_ms must be 0 or at least 1000";
  if (c.key_rotation_s < 0) return "key_rotation_s must be >= 0 (0: no periodic rotation)";
  if (c.key_lead_ms < 100 || c.key_lead_ms > 60000) return "key_lead_ms must be between 100 and 60000";
  if (c.rekey_after_packets < 16 || c.rekey_after_packets > (1LL << 47))
    return "rekey_after_packets must be between 16 and 2^47 (libsrtp's limit is 2^48)";
  if (!c.aes67_interface.empty()) {
    in_addr a{};
    if (inet_pton(AF_INET, c.aes67_interface.c_str(), &a) != 1)
      return "aes67_interface must be the IPv4 address of an interface (e.g. 192.168.1.20), not '" + c.aes67_interface +
             "'";
  }
  if (!c.aes67_out_group.empty()) {
    in_addr a{};
    if (inet_pton(AF_INET, c.aes67_out_group.c_str(), &a) != 1 || (ntohl(a.s_addr) >> 28) != 0xE)
      return "aes67_out_group must be an IPv4 multicast address (e.g. 239.69.1.1), not '" + c.aes67_out_group + "'";
  }
  if (c.aes67_out_port < 1 || c.aes67_out_port > 65535) return "aes67_out_port must be between 1 and 65535";
  if (c.ptp_domain < -1 || c.ptp_domain > 127) return "ptp_domain must be between 0 and 127 (-1: no PTP)";
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
  if (!c.edge_of.empty()) {
    const auto colon = c.edge_of.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == c.edge_of.size())
      return "edge_of must be the origin's gRPC HOST:PORT, not '" + c.edge_of + "'";
    if (c.edge_token_file.empty())
      return "edge_token_file is needed with edge_of (a token of role edge from the origin)";
    const std::string host = c.edge_of.substr(0, colon);
    if (c.edge_plaintext && host != "127.0.0.1" && host != "localhost" && host != "[::1]")
      return "edge_plaintext is for a loopback origin only; give edge_ca_file for " + c.edge_of;
    if (c.edge_plaintext && !c.edge_ca_file.empty()) return "edge_plaintext and edge_ca_file exclude each other";
    if (c.media_address == "0.0.0.0")
      return "media_address must be this node's own IPv4 address on an edge (the origin sends the channels there)";
    for (std::size_t i = 0; i < c.edge_sessions.size(); ++i)
      if (std::string problem = domain::SessionIdProblem(c.edge_sessions[i]); !problem.empty())
        return "edge_sessions[" + std::to_string(i) + "]: '" + c.edge_sessions[i] + "' " + problem;
    if (!c.edge_hls_origin.empty()) {
      const bool https = c.edge_hls_origin.rfind("https://", 0) == 0;
      const bool loopback_http = c.edge_hls_origin.rfind("http://127.", 0) == 0 ||
                                 c.edge_hls_origin.rfind("http://localhost", 0) == 0 ||
                                 c.edge_hls_origin.rfind("http://[::1]", 0) == 0;
      if (!https && !loopback_http)
        return "edge_hls_origin must be the origin's HTTP side as https://HOST:PORT (http:// to a loopback origin "
               "only), not '" +
               c.edge_hls_origin + "'";
      if (!http) return "edge_hls_origin needs http_listen (the edge serves the origin's HLS over HTTP)";
    }
  } else if (!c.edge_token_file.empty() || !c.edge_ca_file.empty() || c.edge_plaintext || !c.edge_sessions.empty() ||
             !c.edge_hls_origin.empty()) {
    return "edge_token_file, edge_ca_file, edge_plaintext, edge_sessions and edge_hls_origin need edge_of";
  }
  return "";
}

}  // namespace tilmash::daemon
