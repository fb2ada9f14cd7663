// One channel's recording: the channel's RTP/Opus packets, as the fan-out gets them, written
// to Ogg Opus files without re-encoding, one file per segment of audio time.
//
// Push() is called on the channel's streaming thread and never waits for the disk: it copies
// the payload into a bounded queue (a full queue drops the packet and counts it) that a writer
// thread of the recorder's own drains every kWakeMs. A page is written with write(2) at least
// every flush interval of audio (default 500 ms), so a killed process leaves a file that ends
// at most that much plus one wake-up before the kill. A segment that is finished ends with an
// end-of-stream page and is fdatasync'ed before the next one starts.
//
// A gap in the channel's packets (its RTP timestamps jump, up to kMaxGapFill) is filled with
// empty 10 ms Opus frames (a decoder conceals them as silence), so a file's duration is the
// time it covers.
//
// Files: <dir>/<UTC start>.opus, e.g. 20261201T154849.123Z.opus (when the file was started).
// A write that fails (disk full, directory gone) stops the recorder: failed() and error() say
// why; the channel and its listeners go on.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "record/ogg_opus.h"

namespace tilmash::record {

struct RecorderConfig {
  std::string dir;                // created (0750, parents too) when missing
  std::vector<std::string> tags;  // OpusTags comments, "KEY=value"
  uint32_t segment_s = 600;
  uint32_t flush_ms = 500;
  std::size_t max_queue = 500;  // packets waiting for the writer (5 s of 10 ms packets)
};

class ChannelRecorder {
 public:
  static constexpr int kWakeMs = 100;
  static constexpr uint32_t kMaxGapFill = 60 * kOpusRate;  // longer jumps: a new timeline, not filled
  // Creates the directory and opens the first file (so a directory that cannot be written is
  // an answer, not a later failure); nullptr and `error` otherwise.
  static std::unique_ptr<ChannelRecorder> Start(RecorderConfig config, std::string* error);
  // Writes what is queued, ends the file and joins the writer.
  ~ChannelRecorder();
  ChannelRecorder(const ChannelRecorder&) = delete;
  ChannelRecorder& operator=(const ChannelRecorder&) = delete;

  // An RTP packet whose payload is one Opus packet. Any thread; never blocks on I/O.
  void Push(const uint8_t* rtp, std::size_t size);

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string error() const;
  std::string file() const;  // the segment being written
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
  uint32_t segments() const { return segments_.load(std::memory_order_relaxed); }

 private:
  explicit ChannelRecorder(RecorderConfig config);
  bool OpenSegment(std::string* error);  // writer (or Start)
  bool CloseSegment();                   // ends the stream, syncs, closes
  bool Write(const std::vector<uint8_t>& bytes);
  void Fail(const std::string& why);
  void Run();
  struct Packet {
    uint32_t timestamp;  // RTP, 48 kHz
    std::vector<uint8_t> payload;
  };
  // Writes one packet; a gap in the RTP timestamps before it (the channel's source stopped,
  // e.g. a floor desk) is filled with empty Opus frames first, which decoders conceal as
  // silence, so the file's time stays the channel's time.
  bool WritePacket(const Packet& packet);
  bool WriteOpus(const uint8_t* data, std::size_t size, uint32_t samples);

  const RecorderConfig config_;
  mutable std::mutex mu_;  // queue_, stop_, error_, file_
  std::condition_variable cv_;
  std::vector<Packet> queue_;
  bool stop_ = false;
  std::string error_, file_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> bytes_{0}, dropped_{0}, packets_{0};
  std::atomic<uint32_t> segments_{0};
  // Writer thread only (and Start, before it runs).
  int fd_ = -1;
  std::string path_;
  std::unique_ptr<OggOpusPager> pager_;
  uint64_t segment_samples_ = 0;
  uint64_t unflushed_samples_ = 0;
  uint32_t serial_ = 0;
  std::optional<uint32_t> next_timestamp_;  // where the next packet should start
  std::thread writer_;
};

// "20261201T154849.123Z" for now.
std::string UtcStamp();

}  // namespace tilmash::record
