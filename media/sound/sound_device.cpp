#include "sound/sound_device.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <algorithm>
#include <cstdlib>

namespace tilmash::sound {

namespace {

constexpr const char* kTestPrefix = "test:";
constexpr const char* kWavPrefix = "wav:";
constexpr int kRate = 48000;
constexpr const char* kMonoF32 = "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1";
constexpr std::size_t kCaptureMax = kRate * 60 / 1000;   // trimmed beyond 60 ms ...
constexpr std::size_t kCaptureKeep = kRate * 20 / 1000;  // ... to 20 ms

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

void EnsureGst() {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
}

// The first error message on the bus as text, with the driver's reason from the debug string.
std::string BusError(GstElement* pipeline) {
  gst::BusPtr bus = gst::BusPtr::Adopt(gst_element_get_bus(pipeline));
  std::string why;
  while (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(m, &err, &debug);
    if (why.empty() && err) {
      why = err->message;
      if (debug) {
        // The driver's reason (e.g. "No such file or directory") ends the debug text.
        const std::string d = debug;
        if (const auto at = d.rfind(": "); at != std::string::npos && why.find('(') == std::string::npos)
          why += " (" + d.substr(at + 2) + ")";
      }
    }
    g_clear_error(&err);
    g_free(debug);
    gst_message_unref(m);
  }
  return why;
}

// Builds pipeline `elements` linked in order; "" or what went wrong.
std::string AddAndLink(GstElement* pipeline, const std::vector<gst::ElementPtr>& elements) {
  for (const auto& e : elements) gst_bin_add(GST_BIN(pipeline), e.get());
  for (std::size_t i = 1; i < elements.size(); ++i)
    if (!gst_element_link(elements[i - 1].get(), elements[i].get()))
      return std::string("cannot link ") + GST_ELEMENT_NAME(elements[i - 1].get()) + " to " +
             GST_ELEMENT_NAME(elements[i].get());
  return "";
}

std::string MissingText(const std::string& device, const std::string& missing) {
  return "device '" + device + "': GStreamer element '" + missing + "' is missing (install gstreamer1.0-alsa)";
}

// Starts a pipeline that was opened (READY): "" or the error.
std::string Play(GstElement* pipeline) {
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    std::string why = BusError(pipeline);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    return why.empty() ? "it cannot be started" : why;
  }
  return "";
}

}  // namespace

gst::ElementPtr CaptureElement(const std::string& device, int64_t period_us, int64_t buffer_us, std::string* missing) {
  if (StartsWith(device, kTestPrefix)) {
    auto src = gst::MakeElement("audiotestsrc", missing);
    if (!src) return src;
    const double hz = std::atof(device.c_str() + std::string(kTestPrefix).size());
    const int per_buffer = int(std::max<int64_t>(1, period_us * kRate / 1'000'000));
    g_object_set(src.get(), "is-live", TRUE, "samplesperbuffer", per_buffer, "freq", hz > 0 ? hz : 440.0, "volume", 0.1,
                 nullptr);
    return src;
  }
  auto src = gst::MakeElement("alsasrc", missing);
  if (!src) return src;
  g_object_set(src.get(), "device", device.c_str(), "latency-time", gint64(period_us), "buffer-time", gint64(buffer_us),
               nullptr);
  return src;
}

std::vector<gst::ElementPtr> PlaybackElements(const std::string& device, int64_t period_us, int64_t buffer_us,
                                              std::string* missing) {
  if (StartsWith(device, kWavPrefix)) {
    // A card plays buffers whose times are within its alignment threshold back to back and
    // resyncs beyond it; audiorate with the same threshold puts that timeline into the file.
    auto rate = gst::MakeElement("audiorate", missing);
    auto s16 = gst::MakeCapsFilter("audio/x-raw,format=S16LE", missing);  // as most cards and WAV readers take
    auto enc = gst::MakeElement("wavenc", missing);
    auto file = gst::MakeElement("filesink", missing);
    if (!missing->empty()) return {};
    g_object_set(rate.get(), "tolerance", guint64(40) * GST_MSECOND, nullptr);
    g_object_set(file.get(), "location", device.c_str() + std::string(kWavPrefix).size(), "sync", TRUE, nullptr);
    return {rate, s16, enc, file};
  }
  if (StartsWith(device, kTestPrefix)) {  // a test console's headphones: played into nothing, on time
    auto sink = gst::MakeElement("fakesink", missing);
    if (!sink) return {};
    g_object_set(sink.get(), "sync", TRUE, nullptr);
    return {sink};
  }
  auto sink = gst::MakeElement("alsasink", missing);
  if (!sink) return {};
  g_object_set(sink.get(), "device", device.c_str(), "latency-time", gint64(period_us), "buffer-time",
               gint64(buffer_us), nullptr);
  return {sink};
}

