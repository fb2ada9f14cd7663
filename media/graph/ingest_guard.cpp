#include "graph/ingest_guard.h"

#include "rtp/rtp_packet.h"

namespace tilmash::graph {

IngestGuard::IngestGuard(std::string source, uint8_t payload_type, uint32_t expected_ssrc, rtp::SrtpContextPtr srtp,
                         uint32_t roc)
    : source_(std::move(source)),
      payload_type_(payload_type),
      ssrc_(expected_ssrc),
      srtp_(std::move(srtp)),
      roc_(roc) {}

void IngestGuard::Attach(GstPad* pad) {
  gulong id = gst_pad_add_probe(pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                                &IngestGuard::OnBuffer, this, nullptr);
  probe_ = gst::PadProbe(pad, id);
}

GstPadProbeReturn IngestGuard::OnBuffer(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<IngestGuard*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList* list = gst_buffer_list_make_writable(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
    for (guint i = 0; i < gst_buffer_list_length(list);) {
      GstBuffer* b = gst_buffer_ref(gst_buffer_list_get(list, i));
      if (self->Check(&b)) {
        gst_buffer_list_remove(list, i, 1);
        gst_buffer_list_insert(list, gint(i), b);
        ++i;
      } else {
        gst_buffer_unref(b);
        gst_buffer_list_remove(list, i, 1);
      }
    }
    GST_PAD_PROBE_INFO_DATA(info) = list;
    return gst_buffer_list_length(list) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!self->Check(&buffer)) return GST_PAD_PROBE_DROP;  // drop unrefs the original
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  return GST_PAD_PROBE_OK;
}

bool IngestGuard::Check(GstBuffer** buffer) {
  const gsize size = gst_buffer_get_size(*buffer);
  const std::size_t tag = srtp_ ? rtp::TagLength(srtp_->suite()) : 0;
  if (size > rtp::kMaxPacket) {
    counters_.oversized.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint8_t head[rtp::kMaxPacket];
  gst_buffer_extract(*buffer, 0, head, size);
  auto parsed = rtp::ParseRtp(head, size, tag);
  if (!parsed.ok()) {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (parsed.header->payload_type != payload_type_) {
    counters_.wrong_payload_type.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (ssrc_ != 0 && parsed.header->ssrc != ssrc_) {
    counters_.unknown_ssrc.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (srtp_) {
    // Decrypt a copy: a packet that fails authentication must not touch the original.
    int plain = srtp_->Unprotect(head, size);
    if (plain < 0) {
      counters_.srtp_auth.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Padding is encrypted: check the whole packet again now that it is plain.
    if (!rtp::ParseRtp(head, std::size_t(plain)).ok()) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    *buffer = gst_buffer_make_writable(*buffer);
    gst_buffer_fill(*buffer, 0, head, gsize(plain));
    gst_buffer_set_size(*buffer, gssize(plain));
  }
  if (ssrc_ == 0) ssrc_ = parsed.header->ssrc;  // latch on the first valid packet
  // The sequence wrapped (a step back by more than half its range is a step forward): the ROC
  // moves on, as libsrtp's own estimate does.
  const uint16_t seq = parsed.header->sequence;
  if (seen_ && seq < last_seq_ && last_seq_ - seq > 0x8000) roc_.fetch_add(1, std::memory_order_relaxed);
  Account(seq, parsed.header->timestamp);
  if (!seen_ || int16_t(seq - last_seq_) > 0) last_seq_ = seq;
  seen_ = true;
  counters_.accepted.fetch_add(1, std::memory_order_relaxed);
  last_accepted_us_.store(g_get_monotonic_time(), std::memory_order_relaxed);
  return true;
}

void IngestGuard::Account(uint16_t seq, uint32_t timestamp) {
  constexpr int64_t kClock = 48000;  // every ingest is 48 kHz (Opus, L16/L24 from the desk)
  const int64_t arrival = g_get_monotonic_time() * kClock / 1000000;
  if (!seen_) {
    base_ext_ = highest_ext_ = seq;
    last_transit_ = arrival - int64_t(timestamp);
  } else {
    // The extended sequence relative to the highest seen: a packet from before a wrap is late,
    // not 65,536 ahead.
    const int16_t ahead = int16_t(uint16_t(seq - uint16_t(highest_ext_)));
    if (ahead > 0)
      highest_ext_ += uint64_t(ahead);
    else
      counters_.late.fetch_add(1, std::memory_order_relaxed);
    // A.8: transit differences, with the 32-bit timestamp's wrap taken as a small step.
    const int64_t transit = arrival - int64_t(timestamp);
    int64_t d = int64_t(int32_t(uint32_t(transit - last_transit_)));
    last_transit_ = transit;
    if (d < 0) d = -d;
    jitter_ += (double(d) - jitter_) / 16.0;
    counters_.jitter_s.store(jitter_ / double(kClock), std::memory_order_relaxed);
  }
  ++received_;
  const uint64_t expected = highest_ext_ - base_ext_ + 1;
  counters_.lost.store(expected > received_ ? expected - received_ : 0, std::memory_order_relaxed);
}

}  // namespace tilmash::graph
