// The GStreamer implementation of the domain's MediaEngine port. Every graph change runs
// on the media thread; listener changes go straight to the fan-out's queue.
#pragma once
#include <map>
#include <memory>
#include <mutex>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"
#include "graph/session_graph.h"
#include "gst/media_thread.h"

namespace tilmash::graph {

class MediaEngineGst : public domain::MediaEngine {
 public:
  // Fails (with the reason) when a plugin is missing or the media address cannot be bound.
  static std::unique_ptr<MediaEngineGst> Create(const GraphConfig& config, std::string* error);
  ~MediaEngineGst() override;

  domain::Status CreateSession(const domain::SessionId& session) override;
  void EndSession(const domain::SessionId& session) override;
  domain::Status AddChannel(const domain::SessionId& session, const domain::ChannelName& channel) override;
  void RemoveChannel(const domain::SessionId& session, const domain::ChannelName& channel) override;
  domain::Result<std::optional<domain::IngestInfo>> SetFloorSource(const domain::SessionId& session,
                                                                   const domain::FloorSource& source,
                                                                   const std::optional<domain::SrtpKeying>& key,
                                                                   uint32_t expected_ssrc) override;
  domain::Result<domain::IngestInfo> AddConsole(const domain::SessionId& session, const domain::ConsoleId& console,
                                                const std::vector<domain::ChannelName>& outputs,
                                                const domain::SrtpKeying& key, uint32_t ssrc) override;
  domain::Status SetConsoleOutputs(const domain::SessionId& session, const domain::ConsoleId& console,
                                   const std::vector<domain::ChannelName>& outputs) override;
  void RemoveConsole(const domain::SessionId& session, const domain::ConsoleId& console) override;
  void SetChannelMix(const domain::SessionId& session, const domain::ChannelName& channel,
                     const domain::ChannelMix& mix) override;
  domain::Result<domain::SendInfo> AddListener(const domain::SessionId& session, const domain::ListenerId& listener,
                                               const domain::ChannelName& channel, const domain::Endpoint& endpoint,
                                               const domain::SrtpKeying& key, uint32_t ssrc) override;
  domain::Status SwitchListener(const domain::SessionId& session, const domain::ListenerId& listener,
                                const domain::ChannelName& channel) override;
  domain::Status SetListenerBalance(const domain::SessionId& session, const domain::ListenerId& listener,
                                    uint32_t interpretation_percent) override;
  void RemoveListener(const domain::SessionId& session, const domain::ListenerId& listener) override;
  domain::Status RekeyListener(const domain::SessionId& session, const domain::ListenerId& listener,
                               const domain::SrtpKeying& key, std::chrono::milliseconds after) override;
  ListenerAlerts TakeListenerAlerts(const domain::SessionId& session) override;
  uint32_t StreamRoc(const domain::SessionId& session, const domain::ListenerId& listener) override;
  domain::MediaStats Stats(const domain::SessionId& session) override;

  // WebRTC viewers (WHEP): not a domain listener yet; the HTTP side authorises them.
  domain::Status AddWebrtcViewer(const domain::SessionId& session, const std::string& viewer,
                                 const domain::ChannelName& channel, const std::string& offer_sdp,
                                 std::shared_ptr<WebrtcHandshake> handshake);
  void RemoveWebrtcViewer(const domain::SessionId& session, const std::string& viewer);

 private:
  MediaEngineGst(GraphConfig config, std::unique_ptr<fanout::FanoutEngine> fanout);
  // Runs fn(graph) on the media thread; NotFound when the session has no graph.
  domain::Status WithGraph(const domain::SessionId& session, const std::function<domain::Status(SessionGraph&)>& fn);
  fanout::ChannelKey KeyOf(const domain::SessionId& s, const domain::ChannelName& c);
  // The listener's fan-out key; NotFound (naming listener_id) when it has none.
  domain::Result<fanout::ListenerKey> ListenerKeyOf(const domain::ListenerId& listener);
  // What a listener hears: a channel at a balance (100: the channel's own stream).
  struct Route {
    domain::SessionId session;
    domain::ChannelName channel;
    uint32_t percent = 100;
    bool Mixed() const { return percent < 100 && channel != domain::kFloorChannel; }
  };
  // Moves the listener to `next`, making its mix when it is the first listener of it and
  // ending the mix it leaves when it was the last. mix_mu_ held.
  domain::Status RouteLocked(const domain::ListenerId& listener, const Route& next);
  void ReleaseMixLocked(const Route& r);

  const GraphConfig config_;
  std::unique_ptr<fanout::FanoutEngine> fanout_;
  std::unique_ptr<gst::MediaThread> thread_;
  std::map<domain::SessionId, std::unique_ptr<SessionGraph>> graphs_;  // media thread only

  std::mutex keys_mu_;
  fanout::ChannelKey next_key_ = 1;
  std::map<std::pair<domain::SessionId, domain::ChannelName>, fanout::ChannelKey> channel_keys_;
  std::map<domain::ListenerId, fanout::ListenerKey> listener_keys_;
  std::map<fanout::ListenerKey, std::pair<domain::SessionId, domain::ListenerId>> key_owners_;
  std::map<domain::SessionId, ListenerAlerts> alerts_;  // taken from the fan-out, not yet by their session

  // Balance mixes: control plane only, held across the media-thread call that builds a mix
  // (the media thread never takes it).
  std::mutex mix_mu_;
  std::map<domain::ListenerId, Route> routes_;
  struct MixUse {
    fanout::ChannelKey key = 0;
    int listeners = 0;
  };
  std::map<std::tuple<domain::SessionId, domain::ChannelName, uint32_t>, MixUse> mixes_;
};

}  // namespace tilmash::graph
