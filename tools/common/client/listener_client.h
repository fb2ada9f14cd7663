// The real test listener: subscribes over gRPC, receives SRTP on its own UDP socket, decrypts
// with the returned key, decodes Opus and keeps every sample and arrival time for measurement
// (the receiving half is a StreamReceiver).
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

#include "client/stream_receiver.h"
#include "tilmash/v1/tilmash.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace tilmash::client {

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
    // Join the channel's venue multicast group (on the interface with address bind_host)
    // instead of a stream of our own.
    bool multicast = false;
    // Hold ListenerService.WatchKeys open: follow key rotations and keep the lease alive.
    // false: a listener that goes silent (lease tests).
    bool watch_keys = true;
    // Original/interpretation balance (percent of interpretation), mixed by the daemon.
    std::optional<uint32_t> interpretation_percent;
    // Every decoded or concealed block, on the receive thread (StreamReceiver::SetPcmSink).
    std::function<void(const float*, std::size_t)> on_pcm;
    // Keep about this many of the newest samples only; 0: all (StreamReceiver::SetHistoryLimit).
    std::size_t history_samples = 0;
  };

  // The measurement types are the receiver's (ListenerClient is a subscription around one).
  using FrameArrival = StreamReceiver::FrameArrival;
  using Stats = StreamReceiver::Stats;

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
  // Never above -1 dBFS, unless SetHearingProtection(false) (see StreamReceiver).
  std::vector<float> Samples() const;
  void SetHearingProtection(bool on) { receiver_->SetHearingProtection(on); }
  std::vector<float> Samples(std::size_t from, std::size_t count) const;
  std::size_t SampleCount() const;
  std::size_t FirstKeptSample() const;  // Samples()' first index (see Options::history_samples)
  std::vector<FrameArrival> Arrivals() const;
  Stats stats() const;

  // Waits until at least `n` samples have been decoded; false on timeout or after Stop().
  bool WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const;
  // Waits until `predicate(stats())` holds (e.g. auth_failures >= 1); false on timeout or after Stop().
  bool WaitForStats(const std::function<bool(const Stats&)>& predicate, std::chrono::milliseconds timeout) const;

  // Why the server ended this listener (from WatchKeys: "lease expired", "token revoked", ...);
  // empty while it lives.
  std::string ended_reason() const;
  // KeyUpdates received on WatchKeys (the first, the current key, included).
  uint32_t key_updates() const { return key_updates_.load(); }

  // ListenerService.SwitchChannel. The SSRC, key and sequence space are assumed to stay the same.
  grpc::Status SwitchChannel(const std::string& channel);
  // Stops the receive thread (within 50 ms) and, if asked, unsubscribes. The first call decides:
  // after Stop(false) neither later calls nor the destructor unsubscribe (a vanished listener).
  void Stop(bool unsubscribe = true);

 private:
  explicit ListenerClient(Options options);
  void WatchKeys();  // key thread

  Options options_;
  std::shared_ptr<grpc::Channel> grpc_channel_;
  v1::SubscribeResponse subscription_;
  std::unique_ptr<StreamReceiver> receiver_;
  bool stopped_ = false;  // guarded by stop_mutex_
  std::mutex stop_mutex_;

  mutable std::mutex mutex_;
  std::string channel_;
  std::string ended_reason_;

  std::unique_ptr<grpc::ClientContext> keys_context_;  // cancelled by Stop()
  std::thread keys_thread_;
  std::atomic<uint32_t> key_updates_{0};
};

}  // namespace tilmash::client
