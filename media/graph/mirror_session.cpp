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

std::vector<std::string> MirrorDirectory::Sessions() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, origin] : origins_) ids.push_back(id);
  return ids;
}

std::string MirrorDirectory::OriginOf(const std::string& session) const {
  std::lock_guard lock(mu_);
  auto it = origins_.find(session);
  return it == origins_.end() ? std::string() : it->second;
}

void MirrorDirectory::SetBalanceSource(BalanceSource source) {
  std::lock_guard lock(source_mu_);
  source_ = std::move(source);
}

std::unique_ptr<MirrorFeed> MirrorDirectory::Balance(const std::string& session, const std::string& channel,
                                                     uint32_t percent, std::shared_ptr<MirrorSlot> slot,
                                                     std::string* error) {
  std::lock_guard lock(source_mu_);
  if (!source_) {
    *error = "this node has no origin to take a balance from";
    return nullptr;
  }
  return source_(session, channel, percent, std::move(slot), error);
}

std::shared_ptr<MirrorSlot> MirrorDirectory::Slot(const std::string& session, const std::string& channel) {
  std::lock_guard lock(mu_);
  auto& slot = slots_[{session, channel}];
  if (!slot) slot = std::make_shared<MirrorSlot>();
  return slot;
}

// ------------------------------------------------------------------ routes

bool MirrorRoutes::Balanced(const std::string& channel, uint32_t percent) {
  return percent < 100 && channel != domain::kFloorChannel;  // the floor has no interpretation to balance
}

Status MirrorRoutes::AddChannel(const std::string& channel) {
  const fanout::ChannelKey key = fanout_->NewChannelKey();
  {
    std::lock_guard lock(mu_);
    if (channels_.count(channel)) return domain::AlreadyExists("channel " + channel + " exists");
    channels_[channel] = key;
  }
  directory_->Slot(session_, channel)->Route(fanout_, key);
  return Status::Ok();
}

void MirrorRoutes::Drop(Balance& b) {
  b.slot->Route(fanout_, 0);
  fanout_->RemoveChannel(b.key);
  b.feed.reset();  // the origin's subscription ends
}

void MirrorRoutes::RemoveChannel(const std::string& channel) {
  std::lock_guard lock(mu_);
  for (auto it = balances_.begin(); it != balances_.end();) {
    if (it->first.first != channel) {
      ++it;
      continue;
    }
    Drop(it->second);
    it = balances_.erase(it);
  }
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  directory_->Slot(session_, channel)->Route(fanout_, 0);
  fanout_->RemoveChannel(it->second);
  channels_.erase(it);
}

void MirrorRoutes::End() {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, key] : channels_) names.push_back(name);
  }
  for (const auto& name : names) RemoveChannel(name);
  std::lock_guard lock(mu_);
  ended_ = true;
}

fanout::ChannelKey MirrorRoutes::Acquire(const std::string& channel, uint32_t percent) {
  std::lock_guard lock(mu_);
  auto ch = channels_.find(channel);
  if (ended_ || ch == channels_.end()) return 0;
  if (!Balanced(channel, percent)) return ch->second;
  Balance& b = balances_[{channel, percent}];
  if (b.listeners++ > 0) return b.key;
  b.key = fanout_->NewChannelKey();
  b.slot = std::make_shared<MirrorSlot>();
  b.slot->Route(fanout_, b.key);
  std::string error;
  b.feed = directory_->Balance(session_, channel, percent, b.slot, &error);
  if (!b.feed) {
    // The listener hears the channel as it is rather than nothing.
    log::Get("edge")->error("session {}: no {} % balance of channel {}: {}", session_, percent, channel, error);
    fanout_->RemoveChannel(b.key);
    balances_.erase({channel, percent});
    return ch->second;
  }
  log::Get("edge")->info("session {}: channel {} at {} % interpretation, mixed by the origin, for listeners who asked",
                         session_, channel, percent);
  return b.key;
}

