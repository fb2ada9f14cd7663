// A receiver that follows key rotation: the stream's current key plus the keys announced for
// it (KeyUpdate from the control plane) that the sender has not used yet. A packet that fails
// with the current key is tried, on a copy, with each announced key; the first that
// authenticates it becomes current and the older keys are retired. Only the failure path
// costs anything; a stream that is never re-keyed pays nothing.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "rtp/srtp_context.h"

namespace tilmash::rtp {

class SrtpReceiver {
 public:
  SrtpReceiver(SrtpContextPtr current, uint32_t ssrc, uint32_t key_id = 0)
      : current_(std::move(current)), ssrc_(ssrc), key_id_(key_id) {}

  // A key the sender will move to (same suite and SSRC). False for a bad key length.
  bool Announce(uint32_t key_id, SrtpSuite suite, const std::vector<uint8_t>& master_key);
  // In place. Returns the plain RTP length, or -1 when no known key authenticates the packet.
  int Unprotect(uint8_t* buf, std::size_t len);

  uint32_t key_id() const { return key_id_; }  // the key the last good packet used
  uint64_t key_changes() const { return key_changes_; }
  std::size_t announced() const { return next_.size(); }

 private:
  struct Next {
    uint32_t key_id;
    SrtpSuite suite;
    std::vector<uint8_t> master_key;
  };
  // The packet index's ROC as the sender has it, from the last good packet's and this one's sequence.
  uint32_t RocFor(uint16_t seq) const;

  SrtpContextPtr current_;
  uint32_t ssrc_;
  uint32_t key_id_;
  std::deque<Next> next_;
  uint64_t key_changes_ = 0;
  bool have_last_ = false;
  uint16_t last_seq_ = 0;
  uint32_t last_roc_ = 0;
  std::vector<uint8_t> copy_;
};

}  // namespace tilmash::rtp
