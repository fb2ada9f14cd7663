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
#include "graph/webrtc_viewer.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Status;

namespace {
std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("webrtc");
  return l;
}

struct Fields {
  std::string id;
  std::shared_ptr<WebrtcHandshake> handshake;
  GstElement* webrtc;
};
Fields Read(gpointer data) {
  auto* v = static_cast<ViewerContext*>(data);
  std::lock_guard lock(v->mu);
  return {v->id, v->handshake, v->webrtc};
}

void FreeDescription(GstWebRTCSessionDescription* d) { gst_webrtc_session_description_free(d); }
void UnrefPromise(GstPromise* p) { gst_promise_unref(p); }
using DescriptionPtr = gst::MiniPtr<GstWebRTCSessionDescription, FreeDescription>;
using PromisePtr = gst::MiniPtr<GstPromise, UnrefPromise>;

void OnAnswerCreated(GstPromise* promise_in, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  PromisePtr promise(promise_in);
  const GstStructure* reply = gst_promise_get_reply(promise.get());
  GstWebRTCSessionDescription* raw = nullptr;
  if (reply) gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &raw, nullptr);
  DescriptionPtr answer(raw);
  if (!answer) {
    v->handshake->Complete(false, "webrtcbin could not answer the offer (no audio m-line it can send?)");
    return;
  }
  g_signal_emit_by_name(v->webrtc, "set-local-description", answer.get(), nullptr);
}

void OnRemoteSet(GstPromise* promise_in, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  PromisePtr promise(promise_in);
  const GstStructure* reply = gst_promise_get_reply(promise.get());
  gst::ErrorPtr err;
  if (reply && gst_structure_get(reply, "error", G_TYPE_ERROR, err.out(), nullptr) && err) {
    v->handshake->Complete(false, "the offer was refused: " + err.message());
    return;
  }
  GstPromise* next = gst_promise_new_with_change_func(OnAnswerCreated, data, nullptr);
  g_signal_emit_by_name(v->webrtc, "create-answer", nullptr, next);
}

void OnGatheringState(GstElement* webrtc, GParamSpec*, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  GstWebRTCICEGatheringState state;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  GstWebRTCSessionDescription* raw = nullptr;
  g_object_get(webrtc, "local-description", &raw, nullptr);
  DescriptionPtr local(raw);
  if (!local) return;
  gst::GCharPtr text(gst_sdp_message_as_text(local.get()->sdp));
  v->handshake->Complete(true, text.str());
}

void OnConnectionState(GstElement* webrtc, GParamSpec*, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  GstWebRTCPeerConnectionState state;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  static const char* kNames[] = {"new", "connecting", "connected", "disconnected", "failed", "closed"};
  Log()->info("viewer {}: {}", v->id, unsigned(state) < 6 ? kNames[state] : "?");
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED || state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
    v->handshake->MarkOver();
}
}  // namespace

namespace {
// A viewer pipeline's bus, on the media thread: errors are logged; a latency change (webrtcbin
// adds its transport elements while it negotiates) is distributed, so RTP sessions know it.
gboolean OnViewerBus(GstBus*, GstMessage* msg, gpointer data) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_LATENCY) {
    GstElement* pipeline = nullptr;
    {
      auto* v = static_cast<ViewerContext*>(data);
      std::lock_guard lock(v->mu);
      pipeline = v->pipeline;
    }
    if (pipeline) gst_bin_recalculate_latency(GST_BIN(pipeline));
  } else if (auto p = parts::ReadBusProblem(msg)) {
    Log()->warn("viewer {}: {}", Read(data).id, p->text);
  }
  return G_SOURCE_CONTINUE;
}
}  // namespace

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
  // Its ICE: UDP only, in --media-ports (libnice picks a free port of the range), and no UPnP
  // (libnice would open an SSDP socket on port 1900 and ask the venue's router for mappings).
  GObject* ice = nullptr;
  g_object_get(webrtc.get(), "ice-agent", &ice, nullptr);
  if (ice) {
    g_object_set(ice, "ice-tcp", FALSE, nullptr);
    if (!config_.ports->range().any())
      g_object_set(ice, "min-rtp-port", guint(config_.ports->range().first), "max-rtp-port",
                   guint(config_.ports->range().last), nullptr);
    GObject* agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    if (agent) {
      g_object_set(agent, "upnp", FALSE, nullptr);
      g_object_unref(agent);
    }
    g_object_unref(ice);
  }
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
  v->bus_watch = gst_bus_add_watch(bus.get(), OnViewerBus, v->context.get());
  v->signals.emplace_back(webrtc.get(), "notify::ice-gathering-state", G_CALLBACK(OnGatheringState), v->context.get());
  v->signals.emplace_back(webrtc.get(), "notify::connection-state", G_CALLBACK(OnConnectionState), v->context.get());
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
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(offer.c_str(), &sdp) != GST_SDP_OK || !sdp)
    return domain::InvalidArgument("the offer is not SDP");
  // The pad's transceiver already knows it sends Opus audio (its codec preferences), so the
  // offer's audio m-line is answered with it, whenever the first packet comes.
  DescriptionPtr remote(gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp));  // owns sdp
  GstPromise* promise = gst_promise_new_with_change_func(OnRemoteSet, v->context.get(), nullptr);
  g_signal_emit_by_name(webrtc.get(), "set-remote-description", remote.get(), promise);
  {
    std::lock_guard lock(ch->second->viewers_mu);
    ch->second->viewer_srcs.push_back({v->src});
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
