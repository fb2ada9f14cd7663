#include "graph/session_graph.h"

#include "graph/retimestamp.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "graph/aes67_input.h"
#include "graph/gain_ramp.h"
#include "graph/graph_parts.h"
#include "graph/sound_card_input.h"
#include "log/log.h"

namespace tilmash::graph {

using domain::Result;
using domain::Status;
using namespace parts;

namespace {

// How often consoles' links are looked at: a lost link is seen link_loss_ms to this much later.
constexpr guint kLinkPollMs = 5;

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("mix");
  return l;
}

}  // namespace

void SessionGraph::Branch::Teardown() {
  for (auto& e : elements) gst_element_set_state(e.get(), GST_STATE_NULL);
  if (pipeline)
    for (auto& e : elements) gst_bin_remove(GST_BIN(pipeline.get()), e.get());
  elements.clear();
}

SessionGraph::Channel::~Channel() {
  branch.Teardown();  // its streaming threads stop before what they use goes
  if (fanout) fanout->RemoveChannel(key);
}

SessionGraph::ConsoleOutput::~ConsoleOutput() {
  branch.Teardown();
  if (mixer && mixer_pad) gst_element_release_request_pad(mixer.get(), mixer_pad.get());
}

SessionGraph::SessionGraph(std::string session, GraphConfig config, fanout::FanoutEngine* fanout,
                           gst::MediaThread* thread)
    : session_(std::move(session)), config_(std::move(config)), fanout_(fanout), thread_(thread) {}

Result<std::unique_ptr<SessionGraph>> SessionGraph::Create(const std::string& session, const GraphConfig& config,
                                                           fanout::FanoutEngine* fanout, gst::MediaThread* thread) {
  std::unique_ptr<SessionGraph> g(new SessionGraph(session, config, fanout, thread));
  if (Status s = g->Start(); !s.ok()) return s;
  return g;
}

Status SessionGraph::Start() {
  pipeline_ = gst::ElementPtr::AdoptSink(gst_pipeline_new(("session-" + session_).c_str()));
  tee_ = gst::MakeElement("tee", "floor-tee");
  if (!tee_) return Missing("tee");
  g_object_set(tee_.get(), "allow-not-linked", TRUE, nullptr);
  gst_bin_add(GST_BIN(pipeline_.get()), tee_.get());
  gst::BusPtr bus = gst::BusPtr::Adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline_.get())));
  bus_watch_ = gst_bus_add_watch(bus.get(), &SessionGraph::OnBusMessage, this);
  // The clock is chosen, not elected (a sound-card floor would offer the card's): the venue's
  // PTP, whose time AES67 streams carry (session_graph_aes67.cpp), or this host's.
  gst::GstPtr<GstClock> clock = config_.clock ? config_.clock : gst::GstPtr<GstClock>::Adopt(gst_system_clock_obtain());
  gst_pipeline_use_clock(GST_PIPELINE(pipeline_.get()), clock.get());
  if (Status s = SetFloorSource(FloorPlan{}); !s.ok()) return s;
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return domain::Internal("session pipeline failed to start");
  return Status::Ok();
}

SessionGraph::~SessionGraph() {
  link_poll_.reset();
  floor_poll_.reset();
  if (bus_watch_) {
    gst::BusPtr bus = gst::BusPtr::Adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline_.get())));
    gst_bus_remove_watch(bus.get());
  }
  viewers_.clear();
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  // Nothing streams any more: branches still leaving a tee leave now.
  for (auto& d : detaches_) d->Finish();
  detaches_.clear();
  mixes_.clear();
  consoles_.clear();
  channels_.clear();
  floor_.reset();
  RemoveHlsFiles("");
}

void SessionGraph::WatchLinks() {
  const bool wanted = config_.link_loss_ms > 0 && !consoles_.empty();
  if (wanted == bool(link_poll_)) return;
  if (!wanted) {
    link_poll_.reset();
    return;
  }
  link_poll_.reset(g_timeout_source_new(kLinkPollMs));
  g_source_set_callback(link_poll_.get(), &SessionGraph::OnLinkPoll, this, nullptr);
  g_source_attach(link_poll_.get(), g_main_context_get_thread_default());
}

