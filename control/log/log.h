// Component-tagged logging (CONVENTIONS habit 11): every line carries its component
// (floor, mix, srtp, fanout, grpc, ...) and each component's level can be changed at runtime.
#pragma once
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace tilmash::log {

// The logger of a component, created on first use with the shared sink.
std::shared_ptr<spdlog::logger> Get(const std::string& component);
// "info", or "mix=debug,fanout=trace": a bare level sets the default for all components.
bool Configure(const std::string& spec, std::string* error);
// Routes GStreamer's own debug output into the "gst" component.
void RouteGStreamerDebug();

}  // namespace tilmash::log
