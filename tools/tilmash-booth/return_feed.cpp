#include "return_feed.h"

#include <algorithm>
#include <span>

#include "audio/audio.h"

namespace tilmash::booth {

namespace {
constexpr std::size_t kSettleSamples = audio::kRate / 10;  // the crossfade and the feed's own latency
}  // namespace

std::unique_ptr<ReturnFeedMonitor> ReturnFeedMonitor::Bind(const std::string& host, std::string* error) {
  auto receiver = client::StreamReceiver::Bind(host, error);
  if (!receiver) return nullptr;
  std::unique_ptr<ReturnFeedMonitor> self(new ReturnFeedMonitor());
  self->receiver_ = std::move(receiver);
  return self;
}

v1::UdpEndpoint ReturnFeedMonitor::endpoint() const {
  v1::UdpEndpoint e;
  e.set_host(receiver_->local_host());
  e.set_port(receiver_->local_port());
  return e;
}

bool ReturnFeedMonitor::Attach(const v1::ReturnFeed& feed, std::string* error) {
  feed_ = feed;
  attached_at_ = Clock::now();
  return receiver_->Attach(feed.ssrc(), feed.srtp(), error);
}

void ReturnFeedMonitor::Mark(const std::string& effective_input) {
  std::lock_guard lock(mutex_);
  if (!boundaries_.empty() && boundaries_.back().input == effective_input) return;
  boundaries_.push_back({Clock::now(), effective_input});
}

std::vector<ReturnFeedMonitor::Period> ReturnFeedMonitor::Finish() {
  const Clock::time_point end = Clock::now();
  receiver_->Stop();
  const std::vector<float> samples = receiver_->Samples();
  const auto arrivals = receiver_->Arrivals();
  auto seconds = [&](Clock::time_point t) { return std::chrono::duration<double>(t - attached_at_).count(); };
  // The first packet that arrived at or after `t`.
  auto first_after = [&](Clock::time_point t) {
    return std::lower_bound(
        arrivals.begin(), arrivals.end(), t,
        [](const client::StreamReceiver::FrameArrival& a, Clock::time_point x) { return a.arrival < x; });
  };
  std::lock_guard lock(mutex_);
  std::vector<Period> periods;
  for (std::size_t i = 0; i < boundaries_.size(); ++i) {
    const Clock::time_point from = boundaries_[i].at;
    const Clock::time_point to = i + 1 < boundaries_.size() ? boundaries_[i + 1].at : end;
    Period p;
    p.input = boundaries_[i].input;
    p.from_s = seconds(from);
    p.to_s = seconds(to);
    const auto first = first_after(from), last = first_after(to);
    p.packets = uint64_t(last - first);
    if (p.packets > 0) {
      const std::size_t a = std::min(first->sample_index, samples.size());
      const std::size_t b = last == arrivals.end() ? samples.size() : std::min(last->sample_index, samples.size());
      const std::size_t settled = std::min(a + kSettleSamples, b);
      const std::span<const float> part(samples.data() + settled, b - settled);
      p.dominant_hz = audio::DominantFrequency(part);
      p.level_dbfs = audio::RmsDb(part);
    }
    periods.push_back(std::move(p));
  }
  return periods;
}

}  // namespace tilmash::booth