gboolean SessionGraph::OnLinkPoll(gpointer data) {
  auto* self = static_cast<SessionGraph*>(data);
  const int64_t now = g_get_monotonic_time();
  const int64_t limit_us = int64_t(self->config_.link_loss_ms) * 1000;
  std::vector<std::pair<domain::LinkCallback, bool>> changed;
  for (auto& [id, c] : self->consoles_) {
    const int64_t last = std::max(c->guard->last_accepted_us(), c->added_us);
    const bool up = now - last < limit_us;
    if (up == c->link_up) continue;
    c->link_up = up;
    if (up)
      Log()->info("session {}: link back, packets again console={}", self->session_, id);
    else
      Log()->warn("session {}: link lost, its channel goes to the floor console={} silent_ms={}", self->session_, id,
                  (now - last) / 1000);
    if (c->on_link) changed.emplace_back(c->on_link, up);
  }
  // After the walk: what a callback posts runs later, but it must not see a half-walked map.
  for (auto& [fn, up] : changed) fn(up);
  return G_SOURCE_CONTINUE;
}

gboolean SessionGraph::OnBusMessage(GstBus*, GstMessage* msg, gpointer data) {
  auto* self = static_cast<SessionGraph*>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING:
      if (auto p = ReadBusProblem(msg))
        Log()->log(p->error ? spdlog::level::err : spdlog::level::warn, "session {}: {}", self->session_, p->text);
      break;
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency(GST_BIN(self->pipeline_.get()));
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

void SessionGraph::Detach(GstElement* tee, gst::PadPtr pad, std::shared_ptr<void> owned) {
  std::erase_if(detaches_, [](const auto& d) { return d->finished(); });
  detaches_.push_back(TeeDetach::Start(thread_, gst::ElementPtr::Ref(tee), std::move(pad), std::move(owned)));
}

Status SessionGraph::AddAndLink(Branch& b) {
  b.pipeline = pipeline_;
  for (auto& e : b.elements) gst_bin_add(GST_BIN(pipeline_.get()), e.get());
  for (std::size_t i = 1; i < b.elements.size(); ++i) {
    if (!gst_element_link(b.elements[i - 1].get(), b.elements[i].get()))
      return domain::Internal(std::string("cannot link ") + GST_OBJECT_NAME(b.elements[i - 1].get()) + " to " +
                              GST_OBJECT_NAME(b.elements[i].get()));
  }
  return Status::Ok();
}

Status SessionGraph::BuildRtpIngest(Branch& b, IngestPlan& ingest) {
  std::string missing;
  auto src = Make("udpsrc", &missing);
  auto jb = Make("rtpjitterbuffer", &missing);
  auto depay = Make("rtpopusdepay", &missing);
  auto dec = Make("opusdec", &missing);
  auto conv = Make("audioconvert", &missing);
  auto res = Make("audioresample", &missing);
  if (!missing.empty()) return Missing(missing);
  gst::CapsPtr caps(
      gst_caps_from_string("application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96"));
  g_object_set(src.get(), "socket", ingest.socket.get(), "close-socket", FALSE, "caps", caps.get(), "do-timestamp",
               TRUE, "buffer-size", 1 << 20, nullptr);
  // Latency knobs set on purpose: a LAN jitter buffer (a browser console's WAN jitter is taken
  // out before, by its bridge's playout queue). A lost packet is a gap event (do-lost), which the
  // decoder conceals (PLC) instead of closing the gap in the stream.
  g_object_set(jb.get(), "latency", guint(config_.jitter_ms), "do-lost", TRUE, nullptr);
  g_object_set(dec.get(), "plc", TRUE, nullptr);
  gst::PadPtr srcpad = gst::PadPtr::Adopt(gst_element_get_static_pad(src.get(), "src"));
  ingest.guard->Attach(srcpad.get());
  auto raw = MakeCapsFilter(kRawCaps);
  gst::PadPtr raw_src = gst::PadPtr::Adopt(gst_element_get_static_pad(raw.get(), "src"));
  ingest.guard->monitor().Attach(raw_src.get());
  // Regular timestamps for the decoded audio (retimestamp.h): gain ramps and the mixer place
  // it by where it is in the stream, not by when each packet happened to arrive; on the
  // session's frame grid, so the mixers take its buffers whole.
  Retimestamp::Attach(raw_src.get(), raw.get(), GstClockTime(config_.frame_us) * GST_USECOND);
  b.elements = {src, jb, depay, dec, conv, res, raw};
  return Status::Ok();
}

Result<std::vector<gst::ElementPtr>> SessionGraph::BuildFloorInput(FloorInput& input) {
  Branch b;
  if (input.ingest) {
    if (Status s = BuildRtpIngest(b, *input.ingest); !s.ok()) return s;
    return std::move(b.elements);
  }
  if (auto* card = std::get_if<domain::SoundCardSource>(&input.source)) return BuildSoundCardInput(*card);
  if (auto* aes67 = std::get_if<domain::Aes67Source>(&input.source); aes67 && input.aes67 && input.aes67_socket)
    return BuildAes67Input(*input.aes67, aes67->channel, input.aes67_socket.get(), unsigned(config_.jitter_ms));
  std::string missing;
  auto src = Make("audiotestsrc", &missing);
  if (!src) return Missing(missing);
  // One 10 ms buffer per tick: the live source adds no more latency than a frame.
  g_object_set(src.get(), "is-live", TRUE, "samplesperbuffer", 48000 * config_.frame_us / 1000000, nullptr);
  if (auto* tone = std::get_if<domain::ToneSource>(&input.source)) {
    gst_util_set_object_arg(G_OBJECT(src.get()), "wave", "sine");
    g_object_set(src.get(), "freq", tone->frequency_hz, "volume", DbToLinear(tone->level_dbfs), nullptr);
  } else {
    gst_util_set_object_arg(G_OBJECT(src.get()), "wave", "silence");
  }
  return std::vector<gst::ElementPtr>{src, MakeCapsFilter(kRawCaps)};
}

namespace {
std::string Describe(const FloorInput& in) {
  if (in.ingest) return "RTP on " + in.ingest->guard->source();
  if (auto* aes67 = std::get_if<domain::Aes67Source>(&in.source); aes67 && in.aes67) {
    const domain::Aes67Stream& stream = *in.aes67;
    return "AES67 '" + stream.name + "' on " + stream.address + ":" + std::to_string(stream.port) + " (L" +
           std::to_string(stream.bits) + ", " + std::to_string(stream.channels) + " ch, " +
           std::to_string(stream.ptime_us) + " us packets, " +
           (aes67->channel ? "channel " + std::to_string(aes67->channel) : std::string("mixed to mono")) + ")";
  }
  if (auto* card = std::get_if<domain::SoundCardSource>(&in.source))
    return "sound card " + card->device + " (" +
           (card->channel ? "channel " + std::to_string(card->channel) : std::string("mixed to mono")) + ")";
  return std::holds_alternative<domain::ToneSource>(in.source) ? std::string("a test tone") : std::string("silence");
}

bool LinkChain(const std::vector<gst::ElementPtr>& chain) {
  for (std::size_t i = 1; i < chain.size(); ++i)
    if (!gst_element_link(chain[i - 1].get(), chain[i].get())) return false;
  return true;
}
}  // namespace

Status SessionGraph::SetFloorSource(FloorPlan plan) {
  std::string missing;
  auto primary = BuildFloorInput(plan.primary);
  if (!primary.ok()) return primary.status();
  std::vector<gst::ElementPtr> backup;
  if (plan.backup) {
    auto built = BuildFloorInput(*plan.backup);
    if (!built.ok()) return built.status();
    backup = std::move(built).value();
  }
  auto limiter = MakeLimiter(&missing);
  if (!limiter) return Missing(missing);
  auto b = std::make_unique<Branch>();
  floor_poll_.reset();
  floor_.reset();  // stops the old sources' threads, then unlinks them from the tee
  if (!plan.backup) {
    // Today's path exactly: no mixer, nothing added to the floor's latency.
    b->elements = std::move(primary).value();
    b->elements.push_back(limiter);
    if (Status s = AddAndLink(*b); !s.ok()) return s;
  } else {
    auto mixer = Make("audiomixer", &missing);
    if (!mixer) return Missing(missing);
    // As a channel's mixer: a source that stops (the primary) is waited for at most its latency.
    g_object_set(mixer.get(), "ignore-inactive-pads", TRUE, "latency", guint64(0), "min-upstream-latency",
                 guint64(config_.jitter_ms * GST_MSECOND + config_.frame_us * GST_USECOND), "output-buffer-duration",
                 guint64(config_.frame_us * GST_USECOND), nullptr);
    gst_util_set_object_arg(G_OBJECT(mixer.get()), "start-time-selection", "first");
    std::vector<gst::ElementPtr> p = std::move(primary).value(), k = std::move(backup);
    p.push_back(gst::ElementPtr::Ref(plan.primary_gain->element()));
    k.push_back(gst::ElementPtr::Ref(plan.backup_gain->element()));
    std::vector<gst::ElementPtr> out{mixer, MakeCapsFilter(kRawCaps), limiter};
    b->pipeline = pipeline_;
    for (const std::vector<gst::ElementPtr>* chain : {&p, &k, &out})
      for (const auto& e : *chain) {
        gst_bin_add(GST_BIN(pipeline_.get()), e.get());
        b->elements.push_back(e);  // sources first: they stop before the mixer goes
      }
    if (!LinkChain(p) || !LinkChain(k) || !gst_element_link(p.back().get(), mixer.get()) ||
        !gst_element_link(k.back().get(), mixer.get()) || !LinkChain(out))
      return domain::Internal("cannot link the floor's primary and backup to their mixer");
  }
  if (!gst_element_link(b->elements.back().get(), tee_.get())) return domain::Internal("cannot link floor to tee");
  SyncStates(b->elements);
  floor_ = std::move(b);
  floor_guard_ = plan.primary.ingest ? plan.primary.ingest->guard : nullptr;
  floor_socket_ = plan.primary.ingest ? plan.primary.ingest->socket : nullptr;
  floor_backup_socket_ = plan.backup && plan.backup->ingest ? plan.backup->ingest->socket : nullptr;
  floor_primary_gain_ = plan.primary_gain;
  floor_backup_gain_ = plan.backup_gain;
  floor_on_primary_ = std::move(plan.on_primary);
  floor_since_us_ = g_get_monotonic_time();
  floor_primary_up_ = true;
  floor_stable_since_us_ = 0;
  if (plan.backup && floor_guard_ && floor_on_primary_ && config_.floor_loss_ms > 0) {
    floor_poll_.reset(g_timeout_source_new(kLinkPollMs));
    g_source_set_callback(floor_poll_.get(), &SessionGraph::OnFloorPoll, this, nullptr);
    g_source_attach(floor_poll_.get(), g_main_context_get_thread_default());
  }
  log::Get("floor")->info("session {}: floor source is now {}{}", session_, Describe(plan.primary),
                          plan.backup ? ", backup " + Describe(*plan.backup) : std::string());
  return Status::Ok();
}

gboolean SessionGraph::OnFloorPoll(gpointer data) {
  auto* self = static_cast<SessionGraph*>(data);
  const int64_t now = g_get_monotonic_time();
  const int64_t last = std::max(self->floor_guard_->last_accepted_us(), self->floor_since_us_);
  const bool gap = now - last >= int64_t(self->config_.floor_loss_ms) * 1000;
  if (self->floor_primary_up_) {
    if (!gap) return G_SOURCE_CONTINUE;
    self->floor_primary_up_ = false;
    self->floor_stable_since_us_ = 0;
    log::Get("floor")->warn("session {}: primary floor lost silent_ms={}", self->session_, (now - last) / 1000);
  } else {
    if (gap) {
      self->floor_stable_since_us_ = 0;
      return G_SOURCE_CONTINUE;
    }
    if (self->floor_stable_since_us_ == 0) self->floor_stable_since_us_ = last;
    if (now - self->floor_stable_since_us_ < int64_t(self->config_.floor_return_ms) * 1000) return G_SOURCE_CONTINUE;
    self->floor_primary_up_ = true;
    log::Get("floor")->info("session {}: primary floor back stable_ms={}", self->session_,
                            (now - self->floor_stable_since_us_) / 1000);
  }
  // Last: the callback may replace the floor (and this source) through the domain.
  auto on_primary = self->floor_on_primary_;
  on_primary(self->floor_primary_up_);
  return G_SOURCE_CONTINUE;
}

Status SessionGraph::BuildEncoder(Channel& c, GstElement* upstream, bool viewers) {
  std::string missing;
  auto conv = Make("audioconvert", &missing);
  auto enc = Make("opusenc", &missing);
  auto opus_tee = Make("tee", &missing);
  auto pay = Make("rtpopuspay", &missing);
  auto sink = Make("appsink", &missing);
  if (!missing.empty()) return Missing(missing);
  // opusenc's frame sizes by name: "2.5", "5", "10", "20".
  gst_util_set_object_arg(G_OBJECT(enc.get()), "frame-size",
                          config_.frame_us == 2500 ? "2.5" : std::to_string(config_.frame_us / 1000).c_str());
  gst_util_set_object_arg(G_OBJECT(enc.get()), "bandwidth", "fullband");
  gst_util_set_object_arg(G_OBJECT(enc.get()), "audio-type", "restricted-lowdelay");
  g_object_set(enc.get(), "bitrate", config_.opus_bitrate, nullptr);
  g_object_set(pay.get(), "pt", 111u, nullptr);
  // The fan-out sends as soon as a packet exists: no clock sync, no processing deadline.
  g_object_set(sink.get(), "sync", FALSE, "async", FALSE, "processing-deadline", guint64(0), "enable-last-sample",
               FALSE, "max-buffers", 64u, "drop", TRUE, nullptr);
  GstAppSinkCallbacks cb{};
  cb.new_sample = &SessionGraph::OnSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink.get()), &cb, &c, nullptr);
  // The tee hands the encoded Opus to WebRTC viewers too; the fan-out's payloader is its first pad.
  g_object_set(opus_tee.get(), "allow-not-linked", TRUE, nullptr);
  c.opus_tee = opus_tee.get();
  std::vector<gst::ElementPtr> tail{conv, enc, opus_tee, pay, sink};
  for (auto& e : tail) {
    gst_bin_add(GST_BIN(pipeline_.get()), e.get());
    c.branch.elements.push_back(e);
  }
  if (!gst_element_link_many(upstream, conv.get(), enc.get(), opus_tee.get(), pay.get(), sink.get(), nullptr))
    return domain::Internal("cannot link the encoder of channel " + c.name);
  if (c.level) {
    gst::PadPtr in = gst::PadPtr::Adopt(gst_element_get_static_pad(conv.get(), "sink"));
    c.level->Attach(in.get());
  }
  // The gate: the mix runs always (meters, HLS, AES67 and balance mixes take it raw), Opus only
  // while its packets have a taker.
  c.audience = c.fanout->Audience(c.key);
  gst::PadPtr enc_in = gst::PadPtr::Adopt(gst_element_get_static_pad(enc.get(), "sink"));
  gst_pad_add_probe(enc_in.get(), GST_PAD_PROBE_TYPE_BUFFER, &SessionGraph::OnEncoderInput, &c, nullptr);
  if (!viewers) return Status::Ok();
  // Viewers' samples: handed to their pipelines in this thread (a non-blocking push each).
  auto to_viewers = Make("appsink", &missing);
  if (!to_viewers) return Missing(missing);
  g_object_set(to_viewers.get(), "sync", FALSE, "async", FALSE, "processing-deadline", guint64(0), "enable-last-sample",
               FALSE, "max-buffers", 8u, "drop", TRUE, nullptr);
  GstAppSinkCallbacks vcb{};
  vcb.new_sample = &SessionGraph::OnViewerSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(to_viewers.get()), &vcb, &c, nullptr);
  gst_bin_add(GST_BIN(pipeline_.get()), to_viewers.get());
  c.branch.elements.push_back(to_viewers);
  if (!gst_element_link(opus_tee.get(), to_viewers.get()))
    return domain::Internal("cannot link the viewers' sink of channel " + c.name);
  return Status::Ok();
}

