// Token buckets per principal (Subscribe and token minting), so one badge cannot flood the
// control plane. Lock per call: these are control-plane rates, not packet rates.
#pragma once
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace tilmash::auth {

class RateLimiter {
 public:
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
  bool Allow(const std::string& principal) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    auto [it, fresh] = buckets_.try_emplace(principal, Bucket{burst_, now});
    Bucket& b = it->second;
    b.tokens = std::min(burst_, b.tokens + rate_ * std::chrono::duration<double>(now - b.last).count());
    b.last = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  const double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace tilmash::auth
