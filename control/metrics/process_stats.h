// The process's own numbers for /metrics, read from /proc/self (Linux): CPU time, memory,
// threads, file descriptors. Written under the names every Prometheus client library's
// process collector uses (process_*), so stock dashboards and alerts work unchanged.
#pragma once
#include "metrics/exposition.h"

namespace tilmash::metrics {

void WriteProcessMetrics(MetricsText& out);

}  // namespace tilmash::metrics
