// The floor from a venue's sound desk over AES67 (RTP L24/L16, 48 kHz; domain/aes67.h parses
// its SDP): the socket is bound and the group joined on the caller's thread, so a port in use
// or a group that cannot be joined is the RPC's error; the elements run on the media thread:
//
//   udpsrc -> rtpjitterbuffer -> rtpL24depay / rtpL16depay
//          -> audioconvert (one channel picked, or all mixed at equal gain) -> F32 mono 48 kHz
#pragma once
#include <gio/gio.h>

#include <string>
#include <vector>

#include "domain/aes67.h"
#include "domain/status.h"
#include "gst/gst_ptr.h"

namespace tilmash::graph {

// Bound to the stream's port (and group: only its packets arrive), joined on `interface`
// (an IPv4 address; "": the route's). A unicast stream is received on any local address.
domain::Result<gst::GObjectPtr<GSocket>> BindAes67(const domain::Aes67Stream& stream, const std::string& interface);

// The jitter buffer's latency for the stream: how long a missing packet is waited for before it
// is concealed as lost - three packet times, at least `floor_ms` (--jitter-ms). Packets that
// come in order pass at once: this costs nothing while the network is whole, and keeps a
// scheduling hiccup of this host's (not the LAN) from becoming a gap.
unsigned Aes67JitterMs(const domain::Aes67Stream& stream, unsigned floor_ms);

// channel: 0 mixes every channel to mono at equal gain (1/N each), N takes channel N alone.
domain::Result<std::vector<gst::ElementPtr>> BuildAes67Input(const domain::Aes67Stream& stream, uint32_t channel,
                                                             GSocket* socket, unsigned jitter_floor_ms);

}  // namespace tilmash::graph
