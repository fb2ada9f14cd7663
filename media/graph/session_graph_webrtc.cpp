// WebRTC viewers in the session graph: opusenc -> tee -+-> rtpopuspay -> appsink (fan-out)
//                                                      +-> queue -> rtpopuspay(pt) -> webrtcbin
// The fan-out branch is the tee's first pad and has no queue; a viewer's branch is leaky.
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <regex>

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

void OnAnswerCreated(GstPromise* promise, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  const GstStructure* reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription* answer = nullptr;
  if (reply) gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref(promise);
  if (!answer) {
    v->handshake->Complete(false, "webrtcbin could not answer the offer (no audio m-line it can send?)");
    return;
  }
  g_signal_emit_by_name(v->webrtc, "set-local-description", answer, nullptr);
  gst_webrtc_session_description_free(answer);
}

void OnRemoteSet(GstPromise* promise, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  const GstStructure* reply = gst_promise_get_reply(promise);
  GError* err = nullptr;
  if (reply && gst_structure_get(reply, "error", G_TYPE_ERROR, &err, nullptr) && err) {
    v->handshake->Complete(false, std::string("the offer was refused: ") + err->message);
    g_clear_error(&err);
    gst_promise_unref(promise);
    return;
  }
  gst_promise_unref(promise);
  GstPromise* next = gst_promise_new_with_change_func(OnAnswerCreated, data, nullptr);
  g_signal_emit_by_name(v->webrtc, "create-answer", nullptr, next);
}

void OnGatheringState(GstElement* webrtc, GParamSpec*, gpointer data) {
  const Fields f = Read(data);
  const Fields* v = &f;
  GstWebRTCICEGatheringState state;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc, "local-description", &local, nullptr);
  if (!local) return;
  gchar* text = gst_sdp_message_as_text(local->sdp);
  v->handshake->Complete(true, text);
  g_free(text);
  gst_webrtc_session_description_free(local);
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

int OpusPayloadType(const std::string& offer) {
  static const std::regex rtpmap(R"(a=rtpmap:(\d+) opus/48000)", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(offer, m, rtpmap)) return -1;
  const int pt = std::stoi(m[1]);
  return pt >= 96 && pt <= 127 ? pt : -1;
}

