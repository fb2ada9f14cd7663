#include <gst/gst.h>

#include "log/log.h"

namespace tilmash::log {

namespace {
void OnGstLog(GstDebugCategory* category, GstDebugLevel level, const gchar* file, const gchar* function, gint line,
              GObject* object, GstDebugMessage* message, gpointer) {
  static auto logger = Get("gst");
  spdlog::level::level_enum lvl = level <= GST_LEVEL_ERROR     ? spdlog::level::err
                                  : level <= GST_LEVEL_WARNING ? spdlog::level::warn
                                  : level <= GST_LEVEL_INFO    ? spdlog::level::info
                                  : level <= GST_LEVEL_DEBUG   ? spdlog::level::debug
                                                               : spdlog::level::trace;
  if (!logger->should_log(lvl)) return;
  logger->log(lvl, "{} {}:{} {}", gst_debug_category_get_name(category), file, line, gst_debug_message_get(message));
}
}  // namespace

void RouteGStreamerDebug() {
  gst_debug_remove_log_function(gst_debug_log_default);
  gst_debug_add_log_function(OnGstLog, nullptr, nullptr);
  // Warnings and errors by default; GST_DEBUG still raises it per category.
  if (!g_getenv("GST_DEBUG")) {
    gst_debug_set_default_threshold(GST_LEVEL_WARNING);
    // hlssink2's file sink warns "ignored SEGMENT event in time format" at every segment: by
    // design (it writes bytes, not time), so not a technician's concern.
    gst_debug_set_threshold_for_name("gio_base_sink", GST_LEVEL_ERROR);
    // A WebRTC viewer's appsrc drops its oldest packet, by design, while webrtcbin negotiates.
    gst_debug_set_threshold_for_name("appsrc", GST_LEVEL_ERROR);
    // webrtcbin's RTP session warns per packet until its transport reports a latency; it only
    // leaves the packet's running time out of its RTCP bookkeeping.
    gst_debug_set_threshold_for_name("rtpsession", GST_LEVEL_ERROR);
  }
}

}  // namespace tilmash::log
