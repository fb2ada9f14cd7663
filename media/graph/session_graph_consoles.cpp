// Consoles in the session graph: SRTP ingest -> decode -> tee -> (queue -> gain -> mixer) per
// output channel (the booth's A, B, C). Selecting an output or a mic press is a gain change.
#include <chrono>
#include <memory>

#include "graph/session_graph.h"
#include "gst/media_thread.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;

void SessionGraph::DetachTeePad(GstElement* tee, GstPad* pad) {
  // The probe may fire after the bounded wait below has given up: it shares the completion.
  auto unlinked = new std::shared_ptr<gst::Completion>(std::make_shared<gst::Completion>());
  std::shared_ptr<gst::Completion> done = *unlinked;
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_IDLE,
      [](GstPad* p, GstPadProbeInfo*, gpointer data) {
        if (GstPad* peer = gst_pad_get_peer(p)) {
          gst_pad_unlink(p, peer);
          gst_object_unref(peer);
        }
        (*static_cast<std::shared_ptr<gst::Completion>*>(data))->Set();
        return GST_PAD_PROBE_REMOVE;
      },
      unlinked, [](gpointer data) { delete static_cast<std::shared_ptr<gst::Completion>*>(data); });
  // A tee whose source has stopped is idle at once; bound the wait in any case.
  done->WaitFor(std::chrono::seconds(1));
  gst_element_release_request_pad(tee, pad);
}

Status SessionGraph::LinkConsoleOutput(Console& c, const std::string& channel) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->mixer) return domain::NotFound("no mixer for channel " + channel);
  auto out = std::make_unique<ConsoleOutput>();
  out->channel = channel;
  out->gain = std::make_unique<GainRamp>(nullptr, 0.0);
  auto queue = gst::MakeElement("queue");
  g_object_set(queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(200 * GST_MSECOND),
               "silent", TRUE, nullptr);
  gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
  out->branch.elements = {queue, gst::ElementPtr::Ref(out->gain->element())};
  if (Status s = AddAndLink(out->branch); !s.ok()) return s;
  out->mixer_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(ch->second->mixer.get(), "sink_%u"));
  GstPad* gain_src = gst_element_get_static_pad(out->gain->element(), "src");
  bool linked = gst_pad_link(gain_src, out->mixer_pad.get()) == GST_PAD_LINK_OK;
  gst_object_unref(gain_src);
  // Playing before the console's tee pushes into it (a tee stops its source at a FLUSHING pad).
  for (auto it = out->branch.elements.rbegin(); it != out->branch.elements.rend(); ++it)
    gst_element_sync_state_with_parent(it->get());
  out->tee_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(c.tee.get(), "src_%u"));
  GstPad* queue_sink = gst_element_get_static_pad(queue.get(), "sink");
  linked = linked && gst_pad_link(out->tee_pad.get(), queue_sink) == GST_PAD_LINK_OK;
  gst_object_unref(queue_sink);
  if (!linked) return domain::Internal("cannot link a console to the mixer of " + channel);
  c.outputs[channel] = std::move(out);
  return Status::Ok();
}

void SessionGraph::UnlinkConsoleOutput(Console& c, const std::string& channel) {
  auto it = c.outputs.find(channel);
  if (it == c.outputs.end()) return;
  ConsoleOutput& out = *it->second;
  DetachTeePad(c.tee.get(), out.tee_pad.get());
  Teardown(out.branch);
  if (auto ch = channels_.find(channel); ch != channels_.end() && ch->second->mixer)
    gst_element_release_request_pad(ch->second->mixer.get(), out.mixer_pad.get());
  c.outputs.erase(it);
}

Result<domain::IngestInfo> SessionGraph::AddConsole(const std::string& id, const std::vector<std::string>& outputs,
                                                    const domain::SrtpKeying& key, uint32_t ssrc) {
  auto c = std::make_unique<Console>();
  auto info = BuildRtpIngest(c->branch, id, key, ssrc);
  if (!info.ok()) return info.status();
  c->tee = gst::MakeElement("tee");
  g_object_set(c->tee.get(), "allow-not-linked", TRUE, nullptr);
  c->branch.elements.push_back(c->tee);
  if (Status s = AddAndLink(c->branch); !s.ok()) return s;
  for (const auto& ch : outputs)
    if (Status s = LinkConsoleOutput(*c, ch); !s.ok()) return s;
  for (auto it = c->branch.elements.rbegin(); it != c->branch.elements.rend(); ++it)
    gst_element_sync_state_with_parent(it->get());
  gst_bin_recalculate_latency(GST_BIN(pipeline_.get()));
  log::Get("mix")->info("session {}: console {} ingest on port {}", session_, id, info->endpoint.port);
  consoles_[id] = std::move(c);
  return info;
}

Status SessionGraph::SetConsoleOutputs(const std::string& id, const std::vector<std::string>& outputs) {
  auto it = consoles_.find(id);
  if (it == consoles_.end()) return domain::NotFound("no media for console " + id);
  Console& c = *it->second;
  std::vector<std::string> gone;
  for (const auto& [ch, out] : c.outputs)
    if (std::find(outputs.begin(), outputs.end(), ch) == outputs.end()) gone.push_back(ch);
  for (const auto& ch : gone) UnlinkConsoleOutput(c, ch);
  for (const auto& ch : outputs)
    if (!c.outputs.count(ch))
      if (Status s = LinkConsoleOutput(c, ch); !s.ok()) return s;
  return Status::Ok();
}

void SessionGraph::RemoveConsole(const std::string& id) {
  auto it = consoles_.find(id);
  if (it == consoles_.end()) return;
  Console& c = *it->second;
  Teardown(c.branch);  // stops the ingest thread first: nothing flows into the outputs any more
  for (auto& [ch, out] : c.outputs) {
    Teardown(out->branch);
    if (auto m = channels_.find(ch); m != channels_.end() && m->second->mixer)
      gst_element_release_request_pad(m->second->mixer.get(), out->mixer_pad.get());
  }
  consoles_.erase(it);
}

void SessionGraph::SetChannelMix(const std::string& channel, const domain::ChannelMix& mix) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->floor_gain) return;
  ch->second->floor_gain->RampTo(DbToLinear(mix.floor_gain_db));
  for (const auto& [id, db] : mix.console_gain_db) {
    auto c = consoles_.find(id);
    if (c == consoles_.end()) continue;
    auto out = c->second->outputs.find(channel);
    if (out != c->second->outputs.end()) out->second->gain->RampTo(DbToLinear(db));
  }
  log::Get("mix")->debug("session {}: channel {} floor {:.1f} dB", session_, channel, mix.floor_gain_db);
}

}  // namespace tilmash::graph
