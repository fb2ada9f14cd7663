// Component-tagged logging (CONVENTIONS habit 11): every line carries its component
// (floor, mix, srtp, fanout, grpc, ...) and each component's level can be changed at runtime.
//
// Two formats on stderr: plain text (the default) and JSON lines (`--log-format json`) for a
// log pipeline. A message written as "session ID: what happened key=value ..." gives the JSON
// line its `session` and each key=value its entry in `fields` (a number when it reads as one);
// the text line is the same sentence either way.
#pragma once
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace tilmash::log {

// The logger of a component, created on first use with the shared sink.
std::shared_ptr<spdlog::logger> Get(const std::string& component);
// "info", or "mix=debug,fanout=trace": a bare level sets the default for all components.
bool Configure(const std::string& spec, std::string* error);
// "text" or "json"; applies to every component's lines from now on.
bool SetFormat(const std::string& format, std::string* error);
// Routes GStreamer's own debug output into the "gst" component.
void RouteGStreamerDebug();

// One JSON line (no newline): {"time","level","component","session","message","fields"}.
// `time` is UTC with milliseconds; `session` is null and `fields` empty when the message has none.
std::string JsonLine(std::chrono::system_clock::time_point time, std::string_view level, std::string_view component,
                     std::string_view text);

}  // namespace tilmash::log