GstPadProbeReturn SessionGraph::OnEncoderInput(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* c = static_cast<Channel*>(data);
  // Takers: fan-out listeners of the channel (headsets, venue groups, WebRTC viewers on the
  // shared port, edges, booths' returns), its recorder, webrtcbin viewers.
  const bool taken = c->audience->load(std::memory_order_relaxed) > 0 || (c->record && c->record->on()) ||
                     c->webrtcbin_viewers.load(std::memory_order_relaxed) > 0;
  // After a pause the encoder sees the jump in timestamps and resyncs to it by itself
  // (GstAudioEncoder's discontinuity check): the buffer is not touched here.
  return taken ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

GstFlowReturn SessionGraph::OnViewerSample(GstAppSink* sink, gpointer data) {
  auto* c = static_cast<Channel*>(data);
  gst::SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_OK;
  std::lock_guard lock(c->viewers_mu);
  if (c->viewer_srcs.empty()) return GST_FLOW_OK;
  // Viewers' pipelines run on our clock and base time, so the timestamps stay valid there.
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  if (!buf) return GST_FLOW_OK;
  GstCaps* caps = gst_sample_get_caps(sample.get());
  // A viewer's flow (flushing, not negotiated, full) is its own: always OK here.
  for (auto& v : c->viewer_srcs) {
    if (!v.has_caps && caps) {
      gst_app_src_set_caps(GST_APP_SRC(v.src), caps);
      v.has_caps = true;
    }
    gst_app_src_push_buffer(GST_APP_SRC(v.src), gst_buffer_ref(buf));
  }
  return GST_FLOW_OK;
}

GstFlowReturn SessionGraph::OnSample(GstAppSink* sink, gpointer data) {
  auto* c = static_cast<Channel*>(data);
  gst::SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_OK;
  GstBuffer* buf = gst_sample_get_buffer(sample.get());
  GstMapInfo map;
  if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    c->fanout->Push(c->key, map.data, map.size);
    if (c->record) c->record->Push(map.data, map.size);
    gst_buffer_unmap(buf, &map);
  }
  return GST_FLOW_OK;
}

