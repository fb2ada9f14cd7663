// Building blocks shared by the session graph's files (not part of its interface).
#pragma once
#include <gst/gst.h>

#include <optional>
#include <string>
#include <vector>

#include "domain/status.h"
#include "graph/limiter_element.h"
#include "gst/gst_ptr.h"

namespace tilmash::graph::parts {

constexpr const char* kRawCaps = "audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved";
// The true peak every limiter lets through (ISO 20109 §4.5; EBU R128's -1 dBTP for delivery).
constexpr double kLimiterCeilingDbtp = -3.5;
// How fast a limiter's gain comes back after a peak (ms): slow enough not to pump a voice.
constexpr double kLimiterReleaseMs = 80.0;
// The acoustic-shock guard of every limiter (the floor's, each channel's: what listeners and
// the booths' return feeds hear): a sound may come in at most 20 dB over the recent level
// (never held under -12 dBFS), then grows as its own level becomes the recent one (0.5 s time
// constant). A feedback squeal or a dropped microphone in a quiet passage is held down first.
constexpr double kShockGuardDb = 20.0;
// A channel whose peak comes this close to the limiter's ceiling is being limited hard (the
// technician's CLIPPING alarm: the source is too hot). Sample peaks of a limited signal sit at
// or a little under its true peak.
constexpr double kClippingPeakDbfs = kLimiterCeilingDbtp - 0.5;

inline gst::ElementPtr Make(const char* factory, std::string* missing) { return gst::MakeElement(factory, missing); }
using gst::MakeCapsFilter;

// The true-peak look-ahead limiter (acoustic-shock protection; limiter_element.h): adds
// TruePeakLimiter::kDelay (1.5 ms) to the path and says so in latency queries.
inline gst::ElementPtr MakeLimiter(std::string* missing) {
  RegisterLimiterElement();
  auto l = Make(kLimiterFactory, missing);
  if (!l) return l;
  g_object_set(l.get(), "ceiling", kLimiterCeilingDbtp, "release", kLimiterReleaseMs, "shock-guard", kShockGuardDb,
               nullptr);
  return l;
}

// An audioconvert's mix-matrix from `channels` inputs to one output: channel `pick` (1-based)
// alone, or every channel at 1/N when pick is 0. Set before the converter negotiates.
inline void SetMonoMix(GstElement* conv, uint32_t channels, uint32_t pick) {
  GValue matrix = G_VALUE_INIT;
  g_value_init(&matrix, GST_TYPE_ARRAY);
  GValue row = G_VALUE_INIT;
  g_value_init(&row, GST_TYPE_ARRAY);
  for (uint32_t i = 1; i <= channels; ++i) {
    GValue w = G_VALUE_INIT;
    g_value_init(&w, G_TYPE_FLOAT);
    g_value_set_float(&w, pick == 0 ? 1.0f / float(channels) : (i == pick ? 1.0f : 0.0f));
    gst_value_array_append_and_take_value(&row, &w);
  }
  gst_value_array_append_and_take_value(&matrix, &row);
  g_object_set_property(G_OBJECT(conv), "mix-matrix", &matrix);
  g_value_unset(&matrix);
}

inline gst::ElementPtr MakeQueue() {
  auto q = gst::MakeElement("queue");
  // Leaky: a stalled branch drops its own oldest audio instead of blocking the floor tee.
  g_object_set(q.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(200 * GST_MSECOND),
               "silent", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(q.get()), "leaky", "downstream");
  return q;
}

inline domain::Status Missing(const std::string& factory) {
  return domain::Internal("GStreamer element '" + factory + "' is missing (install its plugin)");
}

// An ERROR or WARNING bus message as "element: message (debug)"; nullopt for any other message.
struct BusProblem {
  bool error;
  std::string text;
};
inline std::optional<BusProblem> ReadBusProblem(GstMessage* msg) {
  const bool error = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
  if (!error && GST_MESSAGE_TYPE(msg) != GST_MESSAGE_WARNING) return std::nullopt;
  gst::ErrorPtr err;
  gchar* raw_dbg = nullptr;
  if (error)
    gst_message_parse_error(msg, err.out(), &raw_dbg);
  else
    gst_message_parse_warning(msg, err.out(), &raw_dbg);
  gst::GCharPtr dbg(raw_dbg);
  return BusProblem{
      error, std::string(GST_OBJECT_NAME(msg->src)) + ": " + err.message() + (dbg.get() ? " (" + dbg.str() + ")" : "")};
}

// Downstream first, so no element pushes into one that is not yet playing.
inline void SyncStates(std::vector<gst::ElementPtr>& elements) {
  for (auto it = elements.rbegin(); it != elements.rend(); ++it) gst_element_sync_state_with_parent(it->get());
}

}  // namespace tilmash::graph::parts
