// A listener stream of the fan-out, as every kind of media session hands it to the domain: its
// send info, keys, rollover counter and alerts are the fan-out listener's; how it switches
// channels and balances is the kind's (a session's pipeline routes it, an edge's mirror
// switches it straight to a channel key).
#pragma once
#include <memory>
#include <string>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"

namespace tilmash::graph {

inline constexpr uint8_t kListenerPayloadType = 111;

// The fan-out listener a ListenerStreamSpec asks for, and what its packets are (SendInfo).
struct FanoutListener {
  std::unique_ptr<fanout::ListenerHandle> handle;
  domain::SendInfo send;
};
domain::Result<FanoutListener> AddFanoutListener(fanout::FanoutEngine& fanout, const domain::ListenerStreamSpec& spec,
                                                 int frame_us);

class FanoutListenerStream : public domain::ListenerStream {
 public:
  FanoutListenerStream(std::unique_ptr<fanout::ListenerHandle> fanout, domain::SendInfo send)
      : fanout_(std::move(fanout)), send_(std::move(send)) {}
  domain::SendInfo send() const override { return send_; }
  domain::Status Rekey(const domain::SrtpKeying& key, std::chrono::milliseconds after) override {
    std::string error;
    if (!fanout_->Rekey(key.master_key, after, &error)) return domain::Internal("listener SRTP: " + error);
    return domain::Status::Ok();
  }
  uint32_t Roc() const override { return uint32_t(fanout_->Counts().next_index >> 16); }
  domain::StreamAlerts TakeAlerts() override {
    return {fanout_->TakeUnreachable(), fanout_->TakeKeyLimit(), fanout_->TakeDropped()};
  }

 protected:
  std::unique_ptr<fanout::ListenerHandle> fanout_;  // a kind may stop it early (reset) in its destructor

 private:
  const domain::SendInfo send_;
};

}  // namespace tilmash::graph
