// The answering side of a WebRTC offer, shared by the WHEP viewers (session_graph_webrtc.cpp)
// and the browser consoles (console_bridge.cpp): webrtcbin's signal handlers, which complete a
// WebrtcHandshake with the answer once ICE gathering is done, and its ICE settings.
#define GST_USE_UNSTABLE_API
#include "graph/webrtc_signals.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include "graph/graph_parts.h"
#include "log/log.h"

namespace tilmash::graph::webrtc {

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("webrtc");
  return l;
}

namespace {

struct Fields {
  std::string id, kind;
  std::shared_ptr<WebrtcHandshake> handshake;
  GstElement* webrtc;
};
Fields Read(gpointer data) {
  auto* v = static_cast<ViewerContext*>(data);
  std::lock_guard lock(v->mu);
  return {v->id, v->kind, v->handshake, v->webrtc};
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
  Log()->info("{} {}: {}", v->kind, v->id, unsigned(state) < 6 ? kNames[state] : "?");
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED || state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
    v->handshake->MarkOver();
}
}  // namespace

// A latency change (webrtcbin adds its transport elements while it negotiates) is distributed,
// so RTP sessions know it.
gboolean OnBus(GstBus*, GstMessage* msg, gpointer data) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_LATENCY) {
    GstElement* pipeline = nullptr;
    {
      auto* v = static_cast<ViewerContext*>(data);
      std::lock_guard lock(v->mu);
      pipeline = v->pipeline;
    }
    if (pipeline) gst_bin_recalculate_latency(GST_BIN(pipeline));
  } else if (auto p = parts::ReadBusProblem(msg)) {
    const Fields f = Read(data);
    Log()->warn("{} {}: {}", f.kind, f.id, p->text);
  }
  return G_SOURCE_CONTINUE;
}

void ConfigureIce(GstElement* webrtc, const fanout::PortRange& range) {
  GObject* ice = nullptr;
  g_object_get(webrtc, "ice-agent", &ice, nullptr);
  if (!ice) return;
  g_object_set(ice, "ice-tcp", FALSE, nullptr);
  if (!range.any()) g_object_set(ice, "min-rtp-port", guint(range.first), "max-rtp-port", guint(range.last), nullptr);
  GObject* agent = nullptr;
  g_object_get(ice, "agent", &agent, nullptr);
  if (agent) {
    g_object_set(agent, "upnp", FALSE, nullptr);
    g_object_unref(agent);
  }
  g_object_unref(ice);
}

void Watch(ViewerContext* context, std::vector<gst::SignalConnection>& signals) {
  GstElement* webrtc = Read(context).webrtc;
  signals.emplace_back(webrtc, "notify::ice-gathering-state", G_CALLBACK(OnGatheringState), context);
  signals.emplace_back(webrtc, "notify::connection-state", G_CALLBACK(OnConnectionState), context);
}

domain::Status Answer(ViewerContext* context, const std::string& offer) {
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(offer.c_str(), &sdp) != GST_SDP_OK || !sdp)
    return domain::InvalidArgument("the offer is not SDP");
  DescriptionPtr remote(gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp));  // owns sdp
  GstPromise* promise = gst_promise_new_with_change_func(OnRemoteSet, context, nullptr);
  g_signal_emit_by_name(Read(context).webrtc, "set-remote-description", remote.get(), promise);
  return domain::Status::Ok();
}

}  // namespace tilmash::graph::webrtc
