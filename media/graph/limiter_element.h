// `tilmashlimiter`: the TruePeakLimiter as a GStreamer element (a GstBaseTransform, in place,
// 48 kHz mono F32LE), registered by the process itself, not loaded from a plugin file. It
// answers latency queries with its look-ahead (TruePeakLimiter::kDelay, 1.5 ms) added, so a
// live pipeline counts it. Properties: `ceiling` (dBTP, default -1), `release` (ms, default 80);
// `level-target` (LUFS, 0: off, the default) and `level-range` (dB, 10) run a LoudnessLeveler
// before the limiter (a language channel's loudness leveling; settable while playing);
// `shock-guard` (dB, 0: off, the default) holds sudden jumps to that far over the recent level
// (TruePeakLimiter::SetShockGuard; settable while playing).
#pragma once
#include <gst/gst.h>

namespace tilmash::graph {

inline constexpr const char* kLimiterFactory = "tilmashlimiter";

// Registers the element once per process (thread-safe); true when it is available.
bool RegisterLimiterElement();

}  // namespace tilmash::graph
