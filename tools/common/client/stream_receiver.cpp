#include "client/stream_receiver.h"

#include <algorithm>

#include "audio/audio.h"
#include "client/convert.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "rtp/srtp_receiver.h"

namespace tilmash::client {

namespace {
constexpr int kPollMs = 50;                // how long Stop() may wait for the receive thread
constexpr std::size_t kMaxDecoded = 5760;  // 120 ms at 48 kHz, Opus' longest packet
// A gap longer than this is a stream restart, not loss worth concealing sample by sample.
constexpr int kMaxConcealedFrames = 50;
// Hearing protection at the receiver: nothing it outputs exceeds -1 dBFS (Opus overshoots full
// scale, most of all right after a gap), and audio after a discontinuity concealment cannot
// bridge (a gap longer than kMaxConcealedFrames, a timestamp going back or off the frame grid)
// fades in over 2.5 ms, so a decoder resuming mid-waveform cannot click.
constexpr float kCeiling = 0.891250938f;  // -1 dBFS
constexpr int kFadeInSamples = 120;

void Limit(float* pcm, int n, bool fade_in) {
  for (int i = 0; i < n; ++i) {
    float s = pcm[i];
    if (fade_in && i < kFadeInSamples) s *= float(i) / float(kFadeInSamples);
    pcm[i] = std::clamp(s, -kCeiling, kCeiling);
  }
}
}  // namespace

std::unique_ptr<StreamReceiver> StreamReceiver::JoinGroup(const std::string& group, uint16_t port,
                                                          const std::string& interface, std::string* error) {
  std::unique_ptr<StreamReceiver> self(new StreamReceiver());
  std::string why;
  self->socket_ = UdpSocket::JoinGroup(group, port, interface, &why);
  if (self->socket_) self->decoder_ = audio::OpusDecoder::Create(&why);
  if (!self->socket_ || !self->decoder_) {
    if (error) *error = why;
    return nullptr;
  }
  return self;
}

std::unique_ptr<StreamReceiver> StreamReceiver::Bind(const std::string& host, std::string* error) {
  std::unique_ptr<StreamReceiver> self(new StreamReceiver());
  std::string why;
  self->socket_ = UdpSocket::Bind(host, 0, &why);
  if (self->socket_) self->decoder_ = audio::OpusDecoder::Create(&why);
  if (!self->socket_ || !self->decoder_) {
    if (error) *error = why;
    return nullptr;
  }
  return self;
}

StreamReceiver::~StreamReceiver() { Stop(); }

uint16_t StreamReceiver::local_port() const { return socket_->local_port(); }

std::string StreamReceiver::local_host() const { return socket_->local_host(); }

bool StreamReceiver::Attach(uint32_t ssrc, const v1::SrtpKeying& srtp, std::string* error, int frame_us) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  std::lock_guard lock(control_mutex_);
  if (stop_.load()) return fail("the receiver is stopped");
  if (attached_.load()) return fail("already attached");
  if (!srtp.master_key().empty()) {
    const rtp::SrtpSuite suite = SuiteFromProto(srtp.suite());
    const std::string& key = srtp.master_key();
    std::string why;
    auto ctx = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, suite,
                                        std::vector<uint8_t>(key.begin(), key.end()), ssrc, srtp.roc(), &why);
    if (!ctx) return fail("SRTP: " + why);
    srtp_ = std::make_unique<rtp::SrtpReceiver>(std::move(ctx), ssrc);
    tag_size_ = rtp::TagLength(suite);
  }
  ssrc_ = ssrc;
  if (frame_us > 0) frame_samples_ = int(int64_t(frame_us) * audio::kRate / 1000000);
  attached_.store(true);
  thread_ = std::thread([this] { Receive(); });
  return true;
}

bool StreamReceiver::AnnounceKey(uint32_t key_id, const v1::SrtpKeying& srtp) {
  const rtp::SrtpSuite suite = SuiteFromProto(srtp.suite());
  if (srtp.master_key().size() != rtp::MasterKeyLength(suite)) return false;
  std::lock_guard lock(announce_mutex_);
  announced_.emplace_back(key_id, srtp);
  has_announced_.store(true);
  return true;
}

