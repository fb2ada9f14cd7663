// tilmashd: the only place that wires the domain, the media engine and the gRPC adapters.
#include <pthread.h>
#include <sys/stat.h>
#include <CLI/CLI.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "auth/access.h"
#include "auth/audit_log.h"
#include "auth/token.h"
#include "client/credentials.h"
#include "daemon/api_gateway.h"
#include "daemon/config.h"
#include "daemon/console_gateway.h"
#include "daemon/edge_mirror.h"
#include "daemon/key_provider.h"
#include "daemon/service_manager.h"
#include "daemon/startup.h"
#include "daemon/whep_gateway.h"
#include "domain/session_registry.h"
#include "graph/media_engine_gst.h"
#include "graph/ptp_clock.h"
#include "grpc/authz.h"
#include "grpc/event_hub.h"
#include "grpc/server.h"
#include "log/log.h"
#include "metrics/process_stats.h"
#include "metrics/session_metrics.h"
#include "metrics/tech_feed.h"
#include "metrics/tech_snapshot.h"
#include "store/sqlite_store.h"
#include "web/http_server.h"

#ifndef TILMASH_VERSION
#define TILMASH_VERSION "0.0.0"
#endif

using namespace tilmash;

namespace {

// One scrape of /metrics: every session's view and media counters, the node's fan-out, the
// RPCs, the process. Runs on the HTTP thread; takes each session's lock in turn, never the
// media thread.
std::string ScrapeMetrics(const domain::SessionRegistry& registry, const graph::MediaEngineGst& media,
                          const grpcapi::ControlPlane& control) {
  const std::vector<metrics::SessionSample> sessions = metrics::CollectSessions(registry);
  domain::MediaStats node;
  graph::AddFanoutStats(media.fanout().Stats(), &node);
  graph::AddWebrtcStats(media, &node);
  metrics::MetricsText out;
  out.Family("tilmash_build_info", "gauge", "The daemon's version (always 1).");
  out.Sample("tilmash_build_info", {{"version", TILMASH_VERSION}}, 1);
  out.Family("tilmash_serving", "gauge", "1 while health says SERVING (not draining, the media thread answers).");
  out.Sample("tilmash_serving", {}, control.Serving() ? 1 : 0);
  metrics::WriteSessionMetrics(out, sessions);
  metrics::WriteFanoutMetrics(out, node);
  control.rpc_metrics().Write(out);
  metrics::WriteProcessMetrics(out);
  return out.Take();
}

}  // namespace

