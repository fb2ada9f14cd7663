#define GST_USE_UNSTABLE_API
#include "graph/console_bridge.h"

#include <arpa/inet.h>
#include <gst/webrtc/webrtc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/graph_parts.h"
#include "graph/webrtc_signals.h"
#include "log/log.h"
#include "rtp/rtp_packet.h"

namespace tilmash::graph {

using domain::Status;

using webrtc::Log;

namespace {
constexpr int64_t kClockRate = 48000;
}  // namespace

// ---------------------------------------------------------------- ConsoleLink

std::unique_ptr<ConsoleLink> ConsoleLink::Create(fanout::PortAllocator& ports, std::string* error) {
  std::unique_ptr<ConsoleLink> link(new ConsoleLink());
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("cannot open a UDP socket: ") + std::strerror(errno);
    return nullptr;
  }
  in_addr loopback{htonl(INADDR_LOOPBACK)};
  link->return_port_ = ports.Bind(fd, loopback, 0, error);
  if (link->return_port_ == 0) {
    ::close(fd);
    return nullptr;
  }
  GError* err = nullptr;
  link->return_socket_ = gst::GObjectPtr<GSocket>::Adopt(g_socket_new_from_fd(fd, &err));
  if (!link->return_socket_) {
    *error = std::string("cannot wrap the return feed's socket: ") + (err ? err->message : "?");
    if (err) g_error_free(err);
    ::close(fd);
    return nullptr;
  }
  return link;
}

ConsoleLink::~ConsoleLink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (up_fd_ >= 0) ::close(up_fd_);
}

bool ConsoleLink::Attach(const std::string& ingest_host, uint16_t ingest_port, uint32_t ssrc, uint8_t payload_type,
                         const SrtpKey& ingest, uint32_t return_ssrc, const SrtpKey& back, std::string* error) {
  std::lock_guard lock(mu_);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(ingest_port);
  if (inet_pton(AF_INET, ingest_host.c_str(), &to.sin_addr) != 1) {
    *error = "the console's ingest host is not an IPv4 address: " + ingest_host;
    return false;
  }
  // The ingest listens on the media address; a wildcard means this host.
  if (to.sin_addr.s_addr == htonl(INADDR_ANY)) to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    *error = std::string("cannot reach the console's ingest: ") + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  auto up =
      rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kProtect, ingest.suite, ingest.master_key, ssrc, 0, error);
  auto down = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, back.suite, back.master_key,
                                       return_ssrc, 0, error);
  if (!up || !down) {
    ::close(fd);
    return false;
  }
  if (up_fd_ >= 0) ::close(up_fd_);
  up_fd_ = fd;
  up_srtp_ = std::move(up);
  down_srtp_ = std::make_unique<rtp::SrtpReceiver>(std::move(down), return_ssrc);
  ssrc_ = ssrc;
  payload_type_ = payload_type;
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  return true;
}

void ConsoleLink::Restart() {
  std::lock_guard lock(mu_);
  mapped_ = false;
}

