// A server-streaming call fed by events (gRPC's callback API: a ServerWriteReactor), so an
// open stream costs no thread and no timer. Messages queued from any thread are written one
// at a time; Close() finishes the call once the queue is written; a client that leaves ends
// it. The stream keeps itself alive until gRPC is done with it (OnDone) and until whoever is
// delivering to it lets go of its shared_ptr.
#pragma once
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <mutex>
#include <vector>

#include "grpc/event_hub.h"

namespace tilmash::grpcapi {

template <class Msg>
class EventStream : public grpc::ServerWriteReactor<Msg>, public EventHub::Subscriber {
 public:
  // At most this many messages wait for a slow client; the oldest are dropped beyond it.
  static constexpr std::size_t kMaxQueued = 1024;

  // Queues `m`. With replace_last, a message still waiting of the same kind (replace_last's
  // caller decides: a booth's state) is replaced instead of queued behind.
  void Send(Msg m, bool replace_last = false) {
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      if (replace_last && last_replaceable_ && !queue_.empty()) {
        queue_.back() = std::move(m);
      } else {
        if (queue_.size() >= kMaxQueued) queue_.erase(queue_.begin());
        queue_.push_back(std::move(m));
      }
      last_replaceable_ = replace_last;
    }
    Pump();
  }
  // Finishes the call with `s` after the queued messages (the first Close wins).
  void Close(grpc::Status s) {
    {
      std::lock_guard lock(mu_);
      if (finishing_) return;
      finishing_ = true;
      status_ = std::move(s);
    }
    Pump();
  }
  void OnClose() override { Close(grpc::Status::OK); }

 protected:
  // Takes the first reference: the stream lives at least until OnDone.
  template <class Self>
  static Self* Start(std::shared_ptr<Self> self) {
    self->self_ = self;
    return self.get();
  }
  // Once, after gRPC is done with the call: unsubscribe, release what the stream held.
  virtual void OnFinished() {}

 private:
  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      if (!ok && !finishing_) {  // the client is gone
        finishing_ = true;
        status_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client left");
        queue_.clear();
      }
    }
    Pump();
  }
  void OnCancel() override {
    {
      std::lock_guard lock(mu_);
      queue_.clear();
      if (!finishing_) {
        finishing_ = true;
        status_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
    }
    Pump();
  }
  void OnDone() override {
    OnFinished();
    std::shared_ptr<EventStream> last;
    {
      std::lock_guard lock(mu_);
      last = std::move(self_);
    }
  }
  // Starts the next write, or the finish once nothing is left; outside the lock (a reaction
  // may run on this thread).
  void Pump() {
    enum { kNothing, kWrite, kFinish } next = kNothing;
    {
      std::lock_guard lock(mu_);
      if (writing_ || finished_) return;
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.erase(queue_.begin());
        if (queue_.empty()) last_replaceable_ = false;
        writing_ = true;
        next = kWrite;
      } else if (finishing_) {
        finished_ = true;
        next = kFinish;
      }
    }
    if (next == kWrite) this->StartWrite(&current_);
    if (next == kFinish) this->Finish(status_);
  }

  std::mutex mu_;
  // Usually empty or one message: a vector costs nothing until used (a deque allocates at once).
  std::vector<Msg> queue_;
  Msg current_;  // the message being written (only its writer touches it)
  bool writing_ = false, finishing_ = false, finished_ = false, last_replaceable_ = false;
  grpc::Status status_;
  std::shared_ptr<EventStream> self_;
};

}  // namespace tilmash::grpcapi
