// BoothService.WatchBooth on its own thread: what the console's desk shows (its state, messages
// to the booth, handover requests), handed to a callback as each event arrives.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tilmash/v1/tilmash.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace tilmash::booth {

class BoothWatch {
 public:
  // Runs on the watch thread, one event at a time.
  using Handler = std::function<void(const v1::BoothEvent&)>;

  BoothWatch(std::shared_ptr<grpc::Channel> channel, std::string session_id, std::string booth, Handler handler);
  ~BoothWatch();  // Stop()
  BoothWatch(const BoothWatch&) = delete;
  BoothWatch& operator=(const BoothWatch&) = delete;

  // Cancels the stream and joins the thread. Idempotent.
  void Stop();
  // After Stop() or the end of the stream: "" when it ended normally or was cancelled by Stop(),
  // else the status text (e.g. "UNIMPLEMENTED: ...").
  std::string error() const;

 private:
  void Run();

  std::shared_ptr<grpc::Channel> channel_;
  std::string session_id_, booth_;
  Handler handler_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string error_;
};

}  // namespace tilmash::booth
