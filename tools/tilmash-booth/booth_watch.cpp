#include "booth_watch.h"

#include <grpcpp/grpcpp.h>

#include "client/connect.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::booth {

BoothWatch::BoothWatch(std::shared_ptr<grpc::Channel> channel, std::string session_id, std::string booth,
                       Handler handler)
    : channel_(std::move(channel)),
      session_id_(std::move(session_id)),
      booth_(std::move(booth)),
      handler_(std::move(handler)),
      context_(std::make_unique<grpc::ClientContext>()) {
  thread_ = std::thread([this] { Run(); });
}

BoothWatch::~BoothWatch() { Stop(); }

void BoothWatch::Run() {
  auto stub = v1::BoothService::NewStub(channel_);
  v1::WatchBoothRequest request;
  request.set_session_id(session_id_);
  request.set_booth(booth_);
  auto reader = stub->WatchBooth(context_.get(), request);  // no deadline: until Stop()
  v1::BoothEvent event;
  while (reader->Read(&event)) handler_(event);
  const grpc::Status status = reader->Finish();
  if (!status.ok() && !stopping_.load()) {
    std::lock_guard lock(mutex_);
    error_ = client::StatusText(status);
  }
}

void BoothWatch::Stop() {
  if (stopping_.exchange(true)) return;
  context_->TryCancel();
  if (thread_.joinable()) thread_.join();
}

std::string BoothWatch::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace tilmash::booth
