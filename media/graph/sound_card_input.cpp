#include "graph/sound_card_input.h"

#include <cstdlib>

#include "graph/graph_parts.h"

namespace tilmash::graph {

namespace {

constexpr const char* kTestPrefix = "test:";

// One output channel from the card's N: set on the converter when the card's caps say N (the
// matrix must match them, and the card decides how many channels it opens with).
GstPadProbeReturn OnCaps(GstPad* /*pad*/, GstPadProbeInfo* info, gpointer data) {
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS) return GST_PAD_PROBE_OK;
  GstCaps* caps = nullptr;
  gst_event_parse_caps(event, &caps);
  int channels = 1;
  if (caps && gst_caps_get_size(caps) > 0)
    gst_structure_get_int(gst_caps_get_structure(caps, 0), "channels", &channels);
  auto* conv = static_cast<GstElement*>(data);
  const auto pick = guint(GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(conv), "tilmash-channel")));
  parts::SetMonoMix(conv, uint32_t(channels > 0 ? channels : 1), pick);
  return GST_PAD_PROBE_OK;
}

}  // namespace

gst::ElementPtr SoundCardElement(const std::string& device, std::string* missing) {
  if (device.rfind(kTestPrefix, 0) == 0) {
    auto src = parts::Make("audiotestsrc", missing);
    if (!src) return src;
    const double hz = std::atof(device.c_str() + std::string(kTestPrefix).size());
    g_object_set(src.get(), "is-live", TRUE, "samplesperbuffer", 48, "freq", hz > 0 ? hz : 440.0, "volume", 0.1,
                 nullptr);
    return src;
  }
  auto src = parts::Make("alsasrc", missing);
  if (!src) return src;
  // 1 ms periods in a 10 ms ring: what the card adds to the floor's latency.
  g_object_set(src.get(), "device", device.c_str(), "latency-time", gint64(1000), "buffer-time", gint64(10000),
               nullptr);
  return src;
}

domain::Status CheckSoundCard(const domain::SoundCardSource& card, const std::string& field) {
  std::string missing;
  auto src = SoundCardElement(card.device, &missing);
  if (!src)
    return domain::Internal(field + ".device: GStreamer element '" + missing +
                            "' is missing (install gstreamer1.0-alsa)");
  gst::ElementPtr pipeline = gst::ElementPtr::AdoptSink(gst_pipeline_new(nullptr));
  gst_bin_add(GST_BIN(pipeline.get()), src.get());
  const GstStateChangeReturn r = gst_element_set_state(pipeline.get(), GST_STATE_READY);
  std::string why;
  if (r == GST_STATE_CHANGE_FAILURE) {
    gst::GObjectPtr<GstBus> bus = gst::GObjectPtr<GstBus>::Adopt(gst_element_get_bus(pipeline.get()));
    while (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(m, &err, &debug);
      if (why.empty() && err) why = err->message;
      if (debug && why.find('(') == std::string::npos) {
        // The driver's reason (e.g. "No such file or directory") is in the debug text.
        const std::string d = debug;
        if (const auto at = d.rfind(": "); at != std::string::npos) why += " (" + d.substr(at + 2) + ")";
      }
      g_clear_error(&err);
      g_free(debug);
      gst_message_unref(m);
    }
    if (why.empty()) why = "it cannot be opened";
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (r == GST_STATE_CHANGE_FAILURE) return domain::Unavailable(field + ".device '" + card.device + "': " + why);
  return domain::Status::Ok();
}

domain::Result<std::vector<gst::ElementPtr>> BuildSoundCardInput(const domain::SoundCardSource& card) {
  std::string missing;
  auto src = SoundCardElement(card.device, &missing);
  auto conv = parts::Make("audioconvert", &missing);
  auto res = parts::Make("audioresample", &missing);
  if (!missing.empty()) return parts::Missing(missing);
  g_object_set_data(G_OBJECT(conv.get()), "tilmash-channel", GUINT_TO_POINTER(card.channel));
  gst::PadPtr pad = gst::PadPtr::Adopt(gst_element_get_static_pad(src.get(), "src"));
  gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, OnCaps, conv.get(), nullptr);
  return std::vector<gst::ElementPtr>{src, conv, res, parts::MakeCapsFilter(parts::kRawCaps)};
}

}  // namespace tilmash::graph
