// One session's GStreamer pipeline:
//   floor source -> limiter -> tee -+-> queue -> gain -> audiomixer(L) -> limiter -> Opus -> RTP -> appsink -> fan-out
//                                   +-> queue -> Opus -> RTP -> appsink (channel "floor")
//   (with HLS, each channel's audio also goes tee -> queue -> AAC -> hlssink2 before Opus)
//   console (SRTP/Opus) -> guard -> jitter buffer -> decode -> gain -> audiomixer(its channel)
//   (a listener balance: floor tee + the channel's limiter -> audiomixer -> Opus, only when asked)
// Every method runs on the media thread (MediaEngineGst guarantees it).
#pragma once
#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "domain/status.h"
#include "domain/types.h"
#include "fanout/fanout_engine.h"
#include "graph/gain_ramp.h"
#include "graph/ingest_guard.h"
#include "graph/webrtc_viewer.h"
#include "gst/gst_ptr.h"

namespace tilmash::graph {

struct GraphConfig {
  std::string media_host = "127.0.0.1";
  int opus_bitrate = 64000;
  int frame_ms = 10;
  int jitter_ms = 10;
  int fanout_threads = 1;  // sender threads of the fan-out (listeners spread over them)
  int multicast_ttl = 1;
  uint64_t rekey_after_packets = uint64_t(1) << 31;
  // HLS per channel (session_graph_hls.cpp): off when hls_dir is empty.
  std::string hls_dir;
  int hls_segment_s = 1;
  int hls_playlist_length = 6;  // segments in the live playlist; twice as many kept on disk
  int hls_aac_bitrate = 96000;
};

class SessionGraph {
 public:
  static domain::Result<std::unique_ptr<SessionGraph>> Create(const std::string& session, const GraphConfig& config,
                                                              fanout::FanoutEngine* fanout);
  ~SessionGraph();

  domain::Status AddChannel(const std::string& channel, fanout::ChannelKey key);
  void RemoveChannel(const std::string& channel);
  domain::Result<std::optional<domain::IngestInfo>> SetFloorSource(const domain::FloorSource& source,
                                                                   const std::optional<domain::SrtpKeying>& key,
                                                                   uint32_t ssrc);
  // The console's audio goes through a tee to the mixer of every channel in `outputs`.
  domain::Result<domain::IngestInfo> AddConsole(const std::string& console, const std::vector<std::string>& outputs,
                                                const domain::SrtpKeying& key, uint32_t ssrc);
  domain::Status SetConsoleOutputs(const std::string& console, const std::vector<std::string>& outputs);
  void RemoveConsole(const std::string& console);
  void SetChannelMix(const std::string& channel, const domain::ChannelMix& mix);
  // WebRTC viewers (session_graph_webrtc.cpp): the handshake completes with the SDP answer
  // (after ICE gathering) or the reason there is none.
  domain::Status AddWebrtcViewer(const std::string& id, const std::string& channel, const std::string& offer_sdp,
                                 std::shared_ptr<WebrtcHandshake> handshake);
  void RemoveWebrtcViewer(const std::string& id);
  std::size_t WebrtcViewers() const { return viewers_.size(); }
  // A stream of `channel` mixed with the floor for listeners who asked for a balance:
  // `interpretation_percent` of the channel, the rest the floor, sent under fan-out `key`.
  domain::Status AddBalancedMix(const std::string& channel, uint32_t interpretation_percent, fanout::ChannelKey key);
  void RemoveBalancedMix(const std::string& channel, uint32_t interpretation_percent);
  std::vector<domain::IngestCounters> IngestStats() const;