int main(int argc, char** argv) {
  daemon::Config config;
  std::string config_file;
  bool version = false;
  CLI::App app{"tilmashd - real-time simultaneous interpretation service"};
  app.add_option("--config", config_file, "YAML configuration file")->check(CLI::ExistingFile);
  app.add_option("--grpc-listen", config.grpc_listen, "gRPC HOST:PORT (port 0 picks a free port)");
  app.add_option("--media-address", config.media_address, "IPv4 address for ingest ports and listener streams");
  app.add_option("--media-ports", config.media_ports,
                 "UDP ports of every ingest, the listener streams' source and WebRTC: FIRST-LAST (default: any)");
  app.add_option("--webrtc-mode", config.webrtc_mode,
                 "WebRTC viewers: fanout (ICE-lite + DTLS-SRTP on one UDP port) or webrtcbin (a pipeline each)")
      ->check(CLI::IsMember({"fanout", "webrtcbin"}));
  app.add_option("--webrtc-port", config.webrtc_port, "the UDP port of every WebRTC viewer (0: one of --media-ports)");
  app.add_option("--webrtc-public-ip", config.webrtc_public_ip,
                 "the IPv4 address viewers send to (behind 1:1 NAT: the public one; default --media-address)");
  app.add_option("--frame-ms", config.frame_ms, "Opus frame duration in ms (5, 10, 20)");
  app.add_option("--jitter-ms", config.jitter_ms, "ingest jitter buffer in ms");
  app.add_option("--loudness-target-lufs", config.loudness_target_lufs,
                 "loudness the language channels are leveled to, unless a session says (LUFS; 0: no leveling)");
  app.add_option("--drain-s", config.drain_s,
                 "on SIGTERM, refuse new streams and keep running ones this long before stopping; 0: stop at once");
  app.add_option("--console-link-loss-ms", config.console_link_loss_ms,
                 "a console silent this long has lost its link: its channel goes to the floor; 0: never");
  app.add_option("--floor-loss-ms", config.floor_loss_ms,
                 "a floor with a backup: its primary silent this long puts the backup on air; 0: never");
  app.add_option("--floor-return-ms", config.floor_return_ms,
                 "the primary floor returns once its packets came this long without a floor-loss-ms gap");
  app.add_option("--fanout-threads", config.fanout_threads,
                 "fan-out sender threads: auto (the default: one per core) or a number")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"auto", "0"}}));
  app.add_option("--fanout-max-backlog-ms", config.fanout_max_backlog_ms,
                 "a fan-out sender that fell behind drops channel packets older than this (oldest first)");
  app.add_option("--fanout-realtime-priority", config.fanout_realtime_priority,
                 "the fan-out sender threads' SCHED_FIFO priority (1-99; 0: ordinary scheduling)");
  app.add_option("--max-listeners", config.max_listeners,
                 "unicast listener streams this node carries; Subscribe past it is refused (RESOURCE_EXHAUSTED); "
                 "0: derived from the fan-out's measured cost (1,396 per fan-out thread at 10 ms frames)");
  app.add_option("--listener-lease-ms", config.listener_lease_ms,
                 "end a listener silent this long (no KeepAlive, no WatchKeys); 0: never");
  app.add_option("--key-rotation-s", config.key_rotation_s, "replace every listener key this often; 0: never");
  app.add_option("--key-lead-ms", config.key_lead_ms, "announce a new key this long before the sender uses it");
  app.add_option("--rekey-after-packets", config.rekey_after_packets, "replace a key after this many packets");
  app.add_option("--aes67-interface", config.aes67_interface,
                 "IPv4 address of the interface AES67 multicast streams are joined on (default: the route's)");
  app.add_option("--aes67-out-group", config.aes67_out_group,
                 "AES67 out: every channel also as L24 multicast with SAP, groups from this address upwards");
  app.add_option("--aes67-out-port", config.aes67_out_port, "UDP port of the AES67 out streams (default 5004)");
  app.add_option("--ptp-domain", config.ptp_domain,
                 "run the sessions on the venue's PTP clock of this domain (0-127), followed on --aes67-interface; "
                 "-1: this host's clock");
  app.add_option("--multicast-group", config.multicast_group,
                 "first venue multicast group (channel i uses +i); empty: no multicast");
  app.add_option("--multicast-port", config.multicast_port, "UDP port of the venue multicast groups");
  app.add_option("--multicast-ttl", config.multicast_ttl, "TTL of venue multicast packets");
  app.add_option("--http-listen", config.http_listen,
                 "HTTP HOST:PORT: listener page, WHEP, HLS (port 0 picks a free port; off: no HTTP)");
  app.add_option("--http-tls-cert", config.http_tls_cert, "HTTPS certificate (PEM); needed off loopback");
  app.add_option("--http-tls-key", config.http_tls_key, "HTTPS private key (PEM)");
  app.add_option("--web-root", config.web_root,
                 "the web pages' directory (default: PREFIX/share/tilmash/web of the installed daemon)");
  app.add_flag("--hls", config.hls, "HLS per channel (1 s AAC segments in a private temporary directory)");
  app.add_option("--hls-dir", config.hls_dir, "HLS per channel, segments in this directory");
  app.add_option("--log-level", config.log_level, "level, or per component: info,mix=debug,fanout=trace");
  app.add_option("--log-format", config.log_format,
                 "text, or json: one object per line {time, level, component, session, message, fields}");
  app.add_flag("--demo", config.demo, "create the embedded demo session (id 'demo': en, ru, kk; floor over RTP)");
  app.add_flag("--plaintext", config.plaintext, "no TLS (allowed on a loopback --grpc-listen only)");
  app.add_option("--tls-cert", config.tls_cert, "server certificate (PEM)");
  app.add_option("--tls-key", config.tls_key, "server private key (PEM)");
  app.add_option("--tls-client-ca", config.tls_client_ca,
                 "CA of client certificates (mutual TLS for booths/operators)");
  app.add_flag("--require-client-cert", config.require_client_cert, "refuse clients without a certificate");
  app.add_option("--token-secret-file", config.token_secret_file, "HS256 key for tokens (created 0600 when missing)");
  app.add_option("--admin-token-file", config.admin_token_file, "write a fresh admin token here at start-up");
  app.add_option("--audit-log", config.audit_log, "append-only audit log (JSON lines)");
  app.add_option("--state-dir", config.state_dir,
                 "sessions, listeners and token ids survive restarts here (SQLite; default /var/lib/tilmash; "
                 "none: memory only)");
  app.add_option("--record-dir", config.record_dir,
                 "channel recordings (Ogg Opus) go to DIR/<session>/<channel>/<UTC start>.opus; empty: no recording");
  app.add_option("--record-segment-s", config.record_segment_s,
                 "a recording starts a new file after this many seconds of audio (default 600)");
  app.add_option("--edge-of", config.edge_of,
                 "be an edge of the origin at this gRPC HOST:PORT: mirror its sessions (each channel received once, "
                 "fanned out here without re-encoding)");
  app.add_option("--edge-token-file", config.edge_token_file,
                 "the bearer token (role edge) this edge uses at the origin");
  app.add_option("--edge-ca-file", config.edge_ca_file, "PEM CA of the origin's certificate (default: the system's)");
  app.add_flag("--edge-plaintext", config.edge_plaintext, "no TLS to a loopback --edge-of origin");
  app.add_option("--edge-hls-origin", config.edge_hls_origin,
                 "the origin's HTTP side (https://HOST:PORT): its HLS of the mirrored sessions served here");
  app.add_option("--edge-sessions", config.edge_sessions, "the session ids to mirror (default: every session)")
      ->delimiter(',');
  app.add_flag("--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::cout << "tilmashd " << TILMASH_VERSION << "\n";
    return 0;
  }
  // The command line wins over the file: parse the file first, then re-apply the flags.
  if (!config_file.empty()) {
    std::string error;
    if (!daemon::LoadConfigFile(config_file, &config, &error)) {
      std::cerr << "tilmashd: " << error << "\n";
      return 2;
    }
    app.parse(argc, argv);
  }
  if (std::string problem = daemon::Validate(config); !problem.empty()) {
    std::cerr << "tilmashd: invalid configuration: " << problem << "\n";
    return 2;
  }
  std::string error;
  if (!log::SetFormat(config.log_format, &error)) {
    std::cerr << "tilmashd: --log-format: " << error << "\n";
    return 2;
  }
  if (!log::Configure(config.log_level, &error)) {
    std::cerr << "tilmashd: --log-level: " << error << "\n";
    return 2;
  }
  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto logger = log::Get("main");
  // HLS segments: the given directory, or a private one removed at exit.
  std::string hls_temp;
  if (config.hls && config.hls_dir.empty()) {
    char tmpl[] = "/tmp/tilmash-hls-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::cerr << "tilmashd: cannot create a temporary HLS directory\n";
      return 1;
    }
    hls_temp = config.hls_dir = tmpl;
  }
  struct RemoveTemp {
    const std::string& dir;
    ~RemoveTemp() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } remove_temp{hls_temp};
  graph::GraphConfig gc;
  gc.media_host = config.media_address;
  fanout::PortRange media_ports;
  fanout::PortRange::Parse(config.media_ports, &media_ports, &error);  // checked by Validate
  gc.ports = std::make_shared<fanout::PortAllocator>(media_ports);
  gc.webrtc_mode = config.webrtc_mode;
  gc.webrtc_port = config.webrtc_port;
  gc.webrtc_public_ip = config.webrtc_public_ip;
  gc.opus_bitrate = config.opus_bitrate;
  gc.frame_us = config.frame_ms * 1000;
  gc.jitter_ms = config.jitter_ms;
  gc.link_loss_ms = config.console_link_loss_ms;
  gc.floor_loss_ms = config.floor_loss_ms;
  gc.floor_return_ms = config.floor_return_ms;
  const int fanout_threads = FanoutThreads(config);  // "auto" resolved once
  gc.fanout_threads = fanout_threads;
  gc.fanout_max_backlog_ms = config.fanout_max_backlog_ms;
  gc.fanout_realtime_priority = config.fanout_realtime_priority;
  gc.multicast_ttl = config.multicast_ttl;
  gc.aes67_interface = config.aes67_interface;
  if (config.ptp_domain >= 0) {
    // Before any session: a pipeline on a PTP clock that never synced would have no time. A
    // grandmaster that does not answer leaves the sessions on this host's clock, loudly.
    auto ptp = graph::StartPtpClock(config.ptp_domain, config.aes67_interface, std::chrono::seconds(10));
    if (ptp.clock) {
      logger->info("PTP domain {}: synced to grandmaster {} in {} ms; the sessions run on PTP time", config.ptp_domain,
                   ptp.grandmaster, ptp.waited.count());
      gc.clock = ptp.clock;
    } else {
      logger->error("PTP domain {}: {}; the sessions run on this host's clock (AES67 streams say ts-refclk:local)",
                    config.ptp_domain, ptp.error);
    }
  }
  {
    graph::Aes67OutConfig ac;
    ac.first_group = config.aes67_out_group;
    ac.port = uint16_t(config.aes67_out_port);
    ac.interface = config.aes67_interface;
    ac.ttl = config.multicast_ttl;
    if (gc.clock) {
      ac.ptp_domain = config.ptp_domain;
      ac.ptp_clock = gc.clock;
    }
    auto out = graph::Aes67Outputs::Create(ac);
    if (!out.ok()) {
      logger->error("{}", out.status().message());
      std::cerr << "tilmashd: " << out.status().message() << "\n";
      return 1;
    }
    gc.aes67_out = out.value();
    // SAP discovery on the venue's audio network, when one is named: port 9875 is SAP's own
    // (RFC 2974), outside --media-ports.
    if (!config.aes67_interface.empty() || !config.aes67_out_group.empty()) {
      std::string sap_error;
      gc.sap = graph::SapDirectory::Create(config.aes67_interface, &sap_error);
      if (!gc.sap) logger->warn("{} (AES67 floors can still be given by their SDP)", sap_error);
    }
  }
  gc.rekey_after_packets = uint64_t(config.rekey_after_packets);
  gc.hls_dir = config.hls_dir;
  gc.record_dir = config.record_dir;
  gc.record_segment_s = config.record_segment_s;
  if (!config.edge_of.empty()) gc.mirrors = std::make_shared<graph::MirrorDirectory>();
  auto media = graph::MediaEngineGst::Create(gc, &error);
  if (!media) {
    logger->error("{}", error);
    std::cerr << "tilmashd: " << error << "\n";
    return 1;
  }
  std::vector<uint8_t> secret;
  if (config.token_secret_file.empty()) {
    secret = rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80);  // 30 CSPRNG bytes...
    auto more = rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80);
    secret.insert(secret.end(), more.begin(), more.end());  // ...twice: a 60-byte HS256 key
    logger->warn("no token_secret_file: tokens are valid until this process exits");
  } else {
    auto loaded = auth::LoadOrCreateSecret(config.token_secret_file);
    if (!loaded.ok()) {
      std::cerr << "tilmashd: " << loaded.status().message() << "\n";
      return 2;
    }
    secret = loaded.value();
  }
  auth::TokenAuthority tokens(std::move(secret));
  // The state store opens first: a read-only or full disk, a corrupt file or a second daemon
  // on the same directory stops the start with a message naming the file.
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<store::SqliteStore> state;
  store::LoadedState loaded_state;
  if (config.state_dir != "none") {
    auto opened = store::SqliteStore::Open(config.state_dir);
    if (!opened.ok()) {
      std::cerr << "tilmashd: " << opened.status().message() << " (--state-dir none: memory only)\n";
      return 2;
    }
    state = std::move(opened).value();
    auto loaded = state->Load();
    if (!loaded.ok()) {
      std::cerr << "tilmashd: " << loaded.status().message() << "\n";
      return 2;
    }
    loaded_state = std::move(loaded).value();
    tokens.UseLedger(state.get(), loaded_state.revoked_tokens);
  } else {
    logger->warn("state_dir none: sessions and listeners end with this process");
  }
  auth::AuditLog audit(config.audit_log);
  if (!audit.error().empty()) {
    std::cerr << "tilmashd: " << audit.error() << "\n";
    return 2;
  }
  auth::Access access(tokens, audit);
  grpcapi::Authorizer authz(access);
  if (!config.admin_token_file.empty()) {
    auth::Claims admin;
    admin.subject = "bootstrap-admin";
    admin.role = auth::Role::kAdmin;
    admin.expires = std::chrono::system_clock::now() + std::chrono::hours(24);
    const std::string token = tokens.Mint(admin);
    FILE* f = std::fopen(config.admin_token_file.c_str(), "w");
    if (!f || std::fputs(token.c_str(), f) < 0) {
      std::cerr << "tilmashd: cannot write --admin-token-file " << config.admin_token_file << "\n";
      return 2;
    }
    std::fclose(f);
    chmod(config.admin_token_file.c_str(), 0600);
  }
  daemon::RandomKeyProvider keys;
  grpcapi::EventHub events;
  metrics::TechFeed tech_feed;  // outlives the registry: its events may come until the end
  daemon::EventTee event_sink(events, tech_feed);
  {
    domain::ListenerPolicy policy;
    policy.lease = std::chrono::milliseconds(config.listener_lease_ms);
    policy.key_rotation = std::chrono::seconds(config.key_rotation_s);
    policy.key_lead = std::chrono::milliseconds(config.key_lead_ms);
    policy.multicast_group = config.multicast_group;
    policy.multicast_port = uint16_t(config.multicast_port);
    domain::ListenerBudget listener_budget(uint32_t(daemon::EffectiveMaxListeners(config)));
    domain::SessionRegistry registry(
        domain::SessionPorts{media.get(), &keys, &event_sink, nullptr, &listener_budget, state.get()},
        config.floor_duck_db, policy);
    registry.set_default_loudness_target_lufs(config.loudness_target_lufs);
    registry.set_default_timing({uint32_t(config.frame_ms * 1000), uint32_t(config.jitter_ms)});
    // An edge's mirror exists before the restore (a restored listener's balance is a
    // subscription at the origin) and starts following the origin once everything is up.
    std::unique_ptr<daemon::EdgeMirror> edge;
    if (!config.edge_of.empty()) {
      daemon::EdgeOptions eo;
      eo.origin = config.edge_of;
      eo.credentials.token_file = config.edge_token_file;
      eo.credentials.ca_file = config.edge_ca_file;
      eo.credentials.plaintext = config.edge_plaintext;
      if (std::string problem = client::CredentialsProblem(eo.credentials); !problem.empty()) {
        std::cerr << "tilmashd: edge_token_file / edge_ca_file: " << problem << "\n";
        return 2;
      }
      eo.credentials.token = client::ReadTokenFile(config.edge_token_file);
      eo.sessions = config.edge_sessions;
      eo.media_host = config.media_address;
      eo.ports = gc.ports;
      edge = std::make_unique<daemon::EdgeMirror>(std::move(eo), registry, gc.mirrors, tokens);
    }
    if (state) {
      daemon::RestoreMirrors(loaded_state, config, gc.mirrors.get(), *state);
      // Back before anyone can call: every session, console and listener as it was saved.
      const auto report = registry.Restore(loaded_state.sessions, loaded_state.listeners);
      for (const auto& p : report.problems) logger->warn("restore: {}", p);
      const auto took =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      logger->info("restored from {}: {} sessions, {} channels, {} consoles, {} listeners, {} revoked tokens in {} ms",
                   state->path(), loaded_state.sessions.size(), report.channels, report.consoles, report.listeners,
                   loaded_state.revoked_tokens.size(), took);
      loaded_state = {};
    }
    grpcapi::ControlPlane control(registry, events, authz);
    grpcapi::ServerOptions server_options{config.grpc_listen, config.plaintext,     config.tls_cert,
                                          config.tls_key,     config.tls_client_ca, config.require_client_cert};
    const int port = control.Start(server_options, &error);
    if (port == 0) {
      logger->error("{}", error);
      std::cerr << "tilmashd: " << error << "\n";
      return 1;
    }
    daemon::WhepGateway whep(access, registry);
    // The JSON API and the browser consoles call the RPCs through the server itself.
    daemon::ApiGateway api(control.InProcessChannel());
    daemon::ConsoleGateway consoles(control.InProcessChannel(), access, gc.ports, daemon::ConsoleGatewayOptions{});
    std::unique_ptr<web::HttpServer> http;
    // The feed publishes into the HTTP server and reads the registry: it stops before either goes.
    struct StopFeed {
      metrics::TechFeed& feed;
      ~StopFeed() { feed.Stop(); }
    } stop_feed{tech_feed};
    if (!config.http_listen.empty() && config.http_listen != "off") {
      web::HttpOptions ho;
      ho.listen = config.http_listen;
      ho.tls_cert = config.http_tls_cert;
      ho.tls_key = config.http_tls_key;
      ho.hls_dir = config.hls_dir;
      ho.hls_origin = config.edge_hls_origin;
      ho.hls_origin_ca = config.edge_ca_file;
      if (gc.mirrors)
        ho.hls_relayed = [mirrors = gc.mirrors](const std::string& s) { return !mirrors->OriginOf(s).empty(); };
      ho.web_root = daemon::ResolveWebRoot(config.web_root);
      ho.serving = [&control] { return control.Serving(); };
      ho.api = &api;
      ho.console = &consoles;
      // /metrics: operators' and admins' tokens (the series name sessions, consoles and audiences).
      ho.metrics = [&tokens, &registry, &media, &control](const std::string& token) -> web::MetricsReply {
        web::MetricsReply r = daemon::StaffOnly(tokens, token, "/metrics");
        if (r.status == 200) r.body = ScrapeMetrics(registry, *media, control);
        return r;
      };
      // /tech/events: the same tokens; the page's first event is the state now.
      ho.tech = [&tokens, &registry](const std::string& token) -> web::MetricsReply {
        web::MetricsReply r = daemon::StaffOnly(tokens, token, "/tech/events");
        if (r.status == 200) r.body = metrics::TechState(metrics::CollectSessions(registry));
        return r;
      };
      http = web::HttpServer::Start(
          ho,
          [&registry](const std::string& id) -> std::optional<web::SessionListing> {
            auto session = registry.Find(id);
            if (!session.ok()) return std::nullopt;
            const auto view = session.value()->View();
            std::vector<std::string> channels;
            for (const auto& c : view.channels) channels.push_back(c.name);
            return web::SessionListing{view.name, web::Renditions(channels, view.floor_language)};
          },
          &whep, &error);
      if (!http) {
        logger->error("{}", error);
        std::cerr << "tilmashd: " << error << "\n";
        return 1;
      }
      tech_feed.Start(
          registry, [&http] { return http->tech_streams() > 0; },
          [&http](const std::string& event, std::string data) { http->Broadcast(event, std::move(data)); });
      const std::string host = config.http_listen.substr(0, config.http_listen.rfind(':'));
      // Before the gRPC line: whoever waits for "listening on" has this one too.
      std::printf("tilmashd: http on %s://%s:%d/\n", http->tls() ? "https" : "http", host.c_str(), http->port());
      logger->info("HTTP on {}:{}{}", host, http->port(),
                   config.hls_dir.empty() ? " (no HLS)" : ", HLS from " + config.hls_dir);
    }
    if (config.demo && daemon::CreateDemoSession(registry, config) != 0) return 1;
    if (edge) edge->Start();
    const std::string host = config.grpc_listen.substr(0, config.grpc_listen.rfind(':'));
    // Tests and scripts read this line to learn the port.
    std::printf("tilmashd: listening on %s:%d\n", host.c_str(), port);
    daemon::ServiceManager systemd;
    systemd.Ready("serving gRPC on " + host + ":" + std::to_string(port));
    std::fflush(stdout);
    logger->info("tilmashd {} listening on {}:{} ({}), media on {} ports {}, {} ms frames, {} ms jitter buffer",
                 TILMASH_VERSION, host, port,
                 config.plaintext               ? "plaintext, loopback only"
                 : config.tls_client_ca.empty() ? "TLS"
                                                : "TLS, client certificates verified",
                 config.media_address, media_ports.text(), config.frame_ms, config.jitter_ms);
    logger->info(
        "at most {} listener streams ({}); {} fan-out sender thread{} ({}), each dropping packets older than {} ms",
        listener_budget.limit(), config.max_listeners > 0 ? "max_listeners" : "derived from the fan-out's cost",
        fanout_threads, fanout_threads == 1 ? "" : "s",
        config.fanout_threads > 0 ? "fanout_threads" : "auto: one per core", config.fanout_max_backlog_ms);
    if (!media->fanout().realtime_problem().empty())
      logger->warn(
          "fan-out sender threads run with ordinary scheduling, so frames may wait for other threads: {}; "
          "give the service LimitRTPRIO={} (or CAP_SYS_NICE), or set fanout_realtime_priority: 0",
          media->fanout().realtime_problem(), config.fanout_realtime_priority);

    // Handover requests expire on time even when nobody touches the session; leases, key
    // rotations and ended viewers are looked at on the same tick.
    std::mutex tick_mu;
    std::condition_variable tick_cv;
    bool stopping = false;
    // The media thread's heartbeat is looked at on it too: stuck for kMediaStall, health says
    // NOT_SERVING (gRPC and /healthz) until it runs again.
    constexpr std::chrono::milliseconds kMediaStall{2000};
    std::thread ticker([&] {
      std::unique_lock lock(tick_mu);
      bool media_ok = true;
      while (!tick_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping; })) {
        registry.Tick();
        const bool ok = media->Responsive(kMediaStall);
        if (ok) systemd.Watchdog();  // a stuck media side stops the pings: systemd restarts the daemon
        if (ok != media_ok) {
          media_ok = ok;
          control.SetMediaHealthy(ok);
          if (ok)
            logger->info("the media thread answers again: health SERVING");
          else
            logger->error("the media thread has not answered for {} ms: health NOT_SERVING", kMediaStall.count());
        }
      }
    });
    // SIGHUP (logrotate): the audit log is reopened and the TLS certificates are read again;
    // never an exit. SIGTERM/SIGINT: drain (health NOT_SERVING, new streams refused, running
    // ones go on) for drain_s, then stop; a second one stops at once.
    std::thread waiter([&] {
      std::optional<std::chrono::steady_clock::time_point> drain_until;
      for (;;) {
        int sig = 0;
        if (!drain_until) {
          sigwait(&signals, &sig);
        } else {
          const auto left = *drain_until - std::chrono::steady_clock::now();
          if (left <= std::chrono::steady_clock::duration::zero()) break;
          const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
          timespec wait{time_t(ns / 1000000000), long(ns % 1000000000)};
          sig = sigtimedwait(&signals, nullptr, &wait);
          if (sig < 0) continue;  // the drain time is up (EAGAIN) or a stray EINTR: look again
        }
        if (sig == SIGHUP) {
          systemd.Reloading();
          std::string problems = audit.Reopen();
          if (http) {
            const std::string tls = http->ReloadTls();
            problems += (problems.empty() || tls.empty() ? "" : "; ") + tls;
          }
          if (problems.empty())
            logger->info("SIGHUP: audit log reopened, TLS certificates read again (gRPC: within 1 s)");
          else
            logger->error("SIGHUP: {}", problems);
          systemd.Ready(problems.empty() ? "serving; reloaded" : "serving; reload: " + problems);
          continue;
        }
        if (drain_until || config.drain_s == 0) {
          logger->info("signal {}: stopping now", sig);
          break;
        }
        logger->info("signal {}: draining for {} s (new streams refused, running ones go on); again to stop now", sig,
                     config.drain_s);
        systemd.Stopping("draining for " + std::to_string(config.drain_s) + " s");
        control.Drain();
        drain_until = std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_s);
      }
      logger->info("shutting down");
      systemd.Stopping("shutting down");
      control.Shutdown();
    });
    control.Wait();
    waiter.join();
    {
      std::lock_guard lock(tick_mu);
      stopping = true;
    }
    tick_cv.notify_all();
    ticker.join();
    registry.EndAll();
  }
  logger->info("stopped");
  return 0;
}
