// RPCs by method and status code, with their latency (a gRPC server interceptor records them,
// control/grpc/server.cpp). A mutex on the control plane only: one short lock per RPC.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/exposition.h"

namespace tilmash::metrics {

class RpcMetrics {
 public:
  // Latency bounds (seconds). Streams count their whole life.
  static constexpr std::array<double, 14> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  // Distinct (method, code) pairs kept; past it a call counts as method "other" (a client
  // calling made-up method names cannot grow the scrape without bound).
  static constexpr std::size_t kMaxSeries = 512;

  // method: "/package.Service/Method"; code: a grpc::StatusCode (0 OK ... 16 UNAUTHENTICATED).
  void Record(std::string_view method, int code, double seconds);
  void Write(MetricsText& out) const;

 private:
  struct Series {
    uint64_t count = 0;
    double sum = 0;
    std::array<uint64_t, kBounds.size()> below{};  // cumulative
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, Series, std::less<>> series_;
};

// "OK", "CANCELLED", ... "UNAUTHENTICATED" (grpc::StatusCode names); "UNKNOWN" past them.
const char* StatusCodeName(int code);

}  // namespace tilmash::metrics
