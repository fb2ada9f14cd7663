// An edge node's media for a session it mirrors from an origin (tilmashd --edge-of). The
// origin has mixed and encoded every channel already; the edge receives each channel once (as
// one listener of the origin), decrypts it once, and pushes its RTP packets into its own fan-out
// as they are - no pipeline, no decode, no re-encode - where its listeners get them in their own
// SSRC, sequence, timestamp and key space, exactly as on the origin.
//
// The edge's mirror (control/daemon/edge_mirror.h) registers a session here before it creates
// it; MediaEngineGst then makes a MirrorMediaSession instead of a pipeline, and each channel's
// receiver reaches the fan-out through its MirrorSlot. A listener's balance is the origin's mix:
// the edge subscribes to it once per channel and balance (MirrorDirectory's balance source),
// shares it among its listeners who asked for the same one and ends it with the last. What a
// mirror cannot do (consoles, a floor source, recordings) is refused naming the origin.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"
#include "webrtc/webrtc_server.h"

namespace tilmash::graph {

// One mirrored channel, as its receiver sees it: the fan-out channel its packets go to (0 while
// the channel does not exist on this node). Push is any thread, lock-free.
class MirrorSlot {
 public:
  // False when the channel has no fan-out key (not added yet, or removed).
  bool Push(const uint8_t* packet, std::size_t size) {
    const fanout::ChannelKey key = key_.load(std::memory_order_acquire);
    if (key == 0) return false;
    fanout_.load(std::memory_order_relaxed)->Push(key, packet, size);
    return true;
  }

 private:
  friend class MirrorRoutes;
  // Packets go to `key` of `fanout` from now on (0: nowhere).
  void Route(fanout::FanoutEngine* fanout, fanout::ChannelKey key) {
    fanout_.store(fanout, std::memory_order_relaxed);
    key_.store(key, std::memory_order_release);
  }
  std::atomic<fanout::FanoutEngine*> fanout_{nullptr};  // set before the key (a channel added again sets it again)
  std::atomic<fanout::ChannelKey> key_{0};
};

// What keeps one balance of a mirrored channel coming into its slot (the edge's subscription to
// the origin's mix); destroying it ends that subscription.
class MirrorFeed {
 public:
  virtual ~MirrorFeed() = default;
};
// Starts the feed of `channel` of `session` at `percent` % interpretation into `slot`; null with
// *error when it cannot.
using BalanceSource =
    std::function<std::unique_ptr<MirrorFeed>(const std::string& session, const std::string& channel, uint32_t percent,
                                              std::shared_ptr<MirrorSlot> slot, std::string* error)>;

// The sessions this node mirrors, and their channels' slots. Shared by the edge's mirror and
// the media engine; any thread.
class MirrorDirectory {
 public:
  // Where balances come from (the edge's mirror sets it, and unsets it before it goes).
  void SetBalanceSource(BalanceSource source);
  // A feed of a balance from the source; null with *error when there is none or it fails.
  std::unique_ptr<MirrorFeed> Balance(const std::string& session, const std::string& channel, uint32_t percent,
                                      std::shared_ptr<MirrorSlot> slot, std::string* error);
  // `origin` names where the session comes from (errors say it).
  void Add(const std::string& session, const std::string& origin);
  void Remove(const std::string& session);
  // The origin of a mirrored session; "" for a session of this node's own.
  std::string OriginOf(const std::string& session) const;
  std::vector<std::string> Sessions() const;  // every mirrored session's id
  // The slot of a channel of a mirrored session (made on first ask, kept until Remove).
  std::shared_ptr<MirrorSlot> Slot(const std::string& session, const std::string& channel);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> origins_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<MirrorSlot>> slots_;
  std::mutex source_mu_;  // held while the source runs: unsetting it waits for a call in progress
  BalanceSource source_;
};

// The fan-out keys of a mirrored session's channels and of the balances its listeners asked for
// (each balance fed by the origin's mix, shared, ended with its last listener). Any thread.
class MirrorRoutes {
 public:
  MirrorRoutes(std::string session, std::shared_ptr<MirrorDirectory> directory, fanout::FanoutEngine* fanout)
      : session_(std::move(session)), directory_(std::move(directory)), fanout_(fanout) {}
  domain::Status AddChannel(const std::string& channel);
  void RemoveChannel(const std::string& channel);  // and its balances
  void End();                                      // every channel and balance (the session ends)
  // The key of `channel` at `percent` % interpretation (100, or the floor: the channel as is;
  // 0: no such channel). A balance is started on its first listener: each Acquire of one is
  // matched by a Release.
  fanout::ChannelKey Acquire(const std::string& channel, uint32_t percent);
  void Release(const std::string& channel, uint32_t percent);

 private:
  struct Balance {
    fanout::ChannelKey key = 0;
    uint32_t listeners = 0;
    std::shared_ptr<MirrorSlot> slot;
    std::unique_ptr<MirrorFeed> feed;
  };
  static bool Balanced(const std::string& channel, uint32_t percent);
  void Drop(Balance& b);  // under mu_

  const std::string session_;
  const std::shared_ptr<MirrorDirectory> directory_;
  fanout::FanoutEngine* const fanout_;
  std::mutex mu_;
  bool ended_ = false;
  std::map<std::string, fanout::ChannelKey> channels_;
  std::map<std::pair<std::string, uint32_t>, Balance> balances_;
};

class MirrorMediaSession : public domain::MediaSession {
 public:
  MirrorMediaSession(std::string session, std::string origin, std::shared_ptr<MirrorDirectory> directory,
                     fanout::FanoutEngine* fanout, int frame_us, webrtc::WebrtcServer* webrtc = nullptr);
  ~MirrorMediaSession() override;

  domain::Status AddChannel(const domain::ChannelName& channel) override;
  void RemoveChannel(const domain::ChannelName& channel) override;
  domain::Result<domain::FloorIngests> SetFloorSource(const domain::FloorSpec& primary, const domain::FloorSpec& backup,
                                                      domain::FloorLinkCallback on_primary) override;
  void SelectFloor(domain::FloorActive) override {}
  domain::Result<std::unique_ptr<domain::ConsoleInput>> AddConsole(const domain::ConsoleId& label,
                                                                   const std::vector<domain::ChannelName>& outputs,
                                                                   const domain::SrtpKeying& key, uint32_t ssrc,
                                                                   domain::LinkCallback on_link,
                                                                   uint16_t port) override;
  void SetChannelMix(const domain::ChannelName&, const domain::ChannelMix&) override {}
  domain::Result<std::unique_ptr<domain::ListenerStream>> AddListener(const domain::ListenerStreamSpec& spec) override;
  domain::Result<std::unique_ptr<domain::ViewerStream>> AddViewer(const std::string& label,
                                                                  const domain::ChannelName& channel,
                                                                  const std::string& offer_sdp,
                                                                  domain::AnswerCallback done) override;
  domain::MediaStats Stats() const override;
  domain::Result<std::unique_ptr<domain::ChannelRecording>> StartRecording(const domain::ChannelName& channel,
                                                                           uint32_t segment_s) override;

 private:
  domain::Status Refused(const std::string& what) const;

  const std::string session_, origin_;
  const std::shared_ptr<MirrorDirectory> directory_;
  fanout::FanoutEngine* const fanout_;
  const int frame_us_;                  // the origin's (the mirrored session was created with it)
  webrtc::WebrtcServer* const webrtc_;  // browser viewers; null: refused (webrtc_mode webrtcbin)
  // The channels' and balances' fan-out keys, shared with the listener streams.
  const std::shared_ptr<MirrorRoutes> routes_;
};

}  // namespace tilmash::graph
