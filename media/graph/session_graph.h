// One session's GStreamer pipeline:
//   floor source -> limiter -> tee -+-> queue -> gain -> audiomixer(L) -> limiter -> Opus -> RTP -> appsink -> fan-out
//                                   +-> queue -> Opus -> RTP -> appsink (channel "floor")
//   (with HLS, each channel's audio also goes tee -> queue -> AAC -> hlssink2 before Opus)
//   console (SRTP/Opus) -> guard -> jitter buffer -> decode -> gain -> audiomixer(its channel)
//   (a listener balance: floor tee + the channel's limiter -> audiomixer -> Opus, only when asked)
// Every method runs on the media thread (the media session posts them) and never waits: a
// branch leaving a running tee is unlinked between two buffers by an idle probe and torn down
// afterwards. Gains are GainRamps the media session owns and sets from its own thread.
#pragma once
#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/aes67.h"
#include "domain/ports.h"
#include "domain/status.h"
#include "domain/types.h"
#include "fanout/fanout_engine.h"
#include "graph/aes67_output.h"
#include "graph/gain_ramp.h"
#include "graph/ingest_guard.h"
#include "graph/level_meter.h"
#include "graph/mirror_session.h"
#include "graph/record_tap.h"
#include "graph/sap_directory.h"
#include "graph/tee_detach.h"
#include "graph/webrtc_viewer.h"
#include "gst/gst_ptr.h"
#include "gst/media_thread.h"

namespace tilmash::graph {

struct GraphConfig {
  std::string media_host = "127.0.0.1";
  int opus_bitrate = 64000;
  int frame_us = 10000;  // Opus frame and mixing period: 2500, 5000, 10000 or 20000 (the session's)
  int jitter_ms = 10;
  int fanout_threads = 1;  // sender threads of the fan-out (listeners spread over them)
  int fanout_max_backlog_ms = 50;
  int fanout_realtime_priority = 0;  // the sender threads' SCHED_FIFO priority (0: ordinary)  // a sender that fell
                                     // behind drops packets older than this
  int multicast_ttl = 1;
  std::string aes67_interface;  // IPv4 address to join AES67 groups on ("": the route's)
  // AES67 out (aes67_output.h): every channel also as L24 multicast with SAP; null: off.
  std::shared_ptr<Aes67Outputs> aes67_out;
  // SAP discovery (sap_directory.h): AES67 floors chosen by name; null: none.
  std::shared_ptr<SapDirectory> sap;
  // The sessions' clock: the venue's PTP (ptp_clock.h, --ptp-domain); null: the system clock.
  gst::GstPtr<GstClock> clock;
  uint64_t rekey_after_packets = uint64_t(1) << 31;
  // HLS per channel (session_graph_hls.cpp): off when hls_dir is empty.
  std::string hls_dir;
  int hls_segment_s = 1;
  int hls_playlist_length = 6;  // segments in the live playlist; twice as many kept on disk
  int hls_aac_bitrate = 96000;
  // Channel recordings (record_tap.h): "" refuses them.
  std::string record_dir;
  int record_segment_s = 600;
  // A console whose packets stop this long has lost its link (its LinkCallback says so); 0: never.
  int link_loss_ms = 60;
  // An RTP primary floor with a backup: silent this long, the backup goes on air (0: never);
  // back with packets without such a gap for floor_return_ms (its FloorLinkCallback says so).
  int floor_loss_ms = 100;
  int floor_return_ms = 2000;
  // Every UDP port of the media side (ingests, the fan-out's source, WebRTC ICE) comes from
  // here (--media-ports; by default any port the kernel picks). Shared by every session.
  std::shared_ptr<fanout::PortAllocator> ports = std::make_shared<fanout::PortAllocator>(fanout::PortRange{});
  // WebRTC viewers: "fanout" (the default): the daemon's own ICE-lite agent and DTLS server on
  // one UDP port (webrtc/webrtc_server.h), each viewer a listener of the fan-out; "webrtcbin":
  // a webrtcbin pipeline per viewer (the previous design, about 12 times the CPU per viewer).
  std::string webrtc_mode = "fanout";
  int webrtc_port = 0;           // the shared port; 0: from `ports`
  std::string webrtc_public_ip;  // the address in the viewers' candidates; "": media_host
  // An edge node's mirrored sessions (mirror_session.h): those get no pipeline. Null: none.
  std::shared_ptr<MirrorDirectory> mirrors;
};

// What a listener stream hears: a channel at a balance (100: the channel's own stream).
struct Route {
  std::string channel;  // "": nothing
  uint32_t percent = 100;
  bool Mixed() const { return percent < 100 && !channel.empty() && channel != domain::kFloorChannel; }
};

// An RTP ingest prepared on the caller's thread: the bound socket and the guard that checks
// every packet (its counters are read by the ingest's owner).
struct IngestPlan {
  gst::GObjectPtr<GSocket> socket;
  std::shared_ptr<IngestGuard> guard;
};

// How long the floor takes to cross back from the backup to a returned primary (the switch to
// the backup is kRampDuration: dead air is worse than a hard cut).
inline constexpr GstClockTime kFloorReturnFade = 50 * GST_MSECOND;

// One floor source: a test source (tone or silence) or, with `ingest`, an RTP ingest.
struct FloorInput {
  domain::FloorSource source;
  std::optional<IngestPlan> ingest;
  // An AES67 source: its SDP as parsed, and the socket bound (and joined) on the caller's thread.
  std::optional<domain::Aes67Stream> aes67;
  gst::GObjectPtr<GSocket> aes67_socket;
};
// The floor's sources. Without a backup: primary -> limiter -> tee (no mixer, no added
// latency). With one: primary -> gain -+-> audiomixer -> limiter -> tee
//                      backup  -> gain -+
// and the media session crossfades the two gains.
struct FloorPlan {
  FloorInput primary;
  std::optional<FloorInput> backup;
  std::shared_ptr<GainRamp> primary_gain, backup_gain;  // set with a backup
  domain::FloorLinkCallback on_primary;                 // an RTP primary with a backup
};

// A console's outputs: channel -> the gain of its path into that channel's mixer.
using ConsoleGains = std::map<std::string, std::shared_ptr<GainRamp>>;

class SessionGraph {
 public:
  static domain::Result<std::unique_ptr<SessionGraph>> Create(const std::string& session, const GraphConfig& config,
                                                              fanout::FanoutEngine* fanout, gst::MediaThread* thread);
  ~SessionGraph();

