// The handles of the domain's media port (ports.h), on GStreamer and the fan-out:
//   MediaSessionGst   one session's graph (built, changed and ended on the media thread)
//   ConsoleInputGst   a console's ingest and its gains into its output channels' mixers
//   ListenerStreamGst a fan-out listener and its route (channel, balance)
//   ViewerStreamGst   a WebRTC viewer
// Each is called by the domain under its session lock and never waits for the media thread:
// sockets, SRTP contexts and gain ramps are made on the caller's thread, graph changes are
// posted, and gains change at once (the ramp is a controller on an element of the graph).
// The graph and the handles share a SessionCore; the graph dies on the media thread.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"
#include "graph/session_graph.h"
#include "gst/media_thread.h"
#include "webrtc/webrtc_server.h"

namespace tilmash::graph {

// Graph work posted and not yet run past which new graph work (a session, a channel, a
// console, a floor source, a viewer) is refused with RESOURCE_EXHAUSTED instead of queued: a
// client looping over changes cannot queue minutes of work and the sockets it holds.
inline constexpr std::size_t kMaxMediaBacklog = 256;
// Ok, or RESOURCE_EXHAUSTED saying how far behind the media thread is.
domain::Status CheckMediaBacklog(const gst::MediaThread& thread, const std::string& what);

// Where a channel's recordings go: <record_dir>/<session>/<channel>.
std::string RecordingDir(const std::string& record_dir, const std::string& session, const std::string& channel);

// What a session's media and its handles share.
struct SessionCore {
  std::string session;
  GraphConfig config;
  fanout::FanoutEngine* fanout = nullptr;
  webrtc::WebrtcServer* webrtc = nullptr;  // the shared WebRTC port; null: webrtcbin per viewer
  gst::MediaThread* thread = nullptr;
  std::unique_ptr<SessionGraph> graph;  // media thread only; null until built and after the end
  // Runs fn(graph) on the media thread, if the graph is (still) there; failures are logged.
  static void Post(const std::shared_ptr<SessionCore>& core, const char* what,
                   std::function<domain::Status(SessionGraph&)> fn);
};

class MediaSessionGst : public domain::MediaSession {
 public:
  explicit MediaSessionGst(std::shared_ptr<SessionCore> core);
  ~MediaSessionGst() override;

  domain::Status AddChannel(const domain::ChannelName& channel) override;
  void RemoveChannel(const domain::ChannelName& channel) override;
  domain::Result<domain::FloorIngests> SetFloorSource(const domain::FloorSpec& primary, const domain::FloorSpec& backup,
                                                      domain::FloorLinkCallback on_primary) override;
  void SelectFloor(domain::FloorActive active) override;
  domain::Result<std::unique_ptr<domain::ConsoleInput>> AddConsole(const domain::ConsoleId& label,
                                                                   const std::vector<domain::ChannelName>& outputs,
                                                                   const domain::SrtpKeying& key, uint32_t ssrc,
                                                                   domain::LinkCallback on_link,
                                                                   uint16_t port) override;
  void SetChannelMix(const domain::ChannelName& channel, const domain::ChannelMix& mix) override;
  domain::Result<std::unique_ptr<domain::ListenerStream>> AddListener(const domain::ListenerStreamSpec& spec) override;
  domain::Result<std::unique_ptr<domain::ViewerStream>> AddViewer(const std::string& label,
                                                                  const domain::ChannelName& channel,
                                                                  const std::string& offer_sdp,
                                                                  domain::AnswerCallback done) override;
  domain::MediaStats Stats() const override;
  domain::Result<std::unique_ptr<domain::ChannelRecording>> StartRecording(const domain::ChannelName& channel,
                                                                           uint32_t segment_s) override;
  std::vector<domain::RecordingFile> Recordings() const override;

 private:
  // Binds an ingest socket on the media address and prepares its guard.
  domain::Result<IngestPlan> PrepareIngest(const std::string& source, const std::optional<domain::SrtpKeying>& key,
                                           uint32_t ssrc, uint16_t port, domain::IngestInfo* info);

  std::shared_ptr<SessionCore> core_;
  // Each language channel's floor gain (the auto-floor / duck ramp), shared with its mixer.
  std::map<domain::ChannelName, std::shared_ptr<GainRamp>> floor_gains_;
  // Each channel's level meter ("floor" included), shared with its encoder's probe.
  std::map<domain::ChannelName, std::shared_ptr<LevelMeter>> levels_;
  // Each language channel's limiter, whose leveler SetChannelMix sets (a property: any thread).
  std::map<domain::ChannelName, gst::ElementPtr> limiters_;
  // Each channel's record tap, shared with its fan-out sink.
  std::map<domain::ChannelName, std::shared_ptr<RecordTap>> record_taps_;
  // Recorded files already read to their end-of-stream page, by path (the domain's thread).
  mutable std::map<std::string, domain::RecordingFile> finished_files_;
  std::shared_ptr<IngestGuard> floor_guard_;         // the floor's counters (RTP floors only)
  std::shared_ptr<IngestGuard> floor_backup_guard_;  // the backup's (an RTP backup only)
  // With a backup: the gains of the floor's primary and backup into its mixer.
  std::shared_ptr<GainRamp> floor_primary_gain_, floor_backup_gain_;
};

}  // namespace tilmash::graph