void StreamReceiver::Receive() {
  uint8_t buffer[rtp::kMaxPacket + 64];
  while (!stop_.load()) {
    const int n = socket_->Receive(buffer, sizeof buffer, kPollMs);
    if (n <= 0) continue;  // timeout, or an error we cannot act on: keep listening
    HandleDatagram(buffer, std::size_t(n), Clock::now());
  }
}

void StreamReceiver::Count(uint64_t Stats::*field) {
  {
    std::lock_guard lock(mutex_);
    ++(stats_.*field);
  }
  changed_cv_.notify_all();
}

void StreamReceiver::HandleDatagram(uint8_t* data, std::size_t size, Clock::time_point arrival) {
  const rtp::ParseResult outer = rtp::ParseRtp(data, size, tag_size_);
  if (!outer.ok()) return Count(&Stats::malformed);
  if (ssrc_ != 0 && outer.header->ssrc != ssrc_) return Count(&Stats::wrong_ssrc);
  int plain_size = int(size);
  if (srtp_) {
    if (has_announced_.load()) {
      std::lock_guard lock(announce_mutex_);
      for (const auto& [id, k] : announced_)
        srtp_->Announce(id, SuiteFromProto(k.suite()),
                        std::vector<uint8_t>(k.master_key().begin(), k.master_key().end()));
      announced_.clear();
      has_announced_.store(false);
    }
    const uint64_t changes = srtp_->key_changes();
    plain_size = srtp_->Unprotect(data, size);
    if (plain_size < 0) return Count(&Stats::auth_failures);
    if (srtp_->key_changes() != changes) {
      std::lock_guard lock(mutex_);
      stats_.key_changes = srtp_->key_changes();
      stats_.key_id = srtp_->key_id();
    }
  }
  // Re-parse the decrypted packet: padding is only visible now.
  const rtp::ParseResult plain = rtp::ParseRtp(data, std::size_t(plain_size), 0);
  if (!plain.ok()) return Count(&Stats::malformed);
  const rtp::RtpHeaderView& h = *plain.header;

  int gap = 0;
  if (expected_seq_) {
    const int delta = int16_t(uint16_t(h.sequence - *expected_seq_));
    if (delta < 0) return Count(&Stats::late);  // its slot was already concealed
    gap = delta;
  }
  expected_seq_ = uint16_t(h.sequence + 1);
  // A timestamp jump without a sequence gap (a sender that numbers only what it sends) is a gap
  // too: whole frames are concealed like lost packets; anything else the decoder cannot know
  // of, so the next frame fades in.
  int jumped = 0;
  if (expected_ts_ && gap == 0 && h.timestamp != *expected_ts_) {
    const int32_t ahead = int32_t(h.timestamp - *expected_ts_);
    if (ahead > 0 && ahead % frame_samples_ == 0 && ahead / frame_samples_ <= kMaxConcealedFrames)
      jumped = ahead / frame_samples_;
    else
      discontinuity_ = true;
  }
  if (gap > kMaxConcealedFrames) discontinuity_ = true;
  double interarrival_ms = -1;
  if (last_arrival_) {
    interarrival_ms = std::chrono::duration<double, std::milli>(arrival - *last_arrival_).count();
    interarrival_sum_ms_ += interarrival_ms;
    ++interarrival_count_;
  }
  last_arrival_ = arrival;
  {
    std::lock_guard lock(mutex_);
    ++stats_.packets;
    stats_.lost += uint64_t(gap);
    stats_.time_jumps += uint64_t(jumped);
    if (interarrival_ms >= 0) {
      stats_.max_interarrival_ms = std::max(stats_.max_interarrival_ms, interarrival_ms);
      stats_.mean_interarrival_ms = interarrival_sum_ms_ / double(interarrival_count_);
    }
  }
  if (gap + jumped > 0) Conceal(std::min(gap + jumped, kMaxConcealedFrames));
  DecodeInto(data + h.header_size, int(h.payload_size), FrameArrival{arrival, 0, h.sequence, h.timestamp});
}