void ConsoleLink::Forward(const uint8_t* data, std::size_t len) {
  auto parsed = rtp::ParseRtp(data, len);
  if (!parsed.ok() || len + rtp::TagLength(rtp::SrtpSuite::kAesCm128HmacSha1_80) + 16 > rtp::kMaxPacket) {
    counters_.up_bad.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const auto& h = *parsed.header;
  auto q = std::make_unique<Queued>();
  std::memcpy(q->data.data(), data, len);
  q->len = len;
  uint8_t* pkt = q->data.data();
  const int64_t now = g_get_monotonic_time();
  std::lock_guard lock(mu_);
  if (!up_srtp_) return;
  if (!mapped_ || h.ssrc != in_ssrc_) {
    // A new browser stream: it continues ours, one sequence number and the time elapsed on.
    const uint16_t next_seq = sent_ ? uint16_t(out_seq_ + 1) : uint16_t(rtp::RandomU32());
    const uint32_t next_ts =
        sent_ ? out_ts_ + uint32_t(std::max<int64_t>(1, (now - out_at_us_) * kClockRate / 1000000)) : rtp::RandomU32();
    seq_offset_ = uint16_t(next_seq - h.sequence);
    ts_offset_ = next_ts - h.timestamp;
    in_ssrc_ = h.ssrc;
    in_last_seq_ = uint16_t(h.sequence - 1);
    if (!sent_) {
      ext_seq_ = uint64_t(1) << 32 | next_seq;
      ext_ts_ = uint64_t(1) << 40 | next_ts;
    }
    min_transit_.fill(INT64_MAX);
    min_transit_since_us_ = now;
    stream_start_us_ = now;
    mapped_ = true;
  }
  const int16_t step = int16_t(uint16_t(h.sequence - in_last_seq_));
  if (step > 1) counters_.up_lost.fetch_add(uint64_t(step - 1), std::memory_order_relaxed);
  if (step > 0) in_last_seq_ = h.sequence;
  const uint16_t seq = uint16_t(h.sequence + seq_offset_);
  const uint32_t ts = h.timestamp + ts_offset_;
  // Extended (no wrap) from the latest mapped packet: a small step either way.
  const uint64_t ext_seq = ext_seq_ + uint64_t(int64_t(int16_t(uint16_t(seq - uint16_t(ext_seq_)))));
  const uint64_t ext_ts = ext_ts_ + uint64_t(int64_t(int32_t(ts - uint32_t(ext_ts_))));
  if (ext_seq > ext_seq_) {
    ext_seq_ = ext_seq;
    ext_ts_ = ext_ts;
  }
  rtp::SetSsrc(pkt, ssrc_);
  rtp::SetPayloadType(pkt, payload_type_);
  rtp::SetSequence(pkt, seq);
  rtp::SetTimestamp(pkt, ts);
  if (!sent_ || int16_t(uint16_t(seq - out_seq_)) > 0) {
    out_seq_ = seq;
    out_ts_ = ts;
    out_at_us_ = now;
  }
  sent_ = true;
  last_up_us_.store(now, std::memory_order_relaxed);
  if (released_ && ext_seq <= released_seq_) {
    counters_.up_late.fetch_add(1, std::memory_order_relaxed);  // its turn has passed
    return;
  }
  // The schedule: RTP time + the fastest recent transit + the playout delay.
  const int64_t rtp_us = int64_t(ext_ts * 1000000 / uint64_t(kClockRate));
  const int64_t transit = now - rtp_us;
  if (now - min_transit_since_us_ > 500000) {
    min_slot_ = (min_slot_ + 1) % int(min_transit_.size());
    min_transit_[std::size_t(min_slot_)] = INT64_MAX;
    min_transit_since_us_ = now;
  }
  auto& slot = min_transit_[std::size_t(min_slot_)];
  slot = std::min(slot, transit);
  transits_.emplace_back(now, transit);
  while (!transits_.empty() && now - transits_.front().first > 2000000) transits_.pop_front();
  const int64_t fastest = *std::min_element(min_transit_.begin(), min_transit_.end());
  q->due_us = rtp_us + fastest + playout_delay_us_.load(std::memory_order_relaxed);
  queue_[ext_seq] = std::move(q);
  cv_.notify_one();
}

int ConsoleLink::Adapt(int min_ms, int max_ms, int margin_ms) {
  std::vector<int64_t> late;
  int64_t delay_us = 0;
  bool settling = false;
  {
    std::lock_guard lock(mu_);
    delay_us = playout_delay_us_.load();
    settling = g_get_monotonic_time() - stream_start_us_ < 3000000;
    if (transits_.size() < 20) return int(delay_us / 1000);
    const int64_t fastest = std::min_element(transits_.begin(), transits_.end(), [](auto& a, auto& b) {
                              return a.second < b.second;
                            })->second;
    late.reserve(transits_.size());
    for (const auto& t : transits_) late.push_back(t.second - fastest);
  }
  const std::size_t k = std::min(late.size() - 1, late.size() * 99 / 100);
  std::nth_element(late.begin(), late.begin() + std::ptrdiff_t(k), late.end());
  spread_us_ = late[k];
  const int64_t target =
      std::clamp<int64_t>(late[k] + int64_t(margin_ms) * 1000, int64_t(min_ms) * 1000, int64_t(max_ms) * 1000);
  if (target > delay_us) {
    // The first seconds of a connection (a page joins before its interpreter speaks) take the
    // step at once; later, 5 ms a step: each step is a hole of its size in the voice.
    delay_us = settling ? target : std::min(target, delay_us + 5000);
    calm_ = 0;
  } else if (target + 20000 < delay_us) {
    if (++calm_ >= 20) delay_us -= 1000;  // after five calm seconds, 1 ms a step: a skip nobody hears
  } else {
    calm_ = 0;
  }
  playout_delay_us_.store(delay_us);
  return int(delay_us / 1000);
}

void ConsoleLink::SetPlayoutDelay(int ms) { playout_delay_us_.store(int64_t(ms) * 1000, std::memory_order_relaxed); }

void ConsoleLink::Send(Queued& q) {
  const int n = up_srtp_->Protect(q.data.data(), q.len, q.data.size());
  if (n < 0 || ::send(up_fd_, q.data.data(), std::size_t(n), MSG_DONTWAIT) < 0) {
    counters_.up_bad.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters_.up.fetch_add(1, std::memory_order_relaxed);
}

void ConsoleLink::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    const int64_t now = g_get_monotonic_time();
    if (first->second->due_us > now) {
      cv_.wait_for(lock, std::chrono::microseconds(std::min<int64_t>(first->second->due_us - now, 100000)));
      continue;
    }
    std::unique_ptr<Queued> q = std::move(first->second);
    released_seq_ = first->first;
    released_ = true;
    queue_.erase(first);
    Send(*q);
  }
}

