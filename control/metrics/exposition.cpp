#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace tilmash::metrics {

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {  // HELP escapes backslash and newline
    if (c == '\\')
      out_ += "\\\\";
    else if (c == '\n')
      out_ += "\\n";
    else
      out_ += c;
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsText::Begin(std::string_view name, Labels labels, std::string_view le) {
  out_ += name;
  if (labels.size() == 0 && le.empty()) return;
  out_ += '{';
  bool first = true;
  auto label = [&](std::string_view key, std::string_view value) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    for (char c : value) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '"')
        out_ += "\\\"";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_ += c;
    }
    out_ += '"';
  };
  for (const auto& [k, v] : labels) label(k, v);
  if (!le.empty()) label("le", le);
  out_ += '}';
}

void MetricsText::Value(double v) {
  out_ += ' ';
  if (std::isnan(v)) {
    out_ += "NaN";
  } else if (std::isinf(v)) {
    out_ += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, ec == std::errc() ? end : buf);
  }
  out_ += '\n';
}

void MetricsText::Sample(std::string_view name, Labels labels, double value) {
  Begin(name, labels);
  Value(value);
}

}  // namespace tilmash::metrics