void StreamReceiver::DecodeInto(const uint8_t* payload, int size, const FrameArrival& arrival) {
  float pcm[kMaxDecoded];
  const int n = decoder_->Decode(payload, size, pcm, int(kMaxDecoded));
  if (n <= 0) {
    {
      std::lock_guard lock(mutex_);
      ++stats_.decode_errors;
    }
    Conceal(1);  // keeps the timeline continuous; notifies
    expected_ts_ = arrival.timestamp + uint32_t(frame_samples_);
    return;
  }
  frame_samples_ = n;
  expected_ts_ = arrival.timestamp + uint32_t(n);
  if (protect_.load(std::memory_order_relaxed)) Limit(pcm, n, discontinuity_);
  discontinuity_ = false;
  {
    std::lock_guard lock(mutex_);
    FrameArrival a = arrival;
    a.sample_index = base_ + samples_.size();
    arrivals_.push_back(a);
    samples_.insert(samples_.end(), pcm, pcm + n);
    Trim();
  }
  Deliver(pcm, std::size_t(n));
  changed_cv_.notify_all();
}

void StreamReceiver::Trim() {
  // Amortised: half the limit again accumulates before the front is dropped.
  if (history_limit_ == 0 || samples_.size() < history_limit_ + history_limit_ / 2) return;
  const std::size_t drop = samples_.size() - history_limit_;
  samples_.erase(samples_.begin(), samples_.begin() + std::ptrdiff_t(drop));
  base_ += drop;
  std::erase_if(arrivals_, [&](const FrameArrival& a) { return a.sample_index < base_; });
}

std::size_t StreamReceiver::FirstKeptSample() const {
  std::lock_guard lock(mutex_);
  return base_;
}

void StreamReceiver::Conceal(int frames) {
  float pcm[kMaxDecoded];
  for (int i = 0; i < frames; ++i) {
    int n = decoder_->Decode(nullptr, 0, pcm, int(kMaxDecoded), frame_samples_);
    if (n <= 0) {  // cannot happen with a valid frame size; still never leave a hole
      n = frame_samples_;
      std::fill(pcm, pcm + n, 0.0f);
    }
    if (protect_.load(std::memory_order_relaxed)) Limit(pcm, n, false);
    {
      std::lock_guard lock(mutex_);
      samples_.insert(samples_.end(), pcm, pcm + n);
      Trim();
    }
    Deliver(pcm, std::size_t(n));
  }
  changed_cv_.notify_all();
}

std::vector<float> StreamReceiver::Samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::vector<float> StreamReceiver::Samples(std::size_t from, std::size_t count) const {
  std::lock_guard lock(mutex_);
  if (from < base_) {  // dropped by the history limit: what is left of the span
    count -= std::min(count, base_ - from);
    from = base_;
  }
  from = std::min(from - base_, samples_.size());
  count = std::min(count, samples_.size() - from);
  return {samples_.begin() + std::ptrdiff_t(from), samples_.begin() + std::ptrdiff_t(from + count)};
}

std::size_t StreamReceiver::SampleCount() const {
  std::lock_guard lock(mutex_);
  return base_ + samples_.size();
}

std::vector<StreamReceiver::FrameArrival> StreamReceiver::Arrivals() const {
  std::lock_guard lock(mutex_);
  return arrivals_;
}

StreamReceiver::Stats StreamReceiver::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool StreamReceiver::WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_cv_.wait_for(lock, timeout, [&] { return base_ + samples_.size() >= n || stop_.load(); });
  return base_ + samples_.size() >= n;
}

bool StreamReceiver::WaitForStats(const std::function<bool(const Stats&)>& predicate,
                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_cv_.wait_for(lock, timeout, [&] { return predicate(stats_) || stop_.load(); });
  return predicate(stats_);
}

void StreamReceiver::Stop() {
  std::lock_guard control(control_mutex_);
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  {
    // Wake WaitFor*() callers; taking the lock orders this after their predicate check.
    std::lock_guard lock(mutex_);
  }
  changed_cv_.notify_all();
}

}  // namespace tilmash::client
