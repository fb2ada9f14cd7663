// Listener routes and balance mixes. A balance is mixed server-side only when a listener asks:
//   floor tee           -> queue -> volume(1 - b) -+
//   channel's raw tee   -> queue -> volume(b)     -+-> audiomixer -> limiter -> Opus -> RTP -> fan-out
// One mix per channel and balance, shared by every listener who asked for the same one (the
// graph counts them) and ended with its last; the channel's own stream (b = 100 %) stays
// encoded once. Both inputs carry the same running times (the channel's mixer keeps the
// floor's timestamps), so the mixer lines them up to the sample and the original is not heard
// twice with an offset.
#include "graph/graph_parts.h"
#include "graph/session_graph.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;
using namespace parts;

void SessionGraph::RouteListener(fanout::ListenerKey listener, const Route& from, const Route& to) {
  fanout::ChannelKey target = 0;
  if (to.Mixed()) {
    auto mix = AcquireMix(to.channel, to.percent);
    if (mix.ok())
      target = mix.value();
    else
      log::Get("mix")->error("session {}: no {} % mix of {}: {}", session_, to.percent, to.channel,
                             mix.status().message());
  } else if (auto ch = channels_.find(to.channel); ch != channels_.end()) {
    target = ch->second->key;
  }
  fanout_->SwitchListener(listener, target);
  if (from.Mixed()) ReleaseMix(from.channel, from.percent);
}

Result<fanout::ChannelKey> SessionGraph::AcquireMix(const std::string& channel, uint32_t percent) {
  if (auto it = mixes_.find({channel, percent}); it != mixes_.end()) {
    ++it->second->listeners;
    return it->second->out->key;
  }
  auto ch = channels_.find(channel);
  if (ch == channels_.end() || !ch->second->raw_tee)
    return domain::InvalidArgument("interpretation_percent: channel " + channel + " has no interpretation to balance");
  auto m = std::make_unique<BalancedMix>();
  m->channel = channel;
  m->out = std::make_unique<Channel>();
  Channel& out = *m->out;
  out.name = channel + "@" + std::to_string(percent);
  out.key = fanout_->NewChannelKey();
  out.fanout = fanout_;
  out.branch.pipeline = pipeline_;
  std::string missing;
  auto floor_queue = MakeQueue();
  auto channel_queue = MakeQueue();
  auto floor_volume = Make("volume", &missing);
  auto channel_volume = Make("volume", &missing);
  auto mixer = Make("audiomixer", &missing);
  // The channel's audio comes through one more limiter (1.5 ms look-ahead) than the floor: the
  // floor goes through one as well (under its ceiling already, it is a pure delay), so the
  // floor inside the channel and the floor mixed in here line up instead of comb-filtering.
  auto floor_delay = MakeLimiter(&missing);
  auto limiter = MakeLimiter(&missing);
  if (!missing.empty()) return Missing(missing);
  g_object_set(floor_volume.get(), "volume", (100 - percent) / 100.0, nullptr);
  g_object_set(channel_volume.get(), "volume", percent / 100.0, nullptr);
  g_object_set(mixer.get(), "ignore-inactive-pads", TRUE, "latency", guint64(0), "min-upstream-latency",
               guint64(config_.jitter_ms * GST_MSECOND + config_.frame_us * GST_USECOND), "output-buffer-duration",
               guint64(config_.frame_us * GST_USECOND), nullptr);
  gst_util_set_object_arg(G_OBJECT(mixer.get()), "start-time-selection", "first");
  auto caps = MakeCapsFilter(kRawCaps);
  for (auto& e : {floor_queue, channel_queue, floor_delay, floor_volume, channel_volume, mixer, caps, limiter}) {
    gst_bin_add(GST_BIN(pipeline_.get()), e.get());
    out.branch.elements.push_back(e);
  }
  const bool mixed =
      gst_element_link_many(floor_queue.get(), floor_delay.get(), floor_volume.get(), mixer.get(), nullptr) &&
      gst_element_link_many(channel_queue.get(), channel_volume.get(), mixer.get(), nullptr) &&
      gst_element_link_many(mixer.get(), caps.get(), limiter.get(), nullptr);
  if (!mixed) return domain::Internal("cannot link the balance mix of channel " + channel);
  if (Status s = BuildEncoder(out, limiter.get(), false); !s.ok()) return s;
  SyncStates(out.branch.elements);
  m->floor_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(tee_.get(), "src_%u"));
  m->channel_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(ch->second->raw_tee, "src_%u"));
  gst::PadPtr floor_sink = gst::PadPtr::Adopt(gst_element_get_static_pad(floor_queue.get(), "sink"));
  gst::PadPtr channel_sink = gst::PadPtr::Adopt(gst_element_get_static_pad(channel_queue.get(), "sink"));
  const bool linked = m->floor_pad && m->channel_pad &&
                      gst_pad_link(m->floor_pad.get(), floor_sink.get()) == GST_PAD_LINK_OK &&
                      gst_pad_link(m->channel_pad.get(), channel_sink.get()) == GST_PAD_LINK_OK;
  if (!linked) {
    std::shared_ptr<BalancedMix> failed(std::move(m));
    if (failed->floor_pad) Detach(tee_.get(), failed->floor_pad, failed);
    if (failed->channel_pad) Detach(ch->second->raw_tee, failed->channel_pad, failed);
    return domain::Internal("cannot link the balance mix of channel " + channel + " to its sources");
  }
  log::Get("mix")->info("session {}: channel {} mixed at {} % interpretation for listeners who asked", session_,
                        channel, percent);
  m->listeners = 1;
  const fanout::ChannelKey key = out.key;
  mixes_[{channel, percent}] = std::move(m);
  return key;
}

void SessionGraph::ReleaseMix(const std::string& channel, uint32_t percent) {
  auto it = mixes_.find({channel, percent});
  if (it == mixes_.end() || --it->second->listeners > 0) return;
  // Both pads leave their tees between two buffers; the mix goes down once both have.
  std::shared_ptr<BalancedMix> m(std::move(it->second));
  mixes_.erase(it);
  Detach(tee_.get(), m->floor_pad, m);
  if (auto ch = channels_.find(channel); ch != channels_.end() && ch->second->raw_tee)
    Detach(ch->second->raw_tee, m->channel_pad, m);
  log::Get("mix")->info("session {}: the {} % mix of channel {} ended (no listener left)", session_, percent, channel);
}

void SessionGraph::RemoveBalancedMixesOf(const std::string& channel) {
  std::vector<uint32_t> percents;
  for (const auto& [key, m] : mixes_)
    if (key.first == channel) percents.push_back(key.second);
  for (uint32_t p : percents) {
    auto it = mixes_.find({channel, p});
    it->second->listeners = 1;  // the channel goes: its mixes go with it, whoever listens
    ReleaseMix(channel, p);
  }
}

}  // namespace tilmash::graph
