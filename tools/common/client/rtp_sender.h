// Sends RTP/Opus (optionally SRTP) to one UDP destination, paced on absolute 10 ms deadlines on
// its own thread - what a real console or sound desk does. The source (tone, samples, silence)
// can be switched live from any thread. Records the send time of every packet so tests can
// measure latency.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "rtp/srtp_context.h"

namespace tilmash::audio {
class OpusEncoder;
class ToneGenerator;
}  // namespace tilmash::audio

namespace tilmash::client {

class UdpSocket;
struct SocketAddress;

class RtpSender {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string host;
    uint16_t port = 0;
    uint32_t ssrc = 0;
    uint8_t payload_type = 96;
    std::optional<rtp::SrtpSuite> suite;  // unset: plain RTP
    std::vector<uint8_t> master_key;      // key||salt for `suite`
    int frame_ms = 10;                    // Opus frame: 5, 10, 20, 40 or 60
    int bitrate = 64000;
    // Unset: random, as RFC 3550 asks. Set them to test sequence wrap-around.
    std::optional<uint16_t> initial_sequence;
    std::optional<uint32_t> initial_timestamp;
  };

  struct Stats {
    uint64_t packets_sent = 0;
    uint64_t send_errors = 0;  // encode, protect or sendto failures
    uint64_t late_frames = 0;  // frames sent more than one frame after their deadline
  };

  // The first packet produced from the most recent SetTone/SetSamples/SetSilence.
  struct SourceChange {
    uint16_t sequence;
    uint32_t timestamp;
    Clock::time_point sent;
  };

  explicit RtpSender(Options options);
  ~RtpSender();  // Stop()s
  RtpSender(const RtpSender&) = delete;
  RtpSender& operator=(const RtpSender&) = delete;

  // Sources: each takes effect at the next frame. The default source is silence.
  void SetTone(double frequency_hz, double level_dbfs);
  // 48 kHz mono samples; without `loop`, silence follows the end.
  void SetSamples(std::vector<float> pcm48k, bool loop);
  // A live source (a microphone): `read` fills exactly n samples, on the pacing thread, every
  // frame; it must not block.
  void SetLive(std::function<void(float*, std::size_t)> read);
  void SetSilence();
  // A link that loses everything (true) or is whole again (false): while down, frames are made
  // and numbered but not sent, so the receiver sees a gap in sequence and time, as after a
  // network outage. Takes effect at the next frame.
  void SetLinkDown(bool down) { link_down_.store(down); }

  // Opens the socket and the SRTP context, then starts the pacing thread.
  bool Start(std::string* error = nullptr);
  // Joins the thread (returns within one frame). Idempotent.
  void Stop();
  bool running() const { return running_.load(); }

  // Sends `bytes` exactly as given from the same socket (malformed-input tests). Needs Start().
  bool SendRaw(std::span<const uint8_t> bytes);

  Stats stats() const;
  // When the packet with this sequence number was handed to sendto (the last 65,536 kept).
  std::optional<Clock::time_point> SendTime(uint16_t sequence) const;
  std::optional<SourceChange> LastSourceChange() const;
  // Sequence/timestamp of the first packet sent (valid after Start()).
  uint16_t first_sequence() const { return first_sequence_; }
  uint32_t first_timestamp() const { return first_timestamp_; }
  uint16_t local_port() const;
  const Options& options() const { return options_; }

 private:
  enum class SourceKind { kSilence, kTone, kSamples, kLive };
  void Run();
  // Fills one frame from the current source; true if the source changed since the last frame.
  bool FillFrame(std::span<float> frame);

  Options options_;
  int frame_samples_ = 480;
  uint16_t first_sequence_ = 0;
  uint32_t first_timestamp_ = 0;
  std::unique_ptr<UdpSocket> socket_;
  std::unique_ptr<SocketAddress> destination_;
  std::unique_ptr<rtp::SrtpContext> srtp_;  // only the pacing thread protects
  std::unique_ptr<audio::OpusEncoder> encoder_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> link_down_{false};

  mutable std::mutex source_mutex_;
  SourceKind source_ = SourceKind::kSilence;
  std::unique_ptr<audio::ToneGenerator> tone_;
  std::vector<float> samples_;
  std::size_t sample_pos_ = 0;
  std::function<void(float*, std::size_t)> live_;
  bool loop_ = false;
  bool source_changed_ = false;

  mutable std::mutex stats_mutex_;
  Stats stats_;
  std::vector<Clock::time_point> send_times_;  // indexed by sequence number
  std::vector<bool> send_time_valid_;
  std::optional<SourceChange> last_source_change_;
};

}  // namespace tilmash::client