std::string OpenError(GstElement* pipeline) {
  if (gst_element_set_state(pipeline, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE) return "";
  std::string why = BusError(pipeline);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return why.empty() ? "it cannot be opened" : why;
}

// ------------------------------------------------------------------ Capture

std::unique_ptr<Capture> Capture::Open(const std::string& device, std::string* error) {
  EnsureGst();
  std::string missing;
  // 5 ms periods in a 20 ms ring: a console's microphone, read every 10 ms frame.
  auto src = CaptureElement(device, 5000, 20000, &missing);
  auto conv = gst::MakeElement("audioconvert", &missing);
  auto res = gst::MakeElement("audioresample", &missing);
  auto caps = gst::MakeCapsFilter(kMonoF32, &missing);
  auto sink = gst::MakeElement("appsink", &missing);
  if (!missing.empty()) {
    *error = MissingText(device, missing);
    return nullptr;
  }
  std::unique_ptr<Capture> self(new Capture());
  self->pipeline_ = gst::ElementPtr::AdoptSink(gst_pipeline_new("capture"));
  if (std::string why = AddAndLink(self->pipeline_.get(), {src, conv, res, caps, sink}); !why.empty()) {
    *error = "device '" + device + "': " + why;
    return nullptr;
  }
  g_object_set(sink.get(), "sync", FALSE, "emit-signals", TRUE, "max-buffers", 16u, "drop", TRUE, nullptr);
  g_signal_connect(sink.get(), "new-sample", G_CALLBACK(&Capture::OnSample), self.get());
  std::string why = OpenError(self->pipeline_.get());
  if (why.empty()) why = Play(self->pipeline_.get());
  if (!why.empty()) {
    *error = "device '" + device + "': " + why;
    return nullptr;
  }
  return self;
}

Capture::~Capture() {
  if (pipeline_) gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

GstFlowReturn Capture::OnSample(GstElement* sink, gpointer data) {
  auto* self = static_cast<Capture*>(data);
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  if (!sample) return GST_FLOW_OK;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    const auto* pcm = reinterpret_cast<const float*>(map.data);
    const std::size_t n = map.size / sizeof(float);
    std::lock_guard lock(self->mutex_);
    self->fifo_.insert(self->fifo_.end(), pcm, pcm + n);
    self->stats_.samples_in += n;
    if (self->fifo_.size() > kCaptureMax) {  // nobody reads, or the card runs fast
      const std::size_t drop = self->fifo_.size() - kCaptureKeep;
      self->fifo_.erase(self->fifo_.begin(), self->fifo_.begin() + std::ptrdiff_t(drop));
      if (self->primed_) self->stats_.overrun_samples += drop;
    }
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

void Capture::Read(float* out, std::size_t n) {
  std::lock_guard lock(mutex_);
  const std::size_t have = std::min(n, fifo_.size());
  std::copy_n(fifo_.begin(), have, out);
  fifo_.erase(fifo_.begin(), fifo_.begin() + std::ptrdiff_t(have));
  std::fill(out + have, out + n, 0.0f);
  if (primed_) stats_.underrun_samples += n - have;
  primed_ = primed_ || have > 0;
}

Capture::Stats Capture::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::string Capture::error() const { return BusError(pipeline_.get()); }

// ------------------------------------------------------------------ Playback

std::unique_ptr<Playback> Playback::Open(const std::string& device, std::string* error) {
  EnsureGst();
  std::string missing;
  auto src = gst::MakeElement("appsrc", &missing);
  auto conv = gst::MakeElement("audioconvert", &missing);
  auto res = gst::MakeElement("audioresample", &missing);
  // 10 ms periods in a 40 ms ring: headphones that ride out a late packet.
  auto tail = PlaybackElements(device, 10000, 40000, &missing);
  if (!missing.empty()) {
    *error = MissingText(device, missing);
    return nullptr;
  }
  gst::CapsPtr c(gst_caps_from_string(kMonoF32));
  g_object_set(src.get(), "caps", c.get(), "format", GST_FORMAT_TIME, "is-live", TRUE, "do-timestamp", TRUE, "block",
               FALSE, "max-bytes", guint64(kRate * sizeof(float)), nullptr);
  std::unique_ptr<Playback> self(new Playback());
  self->pipeline_ = gst::ElementPtr::AdoptSink(gst_pipeline_new("playback"));
  self->src_ = src;
  std::vector<gst::ElementPtr> chain{src, conv, res};
  chain.insert(chain.end(), tail.begin(), tail.end());
  if (std::string why = AddAndLink(self->pipeline_.get(), chain); !why.empty()) {
    *error = "device '" + device + "': " + why;
    return nullptr;
  }
  std::string why = OpenError(self->pipeline_.get());
  if (why.empty()) why = Play(self->pipeline_.get());
  if (!why.empty()) {
    *error = "device '" + device + "': " + why;
    self->pipeline_.Reset();
    return nullptr;
  }
  return self;
}

Playback::~Playback() { Close(); }

void Playback::Write(const float* pcm, std::size_t n) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || n == 0) return;
    written_ += n;
  }
  GstBuffer* buffer = gst_buffer_new_memdup(pcm, n * sizeof(float));
  gst_app_src_push_buffer(GST_APP_SRC(src_.get()), buffer);  // takes the buffer
}

void Playback::Close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || !pipeline_) return;
    closed_ = true;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src_.get()));
  gst::BusPtr bus = gst::BusPtr::Adopt(gst_element_get_bus(pipeline_.get()));
  if (GstMessage* m =
          gst_bus_timed_pop_filtered(bus.get(), 2 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)))
    gst_message_unref(m);
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

uint64_t Playback::samples_written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

std::string Playback::error() const { return pipeline_ ? BusError(pipeline_.get()) : std::string(); }

}  // namespace tilmash::sound
