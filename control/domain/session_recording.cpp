// Recording per channel: the media side writes the files (ports.h: ChannelRecording); the
// session decides which channels are recorded, keeps that in its record (a restart resumes
// them), tells watchers and turns the booths' "recorded" indicator on and off with the
// recorder's real state.
#include <algorithm>

#include "domain/language.h"
#include "domain/session.h"

namespace tilmash::domain {

namespace {
Status ValidateSegment(uint32_t segment_s) {
  if (segment_s != 0 && (segment_s < kMinSegmentSeconds || segment_s > kMaxSegmentSeconds))
    return InvalidArgument("segment_seconds must be between " + std::to_string(kMinSegmentSeconds) + " and " +
                           std::to_string(kMaxSegmentSeconds) + " (0: the daemon's default)");
  return Status::Ok();
}
}  // namespace

Status Session::StartRecordingLocked(const ChannelName& channel, uint32_t segment_s, const std::string& reason) {
  auto handle = media_->StartRecording(channel, segment_s);
  if (!handle.ok()) return handle.status();
  RecordingState& r = recordings_[channel];
  r.segment_s = segment_s;
  r.handle = std::move(handle).value();
  Emit(RecordingChanged{channel, true, reason, r.handle->Status().file});
  return Status::Ok();
}

void Session::StopRecordingLocked(const ChannelName& channel, const std::string& reason) {
  auto it = recordings_.find(channel);
  if (it == recordings_.end()) return;
  const std::string file = it->second.handle ? it->second.handle->Status().file : "";
  recordings_.erase(it);  // the handle finishes its file
  Emit(RecordingChanged{channel, false, reason, file});
}

Result<std::vector<ChannelView>> Session::StartRecording(const std::vector<std::string>& channels, uint32_t segment_s) {
  Lock lock(*this);
  if (ended_) return FailedPrecondition("session " + id_ + " has ended");
  if (Status s = ValidateSegment(segment_s); !s.ok()) return s;
  std::vector<ChannelName> todo;
  if (channels.empty()) {
    for (const auto& name : channel_order_)
      if (!recordings_.count(name)) todo.push_back(name);
  } else {
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const std::string field = "channel_ids[" + std::to_string(i) + "]";
      auto found = FindChannel(channels[i], field.c_str());
      if (!found.ok()) return found.status();
      if (recordings_.count(found.value()))
        return AlreadyExists(field + ": channel '" + found.value() + "' is already being recorded");
      if (std::find(todo.begin(), todo.end(), found.value()) == todo.end()) todo.push_back(found.value());
    }
  }
  // All or nothing: a channel that cannot start undoes the ones started before it.
  std::vector<ChannelView> out;
  for (const auto& name : todo) {
    if (Status s = StartRecordingLocked(name, segment_s, "started"); !s.ok()) {
      for (const auto& started : out) StopRecordingLocked(started.name, "not started: " + s.message());
      return s;
    }
    out.push_back(ViewOf(name));
  }
  if (!todo.empty()) EmitBooths();
  if (Status s = Save(); !s.ok()) return s;
  return out;
}

Result<std::vector<ChannelView>> Session::StopRecording(const std::vector<std::string>& channels) {
  Lock lock(*this);
  std::vector<ChannelName> todo;
  if (channels.empty()) {
    for (const auto& [name, r] : recordings_) todo.push_back(name);
  } else {
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const std::string field = "channel_ids[" + std::to_string(i) + "]";
      auto found = FindChannel(channels[i], field.c_str());
      if (!found.ok()) return found.status();
      if (!recordings_.count(found.value()))
        return FailedPrecondition(field + ": channel '" + found.value() + "' is not being recorded");
      if (std::find(todo.begin(), todo.end(), found.value()) == todo.end()) todo.push_back(found.value());
    }
  }
  std::vector<ChannelView> out;
  for (const auto& name : todo) {
    StopRecordingLocked(name, "stopped");
    out.push_back(ViewOf(name));
  }
  if (!todo.empty()) EmitBooths();
  if (Status s = Save(); !s.ok()) return s;
  return out;
}

std::vector<RecordingFile> Session::Recordings() const {
  Lock lock(*this);
  return media_ ? media_->Recordings() : std::vector<RecordingFile>{};
}

void Session::TickRecordings() {
  std::vector<std::pair<ChannelName, std::string>> failed;
  for (const auto& [name, r] : recordings_)
    if (RecordingStatus st = r.handle->Status(); st.failed) failed.emplace_back(name, st.error);
  for (const auto& [name, error] : failed) StopRecordingLocked(name, "failed: " + error);
  if (failed.empty()) return;
  EmitBooths();
  (void)Save();  // a failure is the store's to log; the recording stays off either way
}

}  // namespace tilmash::domain
