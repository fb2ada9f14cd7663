#include "metrics/rpc_metrics.h"

#include <vector>

namespace tilmash::metrics {

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < int(std::size(kNames)) ? kNames[code] : "UNKNOWN";
}

void RpcMetrics::Record(std::string_view method, int code, double seconds) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(std::string(method), code);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= kMaxSeries) key.first = "other";
    it = series_.try_emplace(std::move(key)).first;
  }
  Series& s = it->second;
  ++s.count;
  s.sum += seconds;
  for (std::size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++s.below[i];
}

void RpcMetrics::Write(MetricsText& out) const {
  std::lock_guard lock(mu_);
  out.Family("tilmash_grpc_requests_total", "counter", "gRPC calls answered, by method and status code.");
  for (const auto& [key, s] : series_)
    out.Sample("tilmash_grpc_requests_total", {{"method", key.first}, {"code", StatusCodeName(key.second)}},
               double(s.count));
  out.Family("tilmash_grpc_request_duration_seconds", "histogram",
             "gRPC call latency from its start to its status (a stream: its whole life), by method and status code.");
  std::vector<std::pair<double, uint64_t>> buckets(kBounds.size());
  for (const auto& [key, s] : series_) {
    for (std::size_t i = 0; i < kBounds.size(); ++i) buckets[i] = {kBounds[i], s.below[i]};
    out.Histogram("tilmash_grpc_request_duration_seconds",
                  {{"method", key.first}, {"code", StatusCodeName(key.second)}}, buckets, s.count, s.sum);
  }
}

}  // namespace tilmash::metrics
