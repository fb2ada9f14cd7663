// The Prometheus text exposition format (0.0.4): families with HELP and TYPE, then their
// samples, label values escaped. Callers write each family's samples together (the format
// requires it; promtool checks it).
#pragma once
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tilmash::metrics {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class MetricsText {
 public:
  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // `name` is the family's (or its _bucket/_sum/_count) name.
  void Sample(std::string_view name, Labels labels, double value);
  // A histogram's samples from cumulative (upper bound, count) pairs, +Inf = `count`.
  template <class Buckets>
  void Histogram(std::string_view name, Labels labels, const Buckets& buckets, uint64_t count, double sum);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Value(double v);
  void Begin(std::string_view name, Labels labels, std::string_view le = {});
  std::string out_;
};

template <class Buckets>
void MetricsText::Histogram(std::string_view name, Labels labels, const Buckets& buckets, uint64_t count, double sum) {
  const std::string family(name);
  char le[32];
  for (const auto& [bound, below] : buckets) {
    // Bounds in shortest form: "5e-05", "0.001", "10".
    std::snprintf(le, sizeof le, "%g", double(bound));
    Begin(family + "_bucket", labels, le);
    Value(double(below));
  }
  Begin(family + "_bucket", labels, "+Inf");
  Value(double(count));
  Begin(family + "_sum", labels);
  Value(sum);
  Begin(family + "_count", labels);
  Value(double(count));
}

}  // namespace tilmash::metrics