  // floor_gain: the floor's gain into the channel's mixer (null for "floor", which has no mixer).
  // level: measures what the channel's encoder gets (may be null).
  // record: gets the channel's encoded packets for its recorder (may be null).
  // limiter: the mix's limiter (its leveling is set from the caller's thread); null: a new one.
  domain::Status AddChannel(const std::string& channel, std::shared_ptr<GainRamp> floor_gain,
                            std::shared_ptr<LevelMeter> level = nullptr, std::shared_ptr<RecordTap> record = nullptr,
                            gst::ElementPtr limiter = {});
  void RemoveChannel(const std::string& channel);
  domain::Status SetFloorSource(FloorPlan plan);
  // The console's audio goes through a tee to the mixer of every channel in `outputs`;
  // on_link hears when its packets stop for config.link_loss_ms and when they return.
  domain::Status AddConsole(const std::string& console, IngestPlan ingest, const ConsoleGains& outputs,
                            domain::LinkCallback on_link = nullptr);
  domain::Status SetConsoleOutputs(const std::string& console, const ConsoleGains& outputs);
  void RemoveConsole(const std::string& console);
  // Moves a fan-out listener from one route to another, making a balance mix when it is the
  // first listener of it and ending the mix it leaves when it was the last.
  void RouteListener(fanout::ListenerKey listener, const Route& from, const Route& to);
  // WebRTC viewers (session_graph_webrtc.cpp): the handshake completes with the SDP answer
  // (after ICE gathering) or the reason there is none.
  domain::Status AddWebrtcViewer(const std::string& id, const std::string& channel, int payload_type,
                                 const std::string& offer_sdp, std::shared_ptr<WebrtcHandshake> handshake);
  void RemoveWebrtcViewer(const std::string& id);
  std::size_t WebrtcViewers() const { return viewers_.size(); }

