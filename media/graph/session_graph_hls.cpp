// HLS per channel: the channel's mixed audio (before Opus) -> tee -> queue -> AAC -> hlssink2,
// 1-second MPEG-TS segments in <hls_dir>/<session>/<channel>/ (playlist.m3u8, segNNNNN.ts).
// The Opus branch is the tee's first pad and has no queue: HLS adds no latency to it, and a
// stalled HLS branch drops its own oldest audio (leaky queue) instead of holding the tee.
#include <filesystem>
#include <system_error>

#include "graph/session_graph.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Status;

std::string SessionGraph::HlsDir(const std::string& channel) const {
  std::string dir = config_.hls_dir + "/" + session_;
  if (!channel.empty()) dir += "/" + channel;
  return dir;
}

// Returns the element the Opus encoder links to (a tee when HLS is on, else `upstream`).
domain::Result<GstElement*> SessionGraph::BuildHls(Channel& c, GstElement* upstream) {
  if (config_.hls_dir.empty()) return upstream;
  const std::string dir = HlsDir(c.name);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // segments of an earlier channel of this name
  std::filesystem::create_directories(dir, ec);
  if (ec) return domain::Internal("HLS directory " + dir + ": " + ec.message());
  gst::ElementPtr tee = gst::MakeElement("tee");
  gst::ElementPtr queue = gst::MakeElement("queue");
  gst::ElementPtr conv = gst::MakeElement("audioconvert");
  gst::ElementPtr aac = gst::MakeElement("voaacenc");
  gst::ElementPtr parse = gst::MakeElement("aacparse");
  gst::ElementPtr sink = gst::MakeElement("hlssink2");
  for (auto [e, name] : {std::pair{&tee, "tee"},
                         {&queue, "queue"},
                         {&conv, "audioconvert"},
                         {&aac, "voaacenc"},
                         {&parse, "aacparse"},
                         {&sink, "hlssink2"}})
    if (!*e) return domain::Internal(std::string("GStreamer element '") + name + "' is missing (install its plugin)");
  g_object_set(tee.get(), "allow-not-linked", TRUE, nullptr);
  g_object_set(queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(2 * GST_SECOND),
               "silent", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
  g_object_set(aac.get(), "bitrate", config_.hls_aac_bitrate, nullptr);
  g_object_set(sink.get(), "location", (dir + "/seg%05d.ts").c_str(), "playlist-location",
               (dir + "/playlist.m3u8").c_str(), "target-duration", guint(config_.hls_segment_s), "playlist-length",
               guint(config_.hls_playlist_length), "max-files", guint(config_.hls_playlist_length * 2),
               "send-keyframe-requests", FALSE, nullptr);
  // The sink prerolls on its own: adding a channel never takes the running pipeline back to
  // an asynchronous state change (which would hold every other channel's state changes).
  g_object_set(sink.get(), "async-handling", TRUE, nullptr);
  std::vector<gst::ElementPtr> elements{tee, queue, conv, aac, parse, sink};
  for (auto& e : elements) {
    gst_bin_add(GST_BIN(pipeline_.get()), e.get());
    c.branch.elements.push_back(e);
  }
  if (!gst_element_link(upstream, tee.get())) return domain::Internal("cannot link the HLS tee of " + c.name);
  // The Opus branch takes the tee's first pad when BuildEncoder links to it; HLS the second.
  c.hls_tee = tee.get();
  c.hls_queue = queue.get();
  gst::PadPtr audio = gst::PadPtr::Adopt(gst_element_request_pad_simple(sink.get(), "audio"));
  gst::PadPtr parse_src = gst::PadPtr::Adopt(gst_element_get_static_pad(parse.get(), "src"));
  const bool ok = audio && gst_element_link_many(queue.get(), conv.get(), aac.get(), parse.get(), nullptr) &&
                  gst_pad_link(parse_src.get(), audio.get()) == GST_PAD_LINK_OK;
  if (!ok) return domain::Internal("cannot link the HLS branch of " + c.name);
  return tee.get();
}

Status SessionGraph::LinkHlsQueue(Channel& c) {
  if (!c.hls_tee) return Status::Ok();
  if (!gst_element_link(c.hls_tee, c.hls_queue)) return domain::Internal("cannot link the HLS queue of " + c.name);
  return Status::Ok();
}

void SessionGraph::RemoveHlsFiles(const std::string& channel) {
  if (config_.hls_dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(HlsDir(channel), ec);
}

}  // namespace tilmash::graph