 private:
  struct Branch {  // a chain of elements owned by the pipeline while alive
    std::vector<gst::ElementPtr> elements;
    GSocket* socket = nullptr;
    std::unique_ptr<IngestGuard> guard;
    ~Branch() {
      if (socket) g_object_unref(socket);
    }
  };
  struct Channel {
    std::string name;
    fanout::ChannelKey key;
    fanout::FanoutEngine* fanout;
    Branch branch;
    gst::PadPtr tee_pad;
    gst::ElementPtr mixer;  // null for "floor"
    std::unique_ptr<GainRamp> floor_gain;
    gst::PadPtr mixer_floor_pad;
    GstElement* hls_tee = nullptr;  // owned by branch; null without HLS
    GstElement* hls_queue = nullptr;
    GstElement* opus_tee = nullptr;  // owned by branch: opusenc -> tee -> payloader (fan-out) + viewers
    GstElement* raw_tee = nullptr;   // owned by branch: the mixed audio before Opus (not on "floor")
    // WebRTC viewers: the opus tee's second pad ends in an appsink whose samples go to each
    // viewer's appsrc (its own pipeline), so viewers come and go without relinking anything
    // here, and nothing a viewer's pipeline returns can stop this channel.
    struct ViewerSource {
      GstElement* src;  // owned by its Viewer's pipeline
      bool has_caps = false;
    };
    std::mutex viewers_mu;
    std::vector<ViewerSource> viewer_srcs;
  };
  // A listener balance of one channel (session_graph_balance.cpp): floor tee and the channel's
  // raw tee -> queue -> volume -> audiomixer -> limiter -> Opus -> its own fan-out stream.
  struct BalancedMix {
    std::string channel;
    std::unique_ptr<Channel> out;  // the mix's encoder and fan-out key
    gst::PadPtr floor_pad, channel_pad;
  };
  struct Viewer {  // a WebRTC viewer's own pipeline: appsrc -> rtpopuspay -> webrtcbin
    std::string channel;
    gst::ElementPtr pipeline;
    GstElement* src = nullptr;  // owned by pipeline
    std::unique_ptr<ViewerContext> context;
    guint bus_watch = 0;  // on the media thread's context
    ~Viewer() {
      if (!pipeline) return;
      gst_element_set_state(pipeline.get(), GST_STATE_NULL);  // joins webrtcbin's threads
      if (bus_watch) gst_bus_remove_watch(GST_ELEMENT_BUS(pipeline.get()));
    }
  };
  struct ConsoleOutput {  // tee -> queue -> gain -> one channel's mixer
    std::string channel;
    Branch branch;
    std::unique_ptr<GainRamp> gain;
    gst::PadPtr tee_pad, mixer_pad;
  };
  struct Console {
    Branch branch;  // ingest ... decode -> tee
    gst::ElementPtr tee;
    std::map<std::string, std::unique_ptr<ConsoleOutput>> outputs;
  };

  SessionGraph(std::string session, GraphConfig config, fanout::FanoutEngine* fanout);
  domain::Status Start();
  // Builds udpsrc -> guard -> jitter buffer -> depay -> decode -> 48 kHz mono float.
  domain::Result<domain::IngestInfo> BuildRtpIngest(Branch& b, const std::string& source,
                                                    const std::optional<domain::SrtpKeying>& key, uint32_t ssrc);
  domain::Status AddAndLink(Branch& b);
  void Teardown(Branch& b);
  domain::Status LinkConsoleOutput(Console& c, const std::string& channel);
  void UnlinkConsoleOutput(Console& c, const std::string& channel);
  // Unlinks a tee's src pad between two buffers (idle probe), so the tee's thread never sees
  // a flushing pad, then releases it.
  static void DetachTeePad(GstElement* tee, GstPad* pad);
  // audioconvert -> opusenc -> tee -> rtpopuspay -> appsink (fan-out), and with `viewers` a
  // second tee pad -> appsink for WebRTC viewers.
  domain::Status BuildEncoder(Channel& c, GstElement* first_upstream, bool viewers = true);
  domain::Result<GstElement*> BuildHls(Channel& c, GstElement* upstream);
  domain::Status LinkHlsQueue(Channel& c);
  void RemoveHlsFiles(const std::string& channel);  // "" = the session's directory
  std::string HlsDir(const std::string& channel) const;
  void RemoveViewersOf(const std::string& channel);  // "" = every viewer
  void RemoveBalancedMixesOf(const std::string& channel);
  static GstFlowReturn OnSample(GstAppSink* sink, gpointer channel);
  static GstFlowReturn OnViewerSample(GstAppSink* sink, gpointer channel);
  static gboolean OnBusMessage(GstBus* bus, GstMessage* msg, gpointer self);

  const std::string session_;
  const GraphConfig config_;
  fanout::FanoutEngine* const fanout_;
  gst::ElementPtr pipeline_;
  gst::ElementPtr tee_;
  guint bus_watch_ = 0;
  std::unique_ptr<Branch> floor_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<std::string, std::unique_ptr<Console>> consoles_;
  std::map<std::string, std::unique_ptr<Viewer>> viewers_;
  std::map<std::pair<std::string, uint32_t>, std::unique_ptr<BalancedMix>> mixes_;
  int next_name_ = 0;
};

}  // namespace tilmash::graph
