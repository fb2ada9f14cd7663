// One Config with defaults, validated at start-up (CONVENTIONS habit 10).
#pragma once
#include <string>
#include <vector>

namespace tilmash::daemon {

struct DemoSession {
  std::string id = "demo";
  std::string name = "Plenary (demo)";
  std::vector<std::string> languages = {"en", "ru", "kk"};
  std::string floor_language = "en";
  bool operator==(const DemoSession&) const = default;
};

struct Config {
  std::string grpc_listen = "127.0.0.1:7300";
  std::string media_address = "127.0.0.1";  // ingest ports and the listener streams' source
  // Every UDP port of the media side (ingests, the fan-out's source, WebRTC ICE): "A-B", or ""
  // for any port the kernel picks.
  std::string media_ports;
  // WebRTC viewers (WHEP): "fanout": the daemon's own ICE-lite + DTLS-SRTP on one UDP port
  // (webrtc_port; 0: one of media_ports), each viewer a fan-out listener; "webrtcbin": a
  // webrtcbin pipeline per viewer (the previous design). webrtc_public_ip: the address viewers
  // are told to send to, for a server behind 1:1 NAT ("": media_address).
  std::string webrtc_mode = "fanout";
  int webrtc_port = 0;
  std::string webrtc_public_ip;
  int opus_bitrate = 64000;
  int frame_ms = 10;
  int jitter_ms = 10;
  // Fan-out sender threads; 0 is "auto": one per core this process may run on (FanoutThreads).
  int fanout_threads = 0;
  // A fan-out sender that has fallen behind drops (oldest first) channel packets that waited
  // longer than this: listeners get a gap they conceal, never audio seconds late.
  int fanout_max_backlog_ms = 50;
  // The fan-out sender threads' SCHED_FIFO priority (1-99; 0: ordinary scheduling). Without the
  // right to it (CAP_SYS_NICE or LimitRTPRIO) they run ordinary, and the start-up log says so.
  int fanout_realtime_priority = 10;
  // Admission control: unicast listener streams this node carries; Subscribe past it is
  // refused (RESOURCE_EXHAUSTED). 0: DefaultMaxListeners (from the measured fan-out cost).
  int max_listeners = 0;
  double floor_duck_db = -18.0;
  // Language channels are leveled towards this loudness unless a session says otherwise (LUFS,
  // EBU R128; 0: no leveling).
  double loudness_target_lufs = -23.0;
  // A console whose packets stop this long has lost its link: its channel goes to the floor at
  // full level until they return (0: never).
  int console_link_loss_ms = 60;
  // A floor with a backup: the primary's RTP silent this long puts the backup on air (0:
  // never); the primary returns once its packets came without such a gap for floor_return_ms.
  int floor_loss_ms = 100;
  int floor_return_ms = 2000;
  // SIGTERM drains this long (health NOT_SERVING, new streams refused) before the exit.
  int drain_s = 5;
  // Listeners: a listener that neither calls KeepAlive nor holds WatchKeys open this long is
  // ended (0: never); keys are replaced every key_rotation_s (0: never) and after
  // rekey_after_packets packets, announced key_lead_ms before use.
  int listener_lease_ms = 60000;
  int key_rotation_s = 3600;
  int key_lead_ms = 500;
  long long rekey_after_packets = 1LL << 31;
  // Venue multicast: channel i of a session is sent to multicast_group + i ("": no multicast).
  std::string multicast_group;
  // AES67 (venue audio): the IPv4 address of the interface AES67 multicast streams are joined
  // on ("": the one the routing table picks for the group).
  std::string aes67_interface;
  // AES67 out: every channel of every session also as L24 multicast, channel after channel from
  // this group upwards ("": off), on aes67_out_port, announced with SAP.
  std::string aes67_out_group;
  int aes67_out_port = 5004;
  // The sessions run on the venue's PTP time of this domain (0..127), followed on
  // aes67_interface; -1: on this host's clock.
  int ptp_domain = -1;
  int multicast_port = 5004;
  int multicast_ttl = 1;
  // HTTP side (HLS, later WHEP and the web page): "" or "off" disables it. Plain HTTP only on
  // loopback; elsewhere http_tls_cert and http_tls_key are required.
  std::string http_listen = "127.0.0.1:7380";
  std::string http_tls_cert, http_tls_key;
  // The web pages (index.html, app.js, vendor/); "": the installed ones (PREFIX/share/tilmash/web
  // next to PREFIX/bin/tilmashd), or the source tree's web/ for a daemon run from its build tree.
  std::string web_root;
  // HLS per channel: on with hls (segments in a private temporary directory) or hls_dir.
  bool hls = false;
  std::string hls_dir;
  std::string log_level = "info";   // "info" or "info,mix=debug"
  std::string log_format = "text";  // "text" or "json" (one object per line)
  bool demo = false;
  // Security: TLS unless plaintext is asked for (loopback only).
  bool plaintext = false;
  std::string tls_cert, tls_key, tls_client_ca;
  bool require_client_cert = false;
  std::string token_secret_file;  // "": an in-memory secret (tokens die with the process)
  std::string admin_token_file;   // write a fresh admin token here at start-up (0600)
  std::string audit_log;          // append-only JSON lines; "": in memory only
  // The state store (SQLite): sessions, listeners and token ids survive a restart. "none":
  // memory only (tests, demos).
  std::string state_dir = "/var/lib/tilmash";
  // Channel recordings (RecordingService): Ogg Opus files in <record_dir>/<session>/<channel>/,
  // a new file every record_segment_s seconds of audio. "": recording is refused.
  std::string record_dir;
  int record_segment_s = 600;
  // An edge node: mirrors sessions of the origin at edge_of (gRPC HOST:PORT) with the bearer
  // token in edge_token_file (role edge), over TLS checked with edge_ca_file ("": the system's
  // CAs), or plaintext when edge_plaintext (a loopback origin only); edge_sessions: the ids to
  // mirror (empty: every session of the origin). "" edge_of: not an edge.
  std::string edge_of;
  std::string edge_token_file;
  std::string edge_ca_file;
  bool edge_plaintext = false;
  std::vector<std::string> edge_sessions;
  // An edge's HLS: the origin's HTTP side ("https://host:port"; plain http:// to a loopback
  // origin only), whose playlists and segments this edge serves for the mirrored sessions
  // (checked with edge_ca_file). "": HLS of a mirrored session is not served here.
  std::string edge_hls_origin;
  DemoSession demo_session;
  bool operator==(const Config&) const = default;
};

// Every key a configuration file may hold (deploy/tilmashd.yaml lists each with its default).
const std::vector<std::string>& ConfigKeys();
// The web root to serve: the configured one, or the installed pages, or the source tree's.
std::string ResolveWebRoot(const std::string& configured);

// Reads a YAML file over the defaults. Returns false with *error naming the key.
bool LoadConfigFile(const std::string& path, Config* config, std::string* error);
// Checks every value; returns the first problem, naming the key.
std::string Validate(const Config& config);
// fanout_threads resolved: itself, or for "auto" (0) the cores this process may run on
// (sched_getaffinity, so a container's cpuset counts), at most 64.
int FanoutThreads(const Config& config);
// The fan-out capacity of FanoutThreads sender threads at frame_ms, from tools/bench's measured
// cost per listener packet with half of each core left for mixing, encoding and the control plane.
int DefaultMaxListeners(const Config& config);
// max_listeners, or its default when 0.
int EffectiveMaxListeners(const Config& config);

}  // namespace tilmash::daemon
