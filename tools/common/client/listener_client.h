// The real test listener: subscribes over gRPC, receives SRTP on its own UDP socket, decrypts
// with the returned key, decodes Opus and keeps every sample and arrival time for measurement.
// Used by tilmash-listen and in-process by the end-to-end tests.
#pragma once
#include <grpcpp/support/status.h>

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

namespace grpc {
class Channel;
}  // namespace grpc

namespace tilmash::audio {
class OpusDecoder;
}  // namespace tilmash::audio
namespace tilmash::rtp {
class SrtpContext;
}  // namespace tilmash::rtp

namespace tilmash::client {

class UdpSocket;

class ListenerClient {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string server = "127.0.0.1:7300";
    std::string session_id;
    std::string channel;
    std::string bind_host = "127.0.0.1";
    tilmash::v1::CryptoSuite suite = tilmash::v1::AES_CM_128_HMAC_SHA1_80;
    // Decrypt with this key instead of the returned one (wrong-key tests).
    std::optional<std::vector<uint8_t>> key_override;
    // Reuse an existing channel (in-process tests); when null one is created from `server`.
    std::shared_ptr<grpc::Channel> grpc_channel;
  };

  struct FrameArrival {
    Clock::time_point arrival;
    std::size_t sample_index;  // index in Samples() of the packet's first decoded sample
    uint16_t seq;
    uint32_t timestamp;
  };

  struct Stats {
    uint64_t packets = 0;        // authenticated packets of our SSRC, in order and decoded or not
    uint64_t lost = 0;           // sequence gaps
    uint64_t auth_failures = 0;  // SRTP authentication / replay failures
    uint64_t malformed = 0;      // not RTP
    uint64_t wrong_ssrc = 0;
    uint64_t decode_errors = 0;
    uint64_t late = 0;  // arrived after a later packet (already concealed; dropped)
    double max_interarrival_ms = 0;
    double mean_interarrival_ms = 0;
  };

  // Binds a UDP socket on bind_host port 0, subscribes, and starts receiving.
  // Returns null with `error` set (gRPC status text or socket/SRTP error) on failure.
  static std::unique_ptr<ListenerClient> Start(const Options& options, std::string* error);
  ~ListenerClient();  // Stop(true)
  ListenerClient(const ListenerClient&) = delete;
  ListenerClient& operator=(const ListenerClient&) = delete;

  const v1::SubscribeResponse& subscription() const { return subscription_; }
  const std::string& listener_id() const { return subscription_.listener_id(); }
  // The channel last asked for (Start or a successful SwitchChannel).
  std::string channel() const;
  uint16_t local_port() const;

  // Decoded 48 kHz mono; lost packets are concealed (PLC) so index / 48 is time since the first packet.
  std::vector<float> Samples() const;
  std::vector<float> Samples(std::size_t from, std::size_t count) const;
  std::size_t SampleCount() const;
  std::vector<FrameArrival> Arrivals() const;
  Stats stats() const;

  // Waits until at least `n` samples have been decoded; false on timeout or after Stop().
  bool WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until `predicate(stats())` holds (e.g. auth_failures >= 1); false on timeout or after Stop().
  bool WaitForStats(const std::function<bool(const Stats&)>& predicate, std::chrono::milliseconds timeout) const;

  // ListenerService.SwitchChannel. The SSRC, key and sequence space are assumed to stay the same.
  grpc::Status SwitchChannel(const std::string& channel);
  // Stops the receive thread (within 50 ms) and, if asked, unsubscribes. The first call decides:
  // after Stop(false) neither later calls nor the destructor unsubscribe (a vanished listener).
  void Stop(bool unsubscribe = true);

 private:
  explicit ListenerClient(Options options);
  void Receive();
  void HandleDatagram(uint8_t* data, std::size_t size, Clock::time_point arrival);
  void DecodeInto(const uint8_t* payload, int size, const FrameArrival& arrival);
  void Conceal(int frames);

  Options options_;
  std::shared_ptr<grpc::Channel> grpc_channel_;
  v1::SubscribeResponse subscription_;
  std::unique_ptr<UdpSocket> socket_;
  std::unique_ptr<rtp::SrtpContext> srtp_;  // receive thread only
  std::unique_ptr<audio::OpusDecoder> decoder_;
  std::size_t tag_size_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool stopped_ = false;  // guarded by stop_mutex_
  std::mutex stop_mutex_;

  // Receive-thread state.
  std::optional<uint16_t> expected_seq_;
  int frame_samples_ = 480;
  std::optional<Clock::time_point> last_arrival_;
  double interarrival_sum_ms_ = 0;
  uint64_t interarrival_count_ = 0;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_cv_;
  std::string channel_;
  std::vector<float> samples_;
  std::vector<FrameArrival> arrivals_;
  Stats stats_;
};

}  // namespace tilmash::client
