// AES67 out per channel: the channel's audio as the encoder gets it (after its limiter) ->
// tee -> queue -> S24BE -> rtpL24pay (1 ms packets) -> udpsink to the channel's group
// (Aes67Outputs hands it out and announces it with SAP). No Opus on this path: what the
// venue's IR/RF radiators get is the mix itself, 1.5 ms (the limiter) after the floor's packet.
// Unlike HLS, the AES67 branch takes the tee's first pad (see BuildAes67Out).
#include <gst/rtp/gstrtpbuffer.h>

#include <algorithm>
#include <climits>

#include "graph/graph_parts.h"
#include "graph/session_graph.h"

namespace tilmash::graph {

namespace {

// RFC 7273 a=mediaclk:direct=0: an RTP timestamp is the reference clock's time in samples
// (mod 2^32) - PTP time when the session runs on PTP - so a receiver knows when each sample
// was taken and plays it a fixed link offset later. GStreamer's own timestamps would carry the
// mix's running time, which after a floor (re)start can run ahead of the clock by what the
// floor's path released at once (12-16 ms after an AES67 floor's jitter buffer): a receiver
// would wait that much longer. So the timeline is the clock's: the first packet is stamped with
// the clock's time now less its own length, every later one with the samples sent since. A
// timestamp must never be in the clock's future when its packet leaves: after each half second
// in which one was (by more than 0.5 ms: after a floor starts, or the mix's 10 ms blocks of a
// synthetic floor), the timeline moves back by the most; a stream that strays over kReanchorMs
// from the clock (it stalled) is anchored anew - a gap the receiver conceals.
constexpr int32_t kReanchorMs = 20;

struct MediaClock {
  GstElement* pipeline;
  gst::GstPtr<GstClock> clock;  // the pipeline's, taken at the first packet
  bool anchored = false;
  uint32_t next = 0;          // the timestamp of the next packet
  uint32_t window_start = 0;  // clock time (samples) the current half second began
  int32_t window_ahead = 0;   // the most a packet's first sample was in the clock's future (samples)
};

uint32_t ClockSamples(MediaClock& m) {
  if (!m.clock) m.clock = gst::GstPtr<GstClock>::Adopt(gst_element_get_clock(m.pipeline));
  const GstClockTime now = m.clock ? gst_clock_get_time(m.clock.get()) : 0;
  return uint32_t(gst_util_uint64_scale(now, 48000, GST_SECOND) & 0xffffffffu);
}

GstPadProbeReturn OnAes67Packet(GstPad* /*pad*/, GstPadProbeInfo* info, gpointer data) {
  auto* m = static_cast<MediaClock*>(data);
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!b) return GST_PAD_PROBE_OK;
  b = gst_buffer_make_writable(b);
  GST_PAD_PROBE_INFO_DATA(info) = b;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map(b, GST_MAP_READWRITE, &rtp)) return GST_PAD_PROBE_OK;
  const auto samples = uint32_t(gst_rtp_buffer_get_payload_len(&rtp) / 3);  // L24 mono
  const uint32_t now = ClockSamples(*m);
  const int32_t ahead = int32_t(m->next - now);  // its first sample vs the clock
  if (!m->anchored || ahead > kReanchorMs * 48 || ahead < -kReanchorMs * 48) {
    m->next = now - samples;
    m->anchored = true;
    m->window_start = now;
    m->window_ahead = INT32_MIN;
  } else {
    m->window_ahead = std::max(m->window_ahead, ahead);
    if (int32_t(now - m->window_start) >= 48000 / 2) {
      if (m->window_ahead > 24) m->next -= uint32_t(m->window_ahead);
      m->window_start = now;
      m->window_ahead = INT32_MIN;
    }
  }
  gst_rtp_buffer_set_timestamp(&rtp, m->next);
  m->next += samples;
  gst_rtp_buffer_unmap(&rtp);
  return GST_PAD_PROBE_OK;
}

}  // namespace

domain::Result<GstElement*> SessionGraph::BuildAes67Out(Channel& c, GstElement* upstream) {
  if (!config_.aes67_out) return upstream;
  auto stream = config_.aes67_out->Open(session_, c.name);
  if (!stream.ok()) return stream.status();
  std::string missing;
  auto tee = parts::Make("tee", &missing);
  auto queue = parts::Make("queue", &missing);
  auto conv = parts::Make("audioconvert", &missing);
  auto pay = parts::Make("rtpL24pay", &missing);
  auto sink = parts::Make("udpsink", &missing);
  if (!missing.empty()) return parts::Missing(missing);
  g_object_set(tee.get(), "allow-not-linked", TRUE, nullptr);
  // Leaky and short: a stalled network send drops its own oldest audio, never holds the mix.
  g_object_set(queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(40 * GST_MSECOND),
               "silent", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
  auto caps = parts::MakeCapsFilter("audio/x-raw,format=S24BE,rate=48000,channels=1,layout=interleaved");
  // AES67's 1 ms packet time (48 samples), payload type 96 as the SDP says.
  g_object_set(pay.get(), "pt", 96u, "min-ptime", gint64(GST_MSECOND), "max-ptime", gint64(GST_MSECOND), nullptr);
  gst::PadPtr pay_out = gst::PadPtr::Adopt(gst_element_get_static_pad(pay.get(), "src"));
  gst_pad_add_probe(pay_out.get(), GST_PAD_PROBE_TYPE_BUFFER, OnAes67Packet, new MediaClock{pipeline_.get(), nullptr},
                    [](gpointer p) { delete static_cast<MediaClock*>(p); });
  // Sent as soon as made (no clock wait: the audio is live already), from the stream's socket.
  g_object_set(sink.get(), "socket", stream.value()->socket(), "close-socket", FALSE, "host",
               stream.value()->group().c_str(), "port", gint(stream.value()->port()), "auto-multicast", FALSE, "sync",
               FALSE, "async", FALSE, nullptr);
  std::vector<gst::ElementPtr> elements{tee, queue, conv, caps, pay, sink};
  for (auto& e : elements) {
    gst_bin_add(GST_BIN(pipeline_.get()), e.get());
    c.branch.elements.push_back(e);
  }
  if (!gst_element_link(upstream, tee.get())) return domain::Internal("cannot link the AES67 tee of " + c.name);
  if (!gst_element_link_many(queue.get(), conv.get(), caps.get(), pay.get(), sink.get(), nullptr))
    return domain::Internal("cannot link the AES67 branch of " + c.name);
  // The AES67 queue takes the tee's first pad: a tee pushes to its pads in turn, and a push
  // into a queue costs microseconds where the Opus branch (no queue) encodes and fans out on
  // this thread first. AES67 packets then never wait for an Opus frame.
  if (!gst_element_link(tee.get(), queue.get())) return domain::Internal("cannot link the AES67 queue of " + c.name);
  c.aes67 = std::move(stream).value();
  return tee.get();
}

}  // namespace tilmash::graph
