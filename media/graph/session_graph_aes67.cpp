// AES67 out per channel: the channel's audio as the encoder gets it (after its limiter) ->
// tee -> queue -> S24BE -> rtpL24pay (1 ms packets) -> udpsink to the channel's group
// (Aes67Outputs hands it out and announces it with SAP). No Opus on this path: what the
// venue's IR/RF radiators get is the mix itself, 1.5 ms (the limiter) after the floor's packet.
// Unlike HLS, the AES67 branch takes the tee's first pad (see BuildAes67Out).
#include "graph/graph_parts.h"
#include "graph/session_graph.h"

namespace tilmash::graph {

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
