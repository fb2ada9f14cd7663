// WebRTC viewers: opusenc -> tee -+-> rtpopuspay -> appsink (fan-out)
//                                 +-> appsink (viewers) ~~> per viewer, its own pipeline:
//                                                           appsrc -> rtpopuspay(pt) -> webrtcbin
// The session pipeline never links, unlinks or waits for a viewer, and a viewer's flow errors
// (flushing while webrtcbin starts or closes) stay in its own pipeline.
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <regex>

#include "graph/graph_parts.h"
#include "graph/session_graph.h"
#include "graph/webrtc_signals.h"
#include "graph/webrtc_viewer.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Status;

using webrtc::Log;

SessionGraph::Viewer::~Viewer() {
  if (!pipeline) return;
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);  // joins webrtcbin's threads: no signal fires after this
  if (bus_watch) gst_bus_remove_watch(GST_ELEMENT_BUS(pipeline.get()));
}

Status SessionGraph::AddWebrtcViewer(const std::string& id, const std::string& channel, int pt,
                                     const std::string& offer, std::shared_ptr<WebrtcHandshake> handshake) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->opus_tee) return domain::NotFound("no channel " + channel);
  if (viewers_.count(id)) return domain::AlreadyExists("viewer " + id);
  auto v = std::make_unique<Viewer>();
  v->channel = channel;
  auto src = gst::MakeElement("appsrc");
  auto pay = gst::MakeElement("rtpopuspay");
  auto webrtc = gst::MakeElement("webrtcbin");
  if (!src || !pay || !webrtc) {
    return domain::Internal(
        "GStreamer element 'webrtcbin' is missing (install gstreamer1.0-plugins-bad and "
        "gstreamer1.0-nice)");
  }
  // Live; at most 200 ms waiting (while webrtcbin negotiates), the oldest dropped.
  g_object_set(src.get(), "is-live", TRUE, "max-bytes", guint64(0), "max-buffers", guint64(20), "block", FALSE,
               nullptr);
  gst_util_set_object_arg(G_OBJECT(src.get()), "format", "time");
  gst_util_set_object_arg(G_OBJECT(src.get()), "leaky-type", "downstream");
  g_object_set(pay.get(), "pt", guint(pt), nullptr);
  gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
  // webrtcbin's receive jitter buffer is unused (we only send); keep its latency out anyway.
  g_object_set(webrtc.get(), "latency", 0u, nullptr);
  webrtc::ConfigureIce(webrtc.get(), config_.ports->range());
  v->context = std::make_unique<ViewerContext>();
  {
    std::lock_guard lock(v->context->mu);
    v->context->id = id;
    v->context->handshake = std::move(handshake);
    v->context->webrtc = webrtc.get();
  }
  // Its own pipeline: webrtcbin's state changes, latency and flow never reach the session's.
  v->pipeline = gst::ElementPtr::AdoptSink(gst_pipeline_new(("viewer-" + id).c_str()));
  // On the session's clock and base time: the channel's timestamps (regular, 10 ms apart) are
  // running times here too, so RTP timestamps stay as even as the encoder made them.
  if (auto clock = gst::GstPtr<GstClock>::Adopt(gst_pipeline_get_clock(GST_PIPELINE(pipeline_.get()))))
    gst_pipeline_use_clock(GST_PIPELINE(v->pipeline.get()), clock.get());
  gst_element_set_start_time(v->pipeline.get(), GST_CLOCK_TIME_NONE);
  gst_element_set_base_time(v->pipeline.get(), gst_element_get_base_time(pipeline_.get()));
  {
    std::lock_guard lock(v->context->mu);
    v->context->pipeline = v->pipeline.get();
  }
  gst::BusPtr bus = gst::BusPtr::Adopt(gst_pipeline_get_bus(GST_PIPELINE(v->pipeline.get())));
  v->bus_watch = gst_bus_add_watch(bus.get(), webrtc::OnBus, v->context.get());
  webrtc::Watch(v->context.get(), v->signals);
  for (auto* e : {src.get(), pay.get(), webrtc.get()}) gst_bin_add(GST_BIN(v->pipeline.get()), e);
  v->src = src.get();
  // The pad's transceiver knows its codec before the offer is answered (not only once the first
  // buffer's caps arrive): otherwise a slow first buffer lets webrtcbin answer the offer's m-line
  // with a transceiver of its own, and this pad's audio goes nowhere.
  gst::CapsPtr codec(gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
                                         G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload", G_TYPE_INT,
                                         pt, nullptr));
  GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc.get()), "sink_%u");
  gst::PadPtr sink = gst::PadPtr::Adopt(gst_element_request_pad(webrtc.get(), templ, nullptr, codec.get()));
  if (sink) {
    GstWebRTCRTPTransceiver* raw = nullptr;
    g_object_get(sink.get(), "transceiver", &raw, nullptr);
    if (auto transceiver = gst::GstPtr<GstWebRTCRTPTransceiver>::Adopt(raw))
      g_object_set(transceiver.get(), "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences",
                   codec.get(), nullptr);
  }
  gst::PadPtr pay_src = gst::PadPtr::Adopt(gst_element_get_static_pad(pay.get(), "src"));
  const bool linked =
      sink && gst_element_link(src.get(), pay.get()) && gst_pad_link(pay_src.get(), sink.get()) == GST_PAD_LINK_OK;
  if (!linked || gst_element_set_state(v->pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return domain::Internal("cannot start a WebRTC viewer of channel " + channel);
  // The pad's transceiver already knows it sends Opus audio (its codec preferences), so the
  // offer's audio m-line is answered with it, whenever the first packet comes.
  if (Status s = webrtc::Answer(v->context.get(), offer); !s.ok()) return s;
  {
    std::lock_guard lock(ch->second->viewers_mu);
    ch->second->viewer_srcs.push_back({v->src});
    ch->second->webrtcbin_viewers.store(int(ch->second->viewer_srcs.size()));
  }
  Log()->info("viewer {} on channel {} (Opus payload type {})", id, channel, pt);
  viewers_[id] = std::move(v);
  return Status::Ok();
}

void SessionGraph::RemoveWebrtcViewer(const std::string& id) {
  auto it = viewers_.find(id);
  if (it == viewers_.end()) return;
  Viewer& v = *it->second;
  if (auto ch = channels_.find(v.channel); ch != channels_.end()) {
    std::lock_guard lock(ch->second->viewers_mu);
    auto& srcs = ch->second->viewer_srcs;
    srcs.erase(std::remove_if(srcs.begin(), srcs.end(), [&](const auto& s) { return s.src == v.src; }), srcs.end());
    ch->second->webrtcbin_viewers.store(int(srcs.size()));
  }
  viewers_.erase(it);  // its pipeline to NULL, which joins webrtcbin's threads: no signal fires after this
  Log()->info("viewer {} ended", id);
}

void SessionGraph::RemoveViewersOf(const std::string& channel) {
  std::vector<std::string> ids;
  for (const auto& [id, v] : viewers_)
    if (channel.empty() || v->channel == channel) ids.push_back(id);
  for (const auto& id : ids) RemoveWebrtcViewer(id);
}

}  // namespace tilmash::graph