Status SessionGraph::AddChannel(const std::string& name, std::shared_ptr<GainRamp> floor_gain,
                                std::shared_ptr<LevelMeter> level, std::shared_ptr<RecordTap> record,
                                gst::ElementPtr limiter) {
  if (channels_.count(name)) return domain::AlreadyExists("channel " + name);
  auto c = std::make_unique<Channel>();
  c->name = name;
  c->level = std::move(level);
  c->record = std::move(record);
  c->key = fanout_->NewChannelKey();
  c->fanout = fanout_;
  c->branch.pipeline = pipeline_;
  auto queue = MakeQueue();
  gst_bin_add(GST_BIN(pipeline_.get()), queue.get());
  c->branch.elements.push_back(queue);
  GstElement* upstream = queue.get();
  std::string missing;
  if (name != domain::kFloorChannel) {
    c->floor_gain = floor_gain ? std::move(floor_gain) : std::make_shared<GainRamp>(nullptr, 1.0);
    auto mixer = Make("audiomixer", &missing);
    if (!limiter) limiter = MakeLimiter(&missing);
    if (!missing.empty()) return Missing(missing);
    // Do not wait for consoles that have not sent anything; start at the first buffer, not at 0.
    g_object_set(mixer.get(), "ignore-inactive-pads", TRUE, "latency", guint64(0), "min-upstream-latency",
                 guint64(config_.jitter_ms * GST_MSECOND + config_.frame_us * GST_USECOND), "output-buffer-duration",
                 guint64(config_.frame_us * GST_USECOND), nullptr);
    gst_util_set_object_arg(G_OBJECT(mixer.get()), "start-time-selection", "first");
    auto caps = MakeCapsFilter(kRawCaps);
    std::vector<gst::ElementPtr> mid{gst::ElementPtr::Ref(c->floor_gain->element()), mixer, caps, limiter};
    for (auto& e : mid) {
      gst_bin_add(GST_BIN(pipeline_.get()), e.get());
      c->branch.elements.push_back(e);
    }
    c->mixer = mixer;
    c->mixer_floor_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(mixer.get(), "sink_%u"));
    gst::PadPtr gain_src = gst::PadPtr::Adopt(gst_element_get_static_pad(c->floor_gain->element(), "src"));
    const bool ok = gst_element_link(queue.get(), c->floor_gain->element()) &&
                    gst_pad_link(gain_src.get(), c->mixer_floor_pad.get()) == GST_PAD_LINK_OK &&
                    gst_element_link_many(mixer.get(), caps.get(), limiter.get(), nullptr);
    if (!ok) return domain::Internal("cannot link the mixer of channel " + name);
    // The mixed audio also feeds listeners' balance mixes (session_graph_balance.cpp); the
    // encoder takes the tee's first pad and has no queue.
    auto raw_tee = Make("tee", &missing);
    if (!raw_tee) return Missing(missing);
    g_object_set(raw_tee.get(), "allow-not-linked", TRUE, nullptr);
    gst_bin_add(GST_BIN(pipeline_.get()), raw_tee.get());
    c->branch.elements.push_back(raw_tee);
    if (!gst_element_link(limiter.get(), raw_tee.get())) return domain::Internal("cannot link the tee of " + name);
    c->raw_tee = raw_tee.get();
    upstream = raw_tee.get();
  }
  auto hls = BuildHls(*c, upstream);
  if (!hls.ok()) return hls.status();
  auto aes67 = BuildAes67Out(*c, hls.value());
  if (!aes67.ok()) return aes67.status();
  if (Status s = BuildEncoder(*c, aes67.value()); !s.ok()) return s;
  if (Status s = LinkHlsQueue(*c); !s.ok()) return s;
  // Playing before it is linked: a tee that pushes into a pad not yet active gets FLUSHING,
  // and a tee stops at the first such error and returns it, which stops the floor source.
  SyncStates(c->branch.elements);
  c->tee_pad = gst::PadPtr::Adopt(gst_element_request_pad_simple(tee_.get(), "src_%u"));
  gst::PadPtr qsink = gst::PadPtr::Adopt(gst_element_get_static_pad(queue.get(), "sink"));
  if (gst_pad_link(c->tee_pad.get(), qsink.get()) != GST_PAD_LINK_OK)
    return domain::Internal("cannot link channel " + name + " to the floor");
  Log()->info("session {}: channel ready channel={}", session_, name);
  channels_[name] = std::move(c);
  return Status::Ok();
}

void SessionGraph::RemoveChannel(const std::string& name) {
  auto it = channels_.find(name);
  if (it == channels_.end()) return;
  RemoveViewersOf(name);
  RemoveBalancedMixesOf(name);
  std::shared_ptr<Channel> c(std::move(it->second));
  channels_.erase(it);
  // Consoles' outputs into this channel's mixer went with their consoles (the domain refuses
  // to remove a channel a console still works with).
  Detach(tee_.get(), c->tee_pad, c);
  RemoveHlsFiles(name);
}

}  // namespace tilmash::graph
