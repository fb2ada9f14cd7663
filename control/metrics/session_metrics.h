// The sessions' and the fan-out's series for /metrics, from what the domain already shows
// (SessionView, MediaStats): nothing here touches the media thread.
#pragma once
#include <vector>

#include "domain/types.h"
#include "metrics/exposition.h"

namespace tilmash::metrics {

struct SessionSample {
  domain::SessionView view;
  domain::MediaStats stats;  // its ingest counters and channel levels
};

// Per session, channel, console and ingest source.
void WriteSessionMetrics(MetricsText& out, const std::vector<SessionSample>& sessions);
// The node's fan-out (one for every session): packets, errors, drops, the delay histogram.
void WriteFanoutMetrics(MetricsText& out, const domain::MediaStats& node);

}  // namespace tilmash::metrics
