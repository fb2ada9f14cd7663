#include "client/rtp_sender.h"

#include <algorithm>
#include <utility>

#include "audio/audio.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"

namespace tilmash::client {

namespace {
constexpr std::size_t kPacketCapacity = 1500;
// libsrtp insists on room for its largest trailer (tag + MKI) whatever the suite.
constexpr std::size_t kSrtpTrailerRoom = 144;
constexpr std::size_t kSequenceSpace = 65536;
// After a stall this long (suspended process, overloaded CI) re-anchor the clock instead of
// bursting every missed frame at once.
constexpr auto kMaxCatchUp = std::chrono::milliseconds(100);
}  // namespace

RtpSender::RtpSender(Options options) : options_(std::move(options)) {}

RtpSender::~RtpSender() { Stop(); }

void RtpSender::SetTone(double frequency_hz, double level_dbfs) {
  std::lock_guard lock(source_mutex_);
  source_ = SourceKind::kTone;
  tone_ = std::make_unique<audio::ToneGenerator>(frequency_hz, level_dbfs);
  source_changed_ = true;
}

void RtpSender::SetSamples(std::vector<float> pcm48k, bool loop) {
  std::lock_guard lock(source_mutex_);
  source_ = SourceKind::kSamples;
  samples_ = std::move(pcm48k);
  sample_pos_ = 0;
  loop_ = loop;
  source_changed_ = true;
}

void RtpSender::SetLive(std::function<void(float*, std::size_t)> read) {
  std::lock_guard lock(source_mutex_);
  source_ = SourceKind::kLive;
  live_ = std::move(read);
  source_changed_ = true;
}

void RtpSender::SetSilence() {
  std::lock_guard lock(source_mutex_);
  source_ = SourceKind::kSilence;
  source_changed_ = true;
}

bool RtpSender::FillFrame(std::span<float> frame) {
  std::lock_guard lock(source_mutex_);
  const bool changed = std::exchange(source_changed_, false);
  std::fill(frame.begin(), frame.end(), 0.0f);
  switch (source_) {
    case SourceKind::kSilence:
      break;
    case SourceKind::kTone:
      tone_->Fill(frame);
      break;
    case SourceKind::kSamples:
      for (float& s : frame) {
        if (sample_pos_ >= samples_.size()) {
          if (!loop_ || samples_.empty()) break;
          sample_pos_ = 0;
        }
        s = samples_[sample_pos_++];
      }
      break;
    case SourceKind::kLive:
      live_(frame.data(), frame.size());
      break;
  }
  return changed;
}

bool RtpSender::Start(std::string* error) {
  if (running_.load()) return true;
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (options_.host.empty() || options_.port == 0) return fail("RTP destination host/port not set");
  const int f = options_.frame_ms;
  if (f != 5 && f != 10 && f != 20 && f != 40 && f != 60) return fail("frame_ms must be 5, 10, 20, 40 or 60");
  frame_samples_ = audio::kRate / 1000 * f;

  std::string why;
  auto destination = ResolveUdp(options_.host, options_.port, &why);
  if (!destination) return fail(why);
  destination_ = std::make_unique<SocketAddress>(*destination);
  socket_ = UdpSocket::BindFor(*destination_, &why);
  if (!socket_) return fail(why);
  if (options_.suite) {
    srtp_ = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, *options_.suite, options_.master_key,
                                     options_.ssrc, 0, &why);
    if (!srtp_) return fail("SRTP: " + why);
  }
  encoder_ = audio::OpusEncoder::Create(options_.bitrate, &why);
  if (!encoder_) return fail(why);

  first_sequence_ = options_.initial_sequence.value_or(uint16_t(rtp::RandomU32()));
  first_timestamp_ = options_.initial_timestamp.value_or(rtp::RandomU32());
  {
    std::lock_guard lock(stats_mutex_);
    send_times_.assign(kSequenceSpace, Clock::time_point{});
    send_time_valid_.assign(kSequenceSpace, false);
  }
  {
    // The first packet always counts as a source change (latency tests start from it).
    std::lock_guard lock(source_mutex_);
    source_changed_ = true;
  }
  stop_.store(false);
  running_.store(true);
  thread_ = std::thread([this] { Run(); });
  return true;
}

void RtpSender::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  running_.store(false);
}

void RtpSender::Run() {
  const auto frame_duration = std::chrono::milliseconds(options_.frame_ms);
  std::vector<float> pcm(static_cast<std::size_t>(frame_samples_));
  uint8_t packet[kPacketCapacity];
  uint16_t sequence = first_sequence_;
  uint32_t timestamp = first_timestamp_;
  bool first = true;
  auto deadline = Clock::now();
  // Every frame advances the stream, sent or not (`continue` included).
  for (; !stop_.load(); first = false, ++sequence, timestamp += uint32_t(frame_samples_), deadline += frame_duration) {
    std::this_thread::sleep_until(deadline);
    if (stop_.load()) break;
    const auto lateness = Clock::now() - deadline;
    if (lateness > kMaxCatchUp) {
      const auto skipped = lateness / frame_duration;
      timestamp += uint32_t(skipped * frame_samples_);
      deadline += skipped * frame_duration;
    }
    const bool source_changed = FillFrame(pcm);
    if (link_down_.load()) continue;  // lost on the way: numbered, never sent
    const int payload =
        encoder_->Encode(pcm, packet + rtp::kMinHeader, int(kPacketCapacity - rtp::kMinHeader - kSrtpTrailerRoom));
    bool ok = payload > 0;
    int length = 0;
    Clock::time_point sent;
    if (ok) {
      rtp::WriteHeader(packet, options_.payload_type, first, sequence, timestamp, options_.ssrc);
      length = int(rtp::kMinHeader) + payload;
      if (srtp_) length = srtp_->Protect(packet, std::size_t(length), kPacketCapacity);
      // Taken just before sendto: a loopback receiver can see the packet before sendto returns.
      sent = Clock::now();
      ok = length > 0 && socket_->SendTo(*destination_, {packet, std::size_t(length)});
    }
    {
      std::lock_guard lock(stats_mutex_);
      if (ok) {
        ++stats_.packets_sent;
        send_times_[sequence] = sent;
        send_time_valid_[sequence] = true;
        if (source_changed) last_source_change_ = SourceChange{sequence, timestamp, sent};
      } else {
        ++stats_.send_errors;
      }
      if (lateness > frame_duration) ++stats_.late_frames;
    }
  }
}

bool RtpSender::SendRaw(std::span<const uint8_t> bytes) {
  if (!socket_ || !destination_) return false;
  return socket_->SendTo(*destination_, bytes);
}

RtpSender::Stats RtpSender::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

std::optional<RtpSender::Clock::time_point> RtpSender::SendTime(uint16_t sequence) const {
  std::lock_guard lock(stats_mutex_);
  if (send_time_valid_.empty() || !send_time_valid_[sequence]) return std::nullopt;
  return send_times_[sequence];
}

std::optional<RtpSender::SourceChange> RtpSender::LastSourceChange() const {
  std::lock_guard lock(stats_mutex_);
  return last_source_change_;
}

uint16_t RtpSender::local_port() const { return socket_ ? socket_->local_port() : 0; }

}  // namespace tilmash::client
