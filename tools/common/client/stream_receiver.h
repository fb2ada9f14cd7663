// Receives one RTP/Opus stream (SRTP or plain) on its own UDP socket, decrypts, decodes and keeps
// every sample and arrival time for measurement. The socket is bound first, so its port can go
// into a request (JoinConsole's return_endpoint, Subscribe's endpoint); the keys from the answer
// are attached afterwards. Datagrams that arrive between Bind() and Attach() wait in the socket
// buffer (1 MiB) and are decoded once the keys are there.
// Used by ListenerClient, by tilmash-booth for the return feed and in-process by the e2e tests.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::audio {
class OpusDecoder;
}  // namespace tilmash::audio
namespace tilmash::rtp {
class SrtpReceiver;
}  // namespace tilmash::rtp

namespace tilmash::client {

class UdpSocket;

class StreamReceiver {
 public:
  using Clock = std::chrono::steady_clock;

  struct FrameArrival {
    Clock::time_point arrival;
    std::size_t sample_index;  // index in Samples() of the packet's first decoded sample
    uint16_t seq;
    uint32_t timestamp;
  };

  struct Stats {
    uint64_t packets = 0;        // authenticated packets of our SSRC, in order and decoded or not
    uint64_t lost = 0;           // sequence gaps
    uint64_t time_jumps = 0;     // frames missing by timestamp but not by sequence (concealed too)
    uint64_t auth_failures = 0;  // SRTP authentication / replay failures
    uint64_t malformed = 0;      // not RTP
    uint64_t wrong_ssrc = 0;
    uint64_t decode_errors = 0;
    uint64_t late = 0;         // arrived after a later packet (already concealed; dropped)
    uint64_t key_changes = 0;  // the sender moved to an announced key
    uint32_t key_id = 0;       // the key of the last good packet
    double max_interarrival_ms = 0;
    double mean_interarrival_ms = 0;
  };

  // Binds a UDP socket on host (a literal such as "127.0.0.1" or "::1": its text is what a
  // request's endpoint should carry), port 0. Nothing is read until Attach().
  static std::unique_ptr<StreamReceiver> Bind(const std::string& host, std::string* error);
  // A member of a venue multicast group: joins `group` on the interface with address `interface`.
  static std::unique_ptr<StreamReceiver> JoinGroup(const std::string& group, uint16_t port,
                                                   const std::string& interface, std::string* error);
  ~StreamReceiver();  // Stop()
  StreamReceiver(const StreamReceiver&) = delete;
  StreamReceiver& operator=(const StreamReceiver&) = delete;

  uint16_t local_port() const;
  std::string local_host() const;  // the bound address as text, e.g. "127.0.0.1"

  // Starts receiving the stream `ssrc` (0: any SSRC) keyed by `srtp`: an empty master_key means
  // plain RTP; CRYPTO_SUITE_UNSPECIFIED means AES_CM_128_HMAC_SHA1_80. `frame_ms` is the frame
  // length assumed for concealment before the first packet is decoded. Once only; false with
  // `error` on a bad key, a second call or after Stop().
  // frame_us: the stream's packet duration (2500 in a 2.5 ms low-delay session).
  bool Attach(uint32_t ssrc, const v1::SrtpKeying& srtp, std::string* error, int frame_us = 10000);
  bool attached() const { return attached_.load(); }
  // A key the sender will move to (KeyUpdate from WatchKeys): same suite and SSRC. Any thread;
  // packets that fail with the current key are tried with it. False for a bad key.
  bool AnnounceKey(uint32_t key_id, const v1::SrtpKeying& srtp);

  // Decoded 48 kHz mono; lost packets are concealed (PLC) so index / 48 is time since the first packet.
  // A timestamp jump without a sequence gap is concealed as lost frames. Never above -1 dBFS;
  // after a discontinuity concealment cannot bridge, the next frame fades in over 2.5 ms.
  std::vector<float> Samples() const;
  // Off: samples exactly as decoded, over -1 dBFS too and without fade-ins (tests measuring
  // what the server sent). On by default.
  void SetHearingProtection(bool on) { protect_.store(on, std::memory_order_relaxed); }
  // Called on the receive thread with every decoded or concealed block, in timeline order, as
  // Samples() gets it: a player (tilmash-listen --play, tilmash-booth --device). Before Attach().
  void SetPcmSink(std::function<void(const float*, std::size_t)> sink) { pcm_sink_ = std::move(sink); }
  // Keeps about the newest `samples` only (0, the default: everything), for a listener that runs
  // for hours; SampleCount(), sample indices and Samples(from, count) still count from the first
  // packet. Before Attach().
  void SetHistoryLimit(std::size_t samples) { history_limit_ = samples; }
  // The index of Samples()' first sample (0 unless a history limit dropped older ones).
  std::size_t FirstKeptSample() const;
  std::vector<float> Samples(std::size_t from, std::size_t count) const;
  std::size_t SampleCount() const;
  std::vector<FrameArrival> Arrivals() const;
  Stats stats() const;

  // Waits until at least `n` samples have been decoded; returns at once after Stop() (true only if
  // there already are `n`), false on timeout.
  bool WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until `predicate(stats())` holds (e.g. auth_failures >= 1); same rules as WaitForSamples.
  bool WaitForStats(const std::function<bool(const Stats&)>& predicate, std::chrono::milliseconds timeout) const;

  // Stops the receive thread (within 50 ms) and wakes every waiter. Idempotent, any thread.
  void Stop();

 private:
  StreamReceiver() = default;
  void Receive();
  void HandleDatagram(uint8_t* data, std::size_t size, Clock::time_point arrival);
  void DecodeInto(const uint8_t* payload, int size, const FrameArrival& arrival);
  void Conceal(int frames);
  void Count(uint64_t Stats::*field);
  void Trim();  // under mutex_
  void Deliver(const float* pcm, std::size_t n) {
    if (pcm_sink_) pcm_sink_(pcm, n);
  }

  std::unique_ptr<UdpSocket> socket_;
  std::unique_ptr<audio::OpusDecoder> decoder_;
  std::thread thread_;
  std::atomic<bool> attached_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> protect_{true};
  std::mutex control_mutex_;  // orders Attach() and Stop()

  // Set by Attach() before the thread starts; then receive-thread state.
  uint32_t ssrc_ = 0;
  std::unique_ptr<rtp::SrtpReceiver> srtp_;
  std::size_t tag_size_ = 0;
  // Keys announced by other threads, handed to srtp_ by the receive thread.
  std::mutex announce_mutex_;
  std::vector<std::pair<uint32_t, v1::SrtpKeying>> announced_;
  std::atomic<bool> has_announced_{false};
  std::optional<uint16_t> expected_seq_;
  std::optional<uint32_t> expected_ts_;  // where the last decoded frame ended
  bool discontinuity_ = false;           // the next decoded frame fades in
  int frame_samples_ = 480;
  std::optional<Clock::time_point> last_arrival_;
  double interarrival_sum_ms_ = 0;
  uint64_t interarrival_count_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_cv_;
  std::vector<float> samples_;
  std::size_t base_ = 0;  // samples dropped from the front of samples_ (history limit)
  std::size_t history_limit_ = 0;
  std::function<void(const float*, std::size_t)> pcm_sink_;
  std::vector<FrameArrival> arrivals_;
  Stats stats_;
};

}  // namespace tilmash::client
