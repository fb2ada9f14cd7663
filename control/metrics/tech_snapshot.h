// What the technician's page (/tech) shows, as JSON built from the same samples as /metrics
// (CollectSessions): one place for each fact, two ways of writing it.
//
//   state  {"time_ms", "sessions": [{"id", "name", "floor_language", "recorded",
//           "floor": {"active", "select", "primary_lost", "reason"},
//           "consoles": [{"id", "booth", "mic", "output", "link_lost"}],
//           "channels": [{"channel", "live_console" (null: none), "auto_floor", "relay_generation",
//                         "audience": {"srtp", "multicast", "webrtc"},
//                         "ingest": {"source", "packets", "lost", "late", "jitter_ms", "noise_floor_dbfs",
//                                    "above_7khz_db"} (null: none),
//                         "recording", "level": {"rms_dbfs", "peak_dbfs"} (null: silence),
//                         "alarms": {"link_lost": [console ids], "floor_backup", "clipping",
//                                    "input_clipping", "narrowband" (of the on-air source)}}]}]}
//   levels {"time_ms", "levels": {session: {channel: [rms_dbfs, peak_dbfs, clipping]}}}
#pragma once
#include <string>
#include <vector>

#include "metrics/session_metrics.h"

namespace tilmash::metrics {

// Everything on the page: sent when a page connects, on every domain event and once a second.
std::string TechState(const std::vector<SessionSample>& sessions);
// Only the meters (ten times a second): small, so a page costs little between events.
std::string TechLevels(const std::vector<SessionSample>& sessions);

}  // namespace tilmash::metrics
