#include "rtp/srtp_receiver.h"

#include <cstring>

#include "rtp/rtp_packet.h"

namespace tilmash::rtp {

bool SrtpReceiver::Announce(uint32_t key_id, SrtpSuite suite, const std::vector<uint8_t>& master_key) {
  if (master_key.size() != MasterKeyLength(suite)) return false;
  if (next_.size() >= 4) next_.pop_front();  // announced long ago and never used: superseded
  next_.push_back(Next{key_id, suite, master_key});
  return true;
}

uint32_t SrtpReceiver::RocFor(uint16_t seq) const {
  if (!have_last_) return 0;
  // RFC 3711 3.3.1: the index closest to the last one.
  if (last_seq_ >= 0x8000 && seq < last_seq_ - 0x8000) return last_roc_ + 1;
  if (last_seq_ < 0x8000 && seq > last_seq_ + 0x8000 && last_roc_ > 0) return last_roc_ - 1;
  return last_roc_;
}

int SrtpReceiver::Unprotect(uint8_t* buf, std::size_t len) {
  if (len < kMinHeader) return -1;
  const uint16_t seq = ReadU16(buf + 2);
  const bool have_next = !next_.empty();
  if (have_next) copy_.assign(buf, buf + len);  // a failed AEAD check may have written into buf
  int n = current_->Unprotect(buf, len);
  if (n < 0 && have_next) {
    const uint32_t roc = RocFor(seq);
    for (std::size_t i = 0; i < next_.size(); ++i) {
      auto ctx =
          SrtpContext::Create(SrtpContext::Direction::kUnprotect, next_[i].suite, next_[i].master_key, ssrc_, roc);
      if (!ctx) continue;
      std::memcpy(buf, copy_.data(), len);
      n = ctx->Unprotect(buf, len);
      if (n < 0) continue;
      current_ = std::move(ctx);
      key_id_ = next_[i].key_id;
      ++key_changes_;
      next_.erase(next_.begin(), next_.begin() + std::ptrdiff_t(i) + 1);
      break;
    }
    if (n < 0) std::memcpy(buf, copy_.data(), len);
  }
  if (n >= 0) {
    last_roc_ = current_->Roc(ssrc_).value_or(RocFor(seq));
    last_seq_ = seq;
    have_last_ = true;
  }
  return n;
}

}  // namespace tilmash::rtp