int ConsoleLink::Unprotect(uint8_t* buf, std::size_t len, uint8_t payload_type) {
  std::lock_guard lock(mu_);
  const int n = down_srtp_ ? down_srtp_->Unprotect(buf, len) : -1;
  if (n < 0) {
    counters_.down_bad.fetch_add(1, std::memory_order_relaxed);
    return -1;
  }
  rtp::SetPayloadType(buf, payload_type);
  counters_.down.fetch_add(1, std::memory_order_relaxed);
  return n;
}

// ---------------------------------------------------------------- ConsoleBridge

ConsoleBridge::~ConsoleBridge() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);  // joins webrtcbin's threads
  signals_.clear();
}

GstPadProbeReturn ConsoleBridge::OnReturnPacket(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<ConsoleBridge*>(data);
  GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READWRITE)) return GST_PAD_PROBE_DROP;
  const int n = self->link_->Unprotect(map.data, map.size, self->opus_pt_);
  gst_buffer_unmap(buffer, &map);
  if (n < 0) return GST_PAD_PROBE_DROP;
  gst_buffer_set_size(buffer, n);
  return GST_PAD_PROBE_OK;
}

void ConsoleBridge::OnNewJitterBuffer(GstElement*, GstElement* jb, guint, guint, gpointer data) {
  gst::PadPtr sink = gst::PadPtr::Adopt(gst_element_get_static_pad(jb, "sink"));
  if (!sink) return;
  gst_pad_add_probe(sink.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                    &ConsoleBridge::OnBrowserPacket, data, nullptr);
  Log()->info("console {}: the browser's audio arrives", static_cast<ConsoleBridge*>(data)->options_.id);
}

GstPadProbeReturn ConsoleBridge::OnBrowserPacket(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<ConsoleBridge*>(data);
  auto forward = [self](GstBuffer* b) {
    GstMapInfo map;
    if (!gst_buffer_map(b, &map, GST_MAP_READ)) return;
    self->link_->Forward(map.data, map.size);
    gst_buffer_unmap(b, &map);
  };
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    for (guint i = 0; i < gst_buffer_list_length(list); ++i) forward(gst_buffer_list_get(list, i));
  } else {
    forward(GST_PAD_PROBE_INFO_BUFFER(info));
  }
  return GST_PAD_PROBE_DROP;
}