 private:
  // A chain of elements in the pipeline; torn down (NULL, removed) when it goes.
  struct Branch {
    gst::ElementPtr pipeline;
    std::vector<gst::ElementPtr> elements;
    void Teardown();
    ~Branch() { Teardown(); }
  };
  struct Channel {
    std::string name;
    fanout::ChannelKey key;
    fanout::FanoutEngine* fanout;
    gst::PadPtr tee_pad;
    gst::ElementPtr mixer;  // null for "floor"
    std::shared_ptr<GainRamp> floor_gain;
    gst::PadPtr mixer_floor_pad;
    GstElement* hls_tee = nullptr;  // owned by branch; null without HLS
    GstElement* hls_queue = nullptr;
    std::unique_ptr<Aes67Outputs::Stream> aes67;  // its group and SAP announcement
    GstElement* opus_tee = nullptr;               // owned by branch: opusenc -> tee -> payloader (fan-out) + viewers
    GstElement* raw_tee = nullptr;                // owned by branch: the mixed audio before Opus (not on "floor")
    // WebRTC viewers: the opus tee's second pad ends in an appsink whose samples go to each
    // viewer's appsrc (its own pipeline), so viewers come and go without relinking anything
    // here, and nothing a viewer's pipeline returns can stop this channel.
    struct ViewerSource {
      GstElement* src;  // owned by its Viewer's pipeline
      bool has_caps = false;
    };
    std::mutex viewers_mu;
    std::vector<ViewerSource> viewer_srcs;
    std::atomic<int> webrtcbin_viewers{0};  // viewer_srcs.size(), read without the lock
    // The encoder gate (BuildEncoder): Opus runs only while someone takes its packets.
    std::shared_ptr<const std::atomic<int64_t>> audience;  // the fan-out's listeners of `key`
    std::shared_ptr<LevelMeter> level;                     // probes the encoder's input; outlives the branch
    std::shared_ptr<RecordTap> record;                     // the fan-out's packets, to the channel's recorder
    Branch branch;  // last: torn down first, before anything its streaming threads use
    ~Channel();
  };
  // A listener balance of one channel (session_graph_balance.cpp): floor tee and the channel's
  // raw tee -> queue -> volume -> audiomixer -> limiter -> Opus -> its own fan-out stream.
  struct BalancedMix {
    std::string channel;
    int listeners = 0;
    gst::PadPtr floor_pad, channel_pad;
    std::unique_ptr<Channel> out;  // the mix's encoder and fan-out key
  };
  struct Viewer {  // a WebRTC viewer's own pipeline: appsrc -> rtpopuspay -> webrtcbin
    std::string channel;
    gst::ElementPtr pipeline;
    GstElement* src = nullptr;  // owned by pipeline
    std::unique_ptr<ViewerContext> context;
    std::vector<gst::SignalConnection> signals;
    guint bus_watch = 0;  // on the media thread's context
    ~Viewer();
  };
  struct ConsoleOutput {  // tee -> queue -> gain -> one channel's mixer
    std::string channel;
    std::shared_ptr<GainRamp> gain;
    gst::PadPtr tee_pad, mixer_pad;
    gst::ElementPtr mixer;
    Branch branch;
    ~ConsoleOutput();  // releases its mixer pad after the branch is down
  };
  struct Console {
    gst::GObjectPtr<GSocket> socket;
    std::shared_ptr<IngestGuard> guard;
    gst::ElementPtr tee;
    std::map<std::string, std::unique_ptr<ConsoleOutput>> outputs;
    domain::LinkCallback on_link;
    int64_t added_us = 0;  // g_get_monotonic_time() when added: the link's grace before a first packet
    bool link_up = true;
    Branch branch;  // ingest ... decode -> tee: last, so it stops before the outputs go
  };

