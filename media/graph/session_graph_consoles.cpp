// Consoles in the session graph: SRTP ingest -> decode -> tee -> (queue -> gain -> mixer) per
// output channel (the booth's A, B, C). Selecting an output or a mic press is a gain change,
// made by the media session on the GainRamps it shares with this graph.
#include <memory>

#include "graph/graph_parts.h"
#include "graph/session_graph.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Status;
using namespace parts;

Status SessionGraph::LinkConsoleOutput(Console& c, const std::string& channel, std::shared_ptr<GainRamp> gain) {
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->mixer) return domain::NotFound("no mixer for channel " + channel);
  auto out = std::make_unique<ConsoleOutput>();
  out->channel = channel;
  out->gain = std::move(gain);
  out->mixer = ch->second->mixer;
  auto queue = MakeQueue();
  out->branch.elements = {queue, gst::ElementPtr::Ref(out->gain->element())};
  if (Status s = AddAndLink(out->branch); !s.ok()) return s;
  out->mixer_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(out->mixer.get(), "sink_%u"));
  gst::PadPtr gain_src = gst::PadPtr::Adopt(gst_element_get_static_pad(out->gain->element(), "src"));
  bool linked = gst_pad_link(gain_src.get(), out->mixer_pad.get()) == GST_PAD_LINK_OK;
  // Playing before the console's tee pushes into it (a tee stops its source at a FLUSHING pad).
  SyncStates(out->branch.elements);
  out->tee_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(c.tee.get(), "src_%u"));
  gst::PadPtr queue_sink = gst::PadPtr::Adopt(gst_element_get_static_pad(queue.get(), "sink"));
  linked = linked && gst_pad_link(out->tee_pad.get(), queue_sink.get()) == GST_PAD_LINK_OK;
  if (!linked) return domain::Internal("cannot link a console to the mixer of " + channel);
  c.outputs[channel] = std::move(out);
  return Status::Ok();
}

Status SessionGraph::AddConsole(const std::string& id, IngestPlan ingest, const ConsoleGains& outputs,
                                domain::LinkCallback on_link) {
  if (consoles_.count(id)) return domain::AlreadyExists("console " + id);
  auto c = std::make_unique<Console>();
  if (Status s = BuildRtpIngest(c->branch, ingest); !s.ok()) return s;
  c->socket = ingest.socket;
  c->guard = ingest.guard;
  c->on_link = std::move(on_link);
  c->added_us = g_get_monotonic_time();
  c->tee = gst::MakeElement("tee");
  if (!c->tee) return Missing("tee");
  g_object_set(c->tee.get(), "allow-not-linked", TRUE, nullptr);
  c->branch.elements.push_back(c->tee);
  if (Status s = AddAndLink(c->branch); !s.ok()) return s;
  for (const auto& [ch, gain] : outputs)
    if (Status s = LinkConsoleOutput(*c, ch, gain); !s.ok()) return s;
  SyncStates(c->branch.elements);
  gst_bin_recalculate_latency(GST_BIN(pipeline_.get()));
  log::Get("mix")->info("session {}: console ingest console={} source='{}'", session_, id, c->guard->source());
  consoles_[id] = std::move(c);
  WatchLinks();
  return Status::Ok();
}

Status SessionGraph::SetConsoleOutputs(const std::string& id, const ConsoleGains& outputs) {
  auto it = consoles_.find(id);
  if (it == consoles_.end()) return domain::NotFound("no media for console " + id);
  Console& c = *it->second;
  for (auto out = c.outputs.begin(); out != c.outputs.end();) {
    if (outputs.count(out->first)) {
      ++out;
      continue;
    }
    std::shared_ptr<ConsoleOutput> gone(std::move(out->second));
    out = c.outputs.erase(out);
    Detach(c.tee.get(), gone->tee_pad, gone);
  }
  for (const auto& [ch, gain] : outputs)
    if (!c.outputs.count(ch))
      if (Status s = LinkConsoleOutput(c, ch, gain); !s.ok()) return s;
  return Status::Ok();
}

void SessionGraph::RemoveConsole(const std::string& id) {
  // Its ingest stops first (the console's Branch is torn down before its outputs), so nothing
  // flows into the outputs when they leave their mixers.
  consoles_.erase(id);
  WatchLinks();
}

}  // namespace tilmash::graph