void MirrorRoutes::Release(const std::string& channel, uint32_t percent) {
  if (!Balanced(channel, percent)) return;
  std::lock_guard lock(mu_);
  auto it = balances_.find({channel, percent});
  if (it == balances_.end() || --it->second.listeners > 0) return;
  Drop(it->second);
  balances_.erase(it);
  log::Get("edge")->info("session {}: the {} % balance of channel {} ended (no listener left)", session_, percent,
                         channel);
}

// ------------------------------------------------------------------ listener streams

namespace {

// A listener of a mirrored session: its route (channel and balance) is a key of the session's
// routes. The fan-out continues the listener's own timeline across a switch, as on the origin.
class MirrorListenerStream : public FanoutListenerStream {
 public:
  MirrorListenerStream(std::unique_ptr<fanout::ListenerHandle> fanout, domain::SendInfo send,
                       std::shared_ptr<MirrorRoutes> routes, const domain::ChannelName& channel)
      : FanoutListenerStream(std::move(fanout), std::move(send)), routes_(std::move(routes)) {
    Move(channel, 100);
  }
  ~MirrorListenerStream() override {
    fanout_.reset();  // the sender stops at once, then its balance may end
    routes_->Release(channel_, percent_);
  }
  void Switch(const domain::ChannelName& channel) override { Move(channel, percent_); }  // the balance stays
  void SetBalance(uint32_t percent) override { Move(channel_, std::min<uint32_t>(percent, 100)); }

 private:
  // The new route's key first (a balance it shares stays up), then the old one let go.
  void Move(const std::string& channel, uint32_t percent) {
    fanout_->Switch(routes_->Acquire(channel, percent));
    if (!channel_.empty()) routes_->Release(channel_, percent_);
    channel_ = channel;
    percent_ = percent;
  }

  const std::shared_ptr<MirrorRoutes> routes_;
  std::string channel_;  // the domain's thread only
  uint32_t percent_ = 100;
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
      webrtc_(webrtc),
      routes_(std::make_shared<MirrorRoutes>(session_, directory_, fanout_)) {
  log::Get("edge")->info("session {}: mirrored from {}", session_, origin_);
}

MirrorMediaSession::~MirrorMediaSession() { routes_->End(); }

Status MirrorMediaSession::Refused(const std::string& what) const {
  return domain::FailedPrecondition("session " + session_ + " is mirrored from " + origin_ + ": " + what +
                                    " at the origin");
}

Status MirrorMediaSession::AddChannel(const domain::ChannelName& channel) { return routes_->AddChannel(channel); }

void MirrorMediaSession::RemoveChannel(const domain::ChannelName& channel) { routes_->RemoveChannel(channel); }

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

Result<std::unique_ptr<domain::ListenerStream>> MirrorMediaSession::AddListener(
    const domain::ListenerStreamSpec& spec) {
  auto added = AddFanoutListener(*fanout_, spec, frame_us_);
  if (!added.ok()) return added.status();
  return std::unique_ptr<domain::ListenerStream>(std::make_unique<MirrorListenerStream>(
      std::move(added.value().handle), added.value().send, routes_, spec.channel));
}

Result<std::unique_ptr<domain::ViewerStream>> MirrorMediaSession::AddViewer(const std::string& id,
                                                                            const domain::ChannelName& channel,
                                                                            const std::string& offer_sdp,
                                                                            domain::AnswerCallback done) {
  // A viewer on the shared WebRTC port is a fan-out listener: it hears the mirrored channel as
  // it came from the origin, as a headset does (webrtcbin would need a decoded channel).
  if (!webrtc_) return Refused("browser viewers (with webrtc_mode webrtcbin) are served");
  return AddLiteViewer(*webrtc_, *fanout_, id, channel, offer_sdp, done,
                       [routes = routes_, channel](std::unique_ptr<fanout::ListenerHandle> listener) {
                         return std::unique_ptr<domain::ListenerStream>(std::make_unique<MirrorListenerStream>(
                             std::move(listener), domain::SendInfo{}, routes, channel));
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
