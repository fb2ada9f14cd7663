// Where a channel's encoded packets meet its recorder. The channel's fan-out sink hands every
// RTP packet to its tap on the streaming thread; the tap passes it to the recorder attached
// now, if any (ChannelRecorder::Push copies it into a bounded queue and never waits for the
// disk). Attaching and detaching happen on the domain's thread, with no graph change: the
// packets are the ones listeners get, so a recording is the channel as heard, not re-encoded.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>

#include "record/channel_recorder.h"

namespace tilmash::graph {

class RecordTap {
 public:
  void Attach(std::shared_ptr<record::ChannelRecorder> recorder) {
    std::lock_guard lock(mu_);
    recorder_ = std::move(recorder);
    on_.store(recorder_ != nullptr, std::memory_order_release);
  }
  // Whether a recorder is attached (the channel's encoder runs while one is).
  bool on() const { return on_.load(std::memory_order_acquire); }
  // Streaming thread: one relaxed load when nothing records.
  void Push(const uint8_t* rtp, std::size_t size) {
    if (!on_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(mu_);
    if (recorder_) recorder_->Push(rtp, size);
  }

 private:
  std::atomic<bool> on_{false};
  std::mutex mu_;
  std::shared_ptr<record::ChannelRecorder> recorder_;
};

}  // namespace tilmash::graph