  SessionGraph(std::string session, GraphConfig config, fanout::FanoutEngine* fanout, gst::MediaThread* thread);
  domain::Status Start();
  // Builds udpsrc -> guard -> jitter buffer -> depay -> decode -> 48 kHz mono float.
  domain::Status BuildRtpIngest(Branch& b, IngestPlan& ingest);
  domain::Status AddAndLink(Branch& b);
  domain::Status LinkConsoleOutput(Console& c, const std::string& channel, std::shared_ptr<GainRamp> gain);
  // Unlinks `pad` of `tee` between two buffers and releases it; `owned` (what hung on the
  // pad) is destroyed afterwards, on the media thread. Never waits.
  void Detach(GstElement* tee, gst::PadPtr pad, std::shared_ptr<void> owned);
  // audioconvert -> opusenc -> tee -> rtpopuspay -> appsink (fan-out), and with `viewers` a
  // second tee pad -> appsink for WebRTC viewers.
  domain::Status BuildEncoder(Channel& c, GstElement* first_upstream, bool viewers = true);
  domain::Result<GstElement*> BuildHls(Channel& c, GstElement* upstream);
  domain::Status LinkHlsQueue(Channel& c);
  // AES67 out of a channel (session_graph_aes67.cpp): a tee whose first pad is the L24 branch's
  // queue; the encoder links to the tee after it.
  domain::Result<GstElement*> BuildAes67Out(Channel& c, GstElement* upstream);
  void RemoveHlsFiles(const std::string& channel);  // "" = the session's directory
  std::string HlsDir(const std::string& channel) const;
  void RemoveViewersOf(const std::string& channel);  // "" = every viewer
  // Balance mixes (session_graph_balance.cpp).
  domain::Result<fanout::ChannelKey> AcquireMix(const std::string& channel, uint32_t percent);
  void ReleaseMix(const std::string& channel, uint32_t percent);
  void RemoveBalancedMixesOf(const std::string& channel);
  static GstFlowReturn OnSample(GstAppSink* sink, gpointer channel);
  static GstFlowReturn OnViewerSample(GstAppSink* sink, gpointer channel);
  static GstPadProbeReturn OnEncoderInput(GstPad* pad, GstPadProbeInfo* info, gpointer channel);
  static gboolean OnBusMessage(GstBus* bus, GstMessage* msg, gpointer self);
  // While the graph has consoles, every kLinkPollMs: a console whose packets stopped (or came
  // back) is reported to its LinkCallback.
  void WatchLinks();
  static gboolean OnLinkPoll(gpointer self);
  // A floor source's elements (ending in 48 kHz mono float), not yet in the pipeline.
  domain::Result<std::vector<gst::ElementPtr>> BuildFloorInput(FloorInput& input);
  // With an RTP primary and a backup, every kLinkPollMs: the primary's packets stopping for
  // floor_loss_ms, and returning without such a gap for floor_return_ms, go to on_primary.
  static gboolean OnFloorPoll(gpointer self);

  const std::string session_;
  const GraphConfig config_;
  fanout::FanoutEngine* const fanout_;
  gst::MediaThread* const thread_;
  gst::ElementPtr pipeline_;
  gst::ElementPtr tee_;
  guint bus_watch_ = 0;
  struct SourceDestroy {
    void operator()(GSource* s) const {
      g_source_destroy(s);
      g_source_unref(s);
    }
  };
  std::unique_ptr<GSource, SourceDestroy> link_poll_;  // on the media thread's context; null: no link watch
  std::unique_ptr<Branch> floor_;
  std::shared_ptr<IngestGuard> floor_guard_;  // the primary's (RTP)
  gst::GObjectPtr<GSocket> floor_socket_, floor_backup_socket_;
  std::shared_ptr<GainRamp> floor_primary_gain_, floor_backup_gain_;  // with a backup
  std::unique_ptr<GSource, SourceDestroy> floor_poll_;                // the primary's watch
  domain::FloorLinkCallback floor_on_primary_;
  int64_t floor_since_us_ = 0;         // the sources were set: the primary's grace before a first packet
  bool floor_primary_up_ = true;       // as last reported
  int64_t floor_stable_since_us_ = 0;  // lost primary: packets without a floor_loss_ms gap since (0: none)
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<std::string, std::unique_ptr<Console>> consoles_;
  std::map<std::string, std::unique_ptr<Viewer>> viewers_;
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<BalancedMix>> mixes_;
  std::vector<std::shared_ptr<TeeDetach>> detaches_;  // in flight; finished at once when the graph goes
};

}  // namespace tilmash::graph