domain::Result<std::unique_ptr<ConsoleBridge>> ConsoleBridge::Start(std::shared_ptr<ConsoleLink> link,
                                                                    const ConsoleBridgeOptions& options,
                                                                    const std::string& offer, int pt,
                                                                    const fanout::PortRange& ice_ports,
                                                                    std::shared_ptr<WebrtcHandshake> handshake) {
  std::unique_ptr<ConsoleBridge> b(new ConsoleBridge());
  b->link_ = std::move(link);
  b->options_ = options;
  b->opus_pt_ = uint8_t(pt);
  b->link_->SetPlayoutDelay(options.jitter_start_ms);
  b->started_us_ = g_get_monotonic_time();
  std::string missing;
  auto src = parts::Make("udpsrc", &missing);
  auto caps = parts::Make("capsfilter", &missing);
  auto webrtc = parts::Make("webrtcbin", &missing);
  if (!missing.empty())
    return domain::Internal("GStreamer element '" + missing +
                            "' is missing (install gstreamer1.0-plugins-good, -bad and gstreamer1.0-nice)");
  gst::CapsPtr rtp_caps(gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
                                            G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload",
                                            G_TYPE_INT, pt, nullptr));
  g_object_set(src.get(), "socket", b->link_->return_socket(), "close-socket", FALSE, "caps", rtp_caps.get(), nullptr);
  g_object_set(caps.get(), "caps", rtp_caps.get(), nullptr);
  gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
  // webrtcbin's own jitter buffer gets nothing (OnBrowserPacket takes every packet before it).
  g_object_set(webrtc.get(), "latency", 0u, nullptr);
  webrtc::ConfigureIce(webrtc.get(), ice_ports);
  b->context_ = std::make_unique<ViewerContext>();
  {
    std::lock_guard lock(b->context_->mu);
    b->context_->id = options.id;
    b->context_->kind = "console";
    b->context_->handshake = std::move(handshake);
    b->context_->webrtc = webrtc.get();
  }
  b->pipeline_ = gst::ElementPtr::AdoptSink(gst_pipeline_new(("console-" + options.id).c_str()));
  {
    std::lock_guard lock(b->context_->mu);
    b->context_->pipeline = b->pipeline_.get();
  }
  for (auto* e : {src.get(), caps.get(), webrtc.get()}) gst_bin_add(GST_BIN(b->pipeline_.get()), e);
  webrtc::Watch(b->context_.get(), b->signals_);
  if (auto rtpbin = gst::ElementPtr::Adopt(gst_bin_get_by_name(GST_BIN(webrtc.get()), "rtpbin")))
    b->signals_.emplace_back(rtpbin.get(), "new-jitterbuffer", G_CALLBACK(OnNewJitterBuffer), b.get());
  gst::PadPtr src_pad = gst::PadPtr::Adopt(gst_element_get_static_pad(src.get(), "src"));
  gst_pad_add_probe(src_pad.get(), GST_PAD_PROBE_TYPE_BUFFER, &ConsoleBridge::OnReturnPacket, b.get(), nullptr);
  GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc.get()), "sink_%u");
  gst::PadPtr sink = gst::PadPtr::Adopt(gst_element_request_pad(webrtc.get(), templ, nullptr, rtp_caps.get()));
  if (sink) {
    GstWebRTCRTPTransceiver* raw = nullptr;
    g_object_get(sink.get(), "transceiver", &raw, nullptr);
    if (auto transceiver = gst::GstPtr<GstWebRTCRTPTransceiver>::Adopt(raw))
      g_object_set(transceiver.get(), "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV, "codec-preferences",
                   rtp_caps.get(), "do-nack", FALSE, "fec-type", GST_WEBRTC_FEC_TYPE_NONE, nullptr);
  }
  gst::PadPtr caps_src = gst::PadPtr::Adopt(gst_element_get_static_pad(caps.get(), "src"));
  const bool linked =
      sink && gst_element_link(src.get(), caps.get()) && gst_pad_link(caps_src.get(), sink.get()) == GST_PAD_LINK_OK;
  if (!linked || gst_element_set_state(b->pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return domain::Internal("cannot start the WebRTC connection of console " + options.id);
  if (Status s = webrtc::Answer(b->context_.get(), offer); !s.ok()) return s;
  Log()->info("console {}: WebRTC offer taken (Opus payload type {})", options.id, pt);
  return b;
}

int ConsoleBridge::Adapt() {
  const int delay = link_->Adapt(options_.jitter_min_ms, options_.jitter_max_ms);
  if (std::abs(delay - last_delay_ms_) >= 5) {
    Log()->info("console {}: playout delay {} ms (the last 2 s: 99 % of packets within {:.1f} ms of the fastest)",
                options_.id, delay, link_->spread_ms());
    last_delay_ms_ = delay;
  }
  return delay;
}

}  // namespace tilmash::graph
