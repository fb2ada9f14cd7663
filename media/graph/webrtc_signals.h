// The answering side of a WebRTC offer, shared by the WHEP viewers (session_graph_webrtc.cpp)
// and the browser consoles (console_bridge.cpp): webrtcbin's signal handlers complete a
// WebrtcHandshake with the answer once ICE gathering is done (no trickle), and mark it over
// when the peer connection fails or closes.
#pragma once
#include <gst/gst.h>

#include <string>
#include <vector>

#include "domain/status.h"
#include "fanout/port_range.h"
#include "graph/webrtc_viewer.h"
#include "gst/gst_ptr.h"
#include "log/log.h"

namespace tilmash::graph::webrtc {

// The "webrtc" component's logger (viewers and browser consoles).
std::shared_ptr<spdlog::logger> Log();

// ICE over UDP only, in `range` (libnice picks a free port of it), no UPnP (libnice would open
// an SSDP socket on port 1900 and ask the venue's router for mappings).
void ConfigureIce(GstElement* webrtc, const fanout::PortRange& range);
// Connects the gathering and connection-state handlers of `context` (its fields filled in) to
// its webrtcbin; the connections end before the context does.
void Watch(ViewerContext* context, std::vector<gst::SignalConnection>& signals);
// Sets the offer as the remote description; the answer follows on webrtcbin's threads.
domain::Status Answer(ViewerContext* context, const std::string& offer);
// A WebRTC pipeline's bus watch (data: its ViewerContext): problems logged, latency changes
// distributed.
gboolean OnBus(GstBus* bus, GstMessage* msg, gpointer data);

}  // namespace tilmash::graph::webrtc
