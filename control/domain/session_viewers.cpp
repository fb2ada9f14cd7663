// Browser (WebRTC) viewers of a session: admitted like listeners (the channel must exist, the
// token's stream limit counts them), counted in their channel's audience, ended when their
// connection is over, their token expires or is revoked, or their channel or session ends.
#include "domain/session.h"

namespace tilmash::domain {

Result<ListenerId> Session::AddViewer(const ViewerRequest& req) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  auto found = FindChannel(req.channel, "channel");
  if (!found.ok()) return found.status();
  if (req.max_streams > 0 && !req.owner.empty() && StreamsOf(req.owner) >= req.max_streams)
    return ResourceExhausted("the token allows " + std::to_string(req.max_streams) + " concurrent stream(s)");
  const ListenerId id = ports_.keys->NewId("w-");
  auto stream = media_->AddViewer(id, found.value(), req.offer_sdp, req.done);
  if (!stream.ok()) return stream.status();
  viewers_[id] = ViewerState{found.value(), req.owner, Now() + req.valid_for, std::move(stream).value()};
  Emit(ListenerCountChanged{found.value(), ++channels_[found.value()].listeners});
  return id;
}

Status Session::RemoveViewer(const ListenerId& viewer) {
  Lock lock(*this);
  if (!viewers_.count(viewer)) return NotFound("viewer: no viewer " + Quoted(viewer) + " in session " + id_);
  EndViewer(viewer, "ended by the viewer");
  return Status::Ok();
}

void Session::EndViewer(const ListenerId& viewer, const std::string& reason) {
  auto it = viewers_.find(viewer);
  if (it == viewers_.end()) return;
  const ChannelName channel = it->second.channel;
  viewers_.erase(it);  // its media ends here
  Emit(ListenerEnded{viewer, channel, reason});
  if (auto ch = channels_.find(channel); ch != channels_.end() && ch->second.listeners > 0)
    Emit(ListenerCountChanged{channel, --ch->second.listeners});
}

void Session::TickViewers(std::chrono::steady_clock::time_point now) {
  std::vector<std::pair<ListenerId, const char*>> over;
  for (const auto& [id, v] : viewers_) {
    if (v.stream->over())
      over.emplace_back(id, "connection failed or closed");
    else if (now >= v.expires)
      over.emplace_back(id, "token expired");
  }
  for (const auto& [id, why] : over) EndViewer(id, why);
}

}  // namespace tilmash::domain
