#include "graph/sound_card_input.h"

#include "graph/graph_parts.h"
#include "sound/sound_device.h"

namespace tilmash::graph {

namespace {

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
  // 1 ms periods in a 10 ms ring: what the card adds to the floor's latency.
  return sound::CaptureElement(device, 1000, 10000, missing);
}

domain::Status CheckSoundCard(const domain::SoundCardSource& card, const std::string& field) {
  std::string missing;
  auto src = SoundCardElement(card.device, &missing);
  if (!src)
    return domain::Internal(field + ".device: GStreamer element '" + missing +
                            "' is missing (install gstreamer1.0-alsa)");
  gst::ElementPtr pipeline = gst::ElementPtr::AdoptSink(gst_pipeline_new(nullptr));
  gst_bin_add(GST_BIN(pipeline.get()), src.get());
  const std::string why = sound::OpenError(pipeline.get());
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  if (!why.empty()) return domain::Unavailable(field + ".device '" + card.device + "': " + why);
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