Status SessionGraph::AddWebrtcViewer(const std::string& id, const std::string& channel, const std::string& offer,
                                     std::shared_ptr<WebrtcHandshake> handshake) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->opus_tee) return domain::NotFound("no channel " + channel);
  if (viewers_.count(id)) return domain::AlreadyExists("viewer " + id);
  const int pt = OpusPayloadType(offer);
  if (pt < 0) return domain::InvalidArgument("the offer has no Opus audio (a=rtpmap:<pt> opus/48000/2)");
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(offer.c_str(), &sdp) != GST_SDP_OK || !sdp)
    return domain::InvalidArgument("the offer is not SDP");
  auto v = std::make_unique<Viewer>();
  v->channel = channel;
  auto queue = gst::MakeElement("queue");
  auto pay = gst::MakeElement("rtpopuspay");
  auto webrtc = gst::MakeElement("webrtcbin");
  if (!queue || !pay || !webrtc) {
    gst_sdp_message_free(sdp);
    return domain::Internal(
        "GStreamer element 'webrtcbin' is missing (install gstreamer1.0-plugins-bad and "
        "gstreamer1.0-nice)");
  }
  g_object_set(queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(200 * GST_MSECOND),
               "silent", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
  g_object_set(pay.get(), "pt", guint(pt), nullptr);
  gst_util_set_object_arg(G_OBJECT(webrtc.get()), "bundle-policy", "max-bundle");
  // webrtcbin's receive jitter buffer is unused (we only send); keep its latency out anyway.
  g_object_set(webrtc.get(), "latency", 0u, nullptr);
  v->context = std::make_unique<ViewerContext>();
  {
    std::lock_guard lock(v->context->mu);
    v->context->id = id;
    v->context->handshake = std::move(handshake);
    v->context->webrtc = webrtc.get();
  }
  g_signal_connect(webrtc.get(), "notify::ice-gathering-state", G_CALLBACK(OnGatheringState), v->context.get());
  g_signal_connect(webrtc.get(), "notify::connection-state", G_CALLBACK(OnConnectionState), v->context.get());
  v->branch.elements = {queue, pay, webrtc};
  for (auto& e : v->branch.elements) gst_bin_add(GST_BIN(pipeline_.get()), e.get());
  // The pad's transceiver knows its codec before the offer is answered (not only once the first
  // buffer's caps arrive): otherwise a slow first buffer lets webrtcbin answer the offer's m-line
  // with a transceiver of its own, and this pad's audio goes nowhere.
  gst::CapsPtr codec(gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
                                         G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload", G_TYPE_INT,
                                         pt, nullptr));
  GstPadTemplate* templ = gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(webrtc.get()), "sink_%u");
  GstPad* sink = gst_element_request_pad(webrtc.get(), templ, nullptr, codec.get());
  if (sink) {
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    g_object_get(sink, "transceiver", &transceiver, nullptr);
    if (transceiver) {
      g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences",
                   codec.get(), nullptr);
      gst_object_unref(transceiver);
    }
  }
  GstPad* pay_src = gst_element_get_static_pad(pay.get(), "src");
  v->tee_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(ch->second->opus_tee, "src_%u"));
  GstPad* queue_sink = gst_element_get_static_pad(queue.get(), "sink");
  const bool linked = sink && gst_element_link(queue.get(), pay.get()) &&
                      gst_pad_link(pay_src, sink) == GST_PAD_LINK_OK &&
                      gst_pad_link(v->tee_pad.get(), queue_sink) == GST_PAD_LINK_OK;
  if (sink) gst_object_unref(sink);
  gst_object_unref(pay_src);
  gst_object_unref(queue_sink);
  if (!linked) {
    gst_sdp_message_free(sdp);
    Teardown(v->branch);
    return domain::Internal("cannot link a WebRTC viewer to channel " + channel);
  }
  for (auto it = v->branch.elements.rbegin(); it != v->branch.elements.rend(); ++it)
    gst_element_sync_state_with_parent(it->get());
  // The pad's transceiver already knows it sends Opus audio (its codec preferences), so the
  // offer's audio m-line is answered with it, whenever the first packet comes.
  GstWebRTCSessionDescription* remote = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  GstPromise* promise = gst_promise_new_with_change_func(OnRemoteSet, v->context.get(), nullptr);
  g_signal_emit_by_name(webrtc.get(), "set-remote-description", remote, promise);
  gst_webrtc_session_description_free(remote);  // frees sdp too
  Log()->info("viewer {} on channel {} (Opus payload type {})", id, channel, pt);
  viewers_[id] = std::move(v);
  return Status::Ok();
}

void SessionGraph::RemoveWebrtcViewer(const std::string& id) {
  auto it = viewers_.find(id);
  if (it == viewers_.end()) return;
  Viewer& v = *it->second;
  auto ch = channels_.find(v.channel);
  if (ch != channels_.end() && ch->second->opus_tee) DetachTeePad(ch->second->opus_tee, v.tee_pad.get());
  // Teardown sets webrtcbin to NULL, which joins its threads: no signal fires after this.
  Teardown(v.branch);
  viewers_.erase(it);
  Log()->info("viewer {} ended", id);
}

void SessionGraph::RemoveViewersOf(const std::string& channel) {
  std::vector<std::string> ids;
  for (const auto& [id, v] : viewers_)
    if (channel.empty() || v->channel == channel) ids.push_back(id);
  for (const auto& id : ids) RemoveWebrtcViewer(id);
}

}  // namespace tilmash::graph
