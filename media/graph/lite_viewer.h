// A WebRTC (WHEP) viewer on the daemon's shared WebRTC port: its offer is answered at once by
// the lite ICE agent (webrtc/webrtc_server.h); once its ICE check and DTLS handshake are done it
// becomes a listener of the fan-out with its DTLS-derived key, sent from the shared port, and
// `route` makes it hear its channel. No pipeline, no thread, no per-viewer encode: after the
// handshake a viewer costs what a headset listener costs.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "domain/ports.h"
#include "fanout/fanout_engine.h"
#include "webrtc/webrtc_server.h"

namespace tilmash::graph {

// Makes the connected viewer's fan-out listener hear its channel; the stream returned keeps
// it (and its route) until the viewer ends. Runs on the WebRTC server's thread.
using RouteViewer =
    std::function<std::unique_ptr<domain::ListenerStream>(std::unique_ptr<fanout::ListenerHandle> listener)>;

// INVALID_ARGUMENT for an offer we cannot answer (naming the line, or the DTLS role).
domain::Result<std::unique_ptr<domain::ViewerStream>> AddLiteViewer(
    webrtc::WebrtcServer& server, fanout::FanoutEngine& fanout, const std::string& id, const std::string& channel,
    const std::string& offer_sdp, const domain::AnswerCallback& done, RouteViewer route);

}  // namespace tilmash::graph
