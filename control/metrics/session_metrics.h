// The sessions' and the fan-out's series for /metrics, from what the domain already shows
// (SessionView, MediaStats): nothing here touches the media thread.
#pragma once
#include <vector>

#include "domain/session_registry.h"
#include "domain/types.h"
#include "metrics/exposition.h"

namespace tilmash::metrics {

struct SessionSample {
  domain::SessionView view;
  domain::MediaStats stats;  // its ingest counters and channel levels
};

// Every session's view and media counters, taking each session's lock in turn (never the
// media thread): what /metrics and the technician's page show.
std::vector<SessionSample> CollectSessions(const domain::SessionRegistry& registry);
// A language channel is on the floor (auto-floor) when nobody is live on it or its live
// console's link is lost.
bool AutoFloor(const domain::SessionView& session, const domain::ChannelView& channel);

// Per session, channel, console and ingest source.
void WriteSessionMetrics(MetricsText& out, const std::vector<SessionSample>& sessions);
// The node's fan-out (one for every session): packets, errors, drops, the delay histogram.
void WriteFanoutMetrics(MetricsText& out, const domain::MediaStats& node);

}  // namespace tilmash::metrics
