#include "graph/mirror_session.h"

#include "graph/fanout_listener_stream.h"
#include "graph/lite_viewer.h"
#include "graph/media_engine_gst.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;

// ------------------------------------------------------------------ directory

void MirrorDirectory::Add(const std::string& session, const std::string& origin) {
  std::lock_guard lock(mu_);
  origins_[session] = origin;
}

void MirrorDirectory::Remove(const std::string& session) {
  std::lock_guard lock(mu_);
  origins_.erase(session);
  for (auto it = slots_.begin(); it != slots_.end();) it = it->first.first == session ? slots_.erase(it) : ++it;
}

std::string MirrorDirectory::OriginOf(const std::string& session) const {
  std::lock_guard lock(mu_);
  auto it = origins_.find(session);
  return it == origins_.end() ? std::string() : it->second;
}

std::shared_ptr<MirrorSlot> MirrorDirectory::Slot(const std::string& session, const std::string& channel) {
  std::lock_guard lock(mu_);
  auto& slot = slots_[{session, channel}];
  if (!slot) slot = std::make_shared<MirrorSlot>();
  return slot;
}

// ------------------------------------------------------------------ listener streams

namespace {

class MirrorListenerStream : public FanoutListenerStream {
 public:
  MirrorListenerStream(std::unique_ptr<fanout::ListenerHandle> fanout, domain::SendInfo send,
                       std::function<fanout::ChannelKey(const std::string&)> key_of)
      : FanoutListenerStream(std::move(fanout), std::move(send)), key_of_(std::move(key_of)) {}
  // The fan-out continues the listener's own timeline across the switch, as on the origin.
  void Switch(const domain::ChannelName& channel) override { fanout_->Switch(key_of_(channel)); }
  // The domain refuses a balance on a mirrored session; 100 is the channel as is.
  void SetBalance(uint32_t) override {}

 private:
  const std::function<fanout::ChannelKey(const std::string&)> key_of_;
};

}  // namespace

// ------------------------------------------------------------------ session

MirrorMediaSession::MirrorMediaSession(std::string session, std::string origin,
                                       std::shared_ptr<MirrorDirectory> directory, fanout::FanoutEngine* fanout,
                                       int frame_us, webrtc::WebrtcServer* webrtc)
    : session_(std::move(session)),
      origin_(std::move(origin)),
      directory_(std::move(directory)),
      fanout_(fanout),
      frame_us_(frame_us),
      webrtc_(webrtc) {
  log::Get("edge")->info("session {}: mirrored from {}", session_, origin_);
}

MirrorMediaSession::~MirrorMediaSession() {
  std::lock_guard lock(keys_->mu);
  for (const auto& [channel, key] : keys_->by_channel) {
    directory_->Slot(session_, channel)->key_.store(0, std::memory_order_release);
    fanout_->RemoveChannel(key);
  }
}

Status MirrorMediaSession::Refused(const std::string& what) const {
  return domain::FailedPrecondition("session " + session_ + " is mirrored from " + origin_ + ": " + what +
                                    " at the origin");
}

Status MirrorMediaSession::AddChannel(const domain::ChannelName& channel) {
  const fanout::ChannelKey key = fanout_->NewChannelKey();
  {
    std::lock_guard lock(keys_->mu);
    if (keys_->by_channel.count(channel)) return domain::AlreadyExists("channel " + channel + " exists");
    keys_->by_channel[channel] = key;
  }
  auto slot = directory_->Slot(session_, channel);
  slot->fanout_.store(fanout_, std::memory_order_relaxed);
  slot->key_.store(key, std::memory_order_release);
  return Status::Ok();
}

void MirrorMediaSession::RemoveChannel(const domain::ChannelName& channel) {
  fanout::ChannelKey key = 0;
  {
    std::lock_guard lock(keys_->mu);
    auto it = keys_->by_channel.find(channel);
    if (it == keys_->by_channel.end()) return;
    key = it->second;
    keys_->by_channel.erase(it);
  }
  directory_->Slot(session_, channel)->key_.store(0, std::memory_order_release);
  fanout_->RemoveChannel(key);
}

Result<domain::FloorIngests> MirrorMediaSession::SetFloorSource(const domain::FloorSpec& primary,
                                                                const domain::FloorSpec& backup,
                                                                domain::FloorLinkCallback) {
  // The floor channel is the origin's floor; a mirror takes no source of its own.
  if (!std::holds_alternative<domain::NoSource>(primary.source) ||
      !std::holds_alternative<domain::NoSource>(backup.source))
    return Refused("its floor source is set");
  return domain::FloorIngests{};
}

Result<std::unique_ptr<domain::ConsoleInput>> MirrorMediaSession::AddConsole(const domain::ConsoleId&,
                                                                             const std::vector<domain::ChannelName>&,
                                                                             const domain::SrtpKeying&, uint32_t,
                                                                             domain::LinkCallback, uint16_t) {
  return Refused("consoles join");
}

std::unique_ptr<domain::ListenerStream> MirrorMediaSession::Route(std::shared_ptr<Keys> keys,
                                                                  std::unique_ptr<fanout::ListenerHandle> listener,
                                                                  domain::SendInfo send,
                                                                  const domain::ChannelName& channel) {
  auto stream = std::make_unique<MirrorListenerStream>(std::move(listener), std::move(send),
                                                       [keys = std::move(keys)](const std::string& name) {
                                                         std::lock_guard lock(keys->mu);
                                                         auto it = keys->by_channel.find(name);
                                                         return it == keys->by_channel.end() ? 0 : it->second;
                                                       });
  stream->Switch(channel);
  return stream;
}

Result<std::unique_ptr<domain::ListenerStream>> MirrorMediaSession::AddListener(
    const domain::ListenerStreamSpec& spec) {
  auto added = AddFanoutListener(*fanout_, spec, frame_us_);
  if (!added.ok()) return added.status();
  return Route(keys_, std::move(added.value().handle), added.value().send, spec.channel);
}

Result<std::unique_ptr<domain::ViewerStream>> MirrorMediaSession::AddViewer(const std::string& id,
                                                                            const domain::ChannelName& channel,
                                                                            const std::string& offer_sdp,
                                                                            domain::AnswerCallback done) {
  // A viewer on the shared WebRTC port is a fan-out listener: it hears the mirrored channel as
  // it came from the origin, as a headset does (webrtcbin would need a decoded channel).
  if (!webrtc_) return Refused("browser viewers (with webrtc_mode webrtcbin) are served");
  return AddLiteViewer(*webrtc_, *fanout_, id, channel, offer_sdp, done,
                       [keys = keys_, channel](std::unique_ptr<fanout::ListenerHandle> listener) {
                         return Route(keys, std::move(listener), domain::SendInfo{}, channel);
                       });
}

domain::MediaStats MirrorMediaSession::Stats() const {
  domain::MediaStats stats;
  AddFanoutStats(fanout_->Stats(), &stats);
  return stats;
}

Result<std::unique_ptr<domain::ChannelRecording>> MirrorMediaSession::StartRecording(const domain::ChannelName&,
                                                                                     uint32_t) {
  return Refused("its channels are recorded");
}

}  // namespace tilmash::graph
