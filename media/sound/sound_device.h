// Sound cards through GStreamer, shared by the daemon's sound-card floor and the tools' real
// devices (tilmash-listen --play, tilmash-booth --device). A device name picks the element:
//
//   capture   "test:HZ"   audiotestsrc, a live HZ tone at -20 dBFS peak (a stand-in where there
//                         is no card: CI, a laptop without the venue's interface)
//             otherwise   alsasrc device=NAME ("default", "hw:1,0", "plughw:CARD=USB,DEV=0", ...)
//   playback  "wav:PATH"  a WAV file written on the playback timeline: audio that arrives late
//                         is silence in it and audio that overlaps is dropped, as a card plays
//                         (audiorate with the sink's 40 ms alignment threshold)
//             "test:..."  fakesink on the clock (a test console's headphones)
//             otherwise   alsasink device=NAME
//
// Capture and Playback are 48 kHz mono float streams on their own pipelines; the tools push and
// pull 10 ms frames and never wait on the card.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gst/gst_ptr.h"

namespace tilmash::sound {

// The capture element for `device` with ALSA periods of `period_us` in a ring of `buffer_us`
// (what the card adds to the latency); null with *missing naming the factory.
gst::ElementPtr CaptureElement(const std::string& device, int64_t period_us, int64_t buffer_us, std::string* missing);
// The playback chain for `device`, to be linked in order after an audioconvert; empty with
// *missing naming the factory.
std::vector<gst::ElementPtr> PlaybackElements(const std::string& device, int64_t period_us, int64_t buffer_us,
                                              std::string* missing);

// Puts `pipeline` into READY (a card is opened there): "" when it could, otherwise GStreamer's
// error with the driver's reason, e.g. "Could not open audio device for recording. (No such
// file or directory)". The pipeline is left in READY on success, NULL on failure.
std::string OpenError(GstElement* pipeline);

// 48 kHz mono float from a capture device. Read() takes what arrived and fills what has not
// with silence (an underrun); more than 60 ms waiting is trimmed to 20 ms (an overrun: the
// card's clock runs faster than the reader's).
class Capture {
 public:
  struct Stats {
    uint64_t samples_in = 0;
    uint64_t underrun_samples = 0;
    uint64_t overrun_samples = 0;
  };
  // Opens and starts `device`; null with *error naming it and saying why.
  static std::unique_ptr<Capture> Open(const std::string& device, std::string* error);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Any thread. Exactly `n` samples into `out`.
  void Read(float* out, std::size_t n);
  Stats stats() const;
  // The first error the pipeline reported while running (a card unplugged), "" if none.
  std::string error() const;

 private:
  Capture() = default;
  static GstFlowReturn OnSample(GstElement* sink, gpointer self);
  gst::ElementPtr pipeline_;
  mutable std::mutex mutex_;
  std::deque<float> fifo_;
  bool primed_ = false;  // Read() has started: from now on a short fifo is an underrun
  Stats stats_;
};

// 48 kHz mono float to a playback device. Write() never blocks: the buffer is timestamped on
// arrival and the sink plays it at that time plus its latency.
class Playback {
 public:
  static std::unique_ptr<Playback> Open(const std::string& device, std::string* error);
  ~Playback();  // Close()
  Playback(const Playback&) = delete;
  Playback& operator=(const Playback&) = delete;

  // Any thread.
  void Write(const float* pcm, std::size_t n);
  // Ends the stream (a WAV gets its header) and stops; waits at most 2 s. Idempotent.
  void Close();
  uint64_t samples_written() const;
  std::string error() const;

 private:
  Playback() = default;
  gst::ElementPtr pipeline_;
  gst::ElementPtr src_;
  mutable std::mutex mutex_;
  bool closed_ = false;
  uint64_t written_ = 0;
};

}  // namespace tilmash::sound
