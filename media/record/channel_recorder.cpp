#include "record/channel_recorder.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>

#include "rtp/rtp_packet.h"

namespace tilmash::record {

namespace {
// A gap is filled with 10 ms frames: a TOC byte alone (CELT fullband 10 ms, one frame of 0
// bytes), which RFC 6716 decoders treat as a lost frame and conceal.
constexpr uint32_t kFrame = 480;
constexpr uint8_t kEmptyCelt10ms = 30 << 3;
}  // namespace

std::string UtcStamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
  return buf;
}

ChannelRecorder::ChannelRecorder(RecorderConfig config) : config_(std::move(config)) {
  serial_ = std::random_device{}();
}

std::unique_ptr<ChannelRecorder> ChannelRecorder::Start(RecorderConfig config, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(config.dir, ec);
  if (ec) {
    *error = "cannot create " + config.dir + ": " + ec.message();
    return nullptr;
  }
  std::unique_ptr<ChannelRecorder> r(new ChannelRecorder(std::move(config)));
  if (!r->OpenSegment(error)) return nullptr;
  r->writer_ = std::thread([p = r.get()] { p->Run(); });
  return r;
}

ChannelRecorder::~ChannelRecorder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::string ChannelRecorder::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

std::string ChannelRecorder::file() const {
  std::lock_guard lock(mu_);
  return file_;
}

void ChannelRecorder::Push(const uint8_t* data, std::size_t size) {
  if (failed_.load(std::memory_order_relaxed)) return;
  const auto parsed = rtp::ParseRtp(data, size);
  if (!parsed.ok() || parsed.header->payload_size == 0) return;
  const uint8_t* payload = data + parsed.header->header_size;
  Packet packet{parsed.header->timestamp, std::vector<uint8_t>(payload, payload + parsed.header->payload_size)};
  std::lock_guard lock(mu_);
  if (queue_.size() >= config_.max_queue) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(packet));
}

void ChannelRecorder::Fail(const std::string& why) {
  {
    std::lock_guard lock(mu_);
    error_ = why;
    queue_.clear();
  }
  failed_.store(true, std::memory_order_release);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool ChannelRecorder::Write(const std::vector<uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Fail("write " + path_ + ": " + (n < 0 ? std::strerror(errno) : "nothing written"));
      return false;
    }
    done += std::size_t(n);
  }
  bytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
  return true;
}

bool ChannelRecorder::OpenSegment(std::string* error) {
  std::string path = config_.dir + "/" + UtcStamp() + ".opus";
  for (int i = 1; std::filesystem::exists(path); ++i)
    path = config_.dir + "/" + UtcStamp() + "-" + std::to_string(i) + ".opus";
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  path_ = path;
  {
    std::lock_guard lock(mu_);
    file_ = path;
  }
  // Mono: the channels are mixed as 48 kHz mono (a stereo packet would be downmixed by a player).
  pager_ = std::make_unique<OggOpusPager>(serial_++, 1);
  segment_samples_ = unflushed_samples_ = 0;
  segments_.fetch_add(1, std::memory_order_relaxed);
  if (!Write(pager_->HeaderPages(config_.tags))) {
    *error = this->error();
    return false;
  }
  return true;
}

bool ChannelRecorder::CloseSegment() {
  if (fd_ < 0) return false;
  const bool ok = Write(pager_->Flush(/*last=*/true));
  if (!ok) return false;
  ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  return true;
}

bool ChannelRecorder::WritePacket(const Packet& p) {
  const uint32_t samples = OpusPacketSamples(p.payload.data(), p.payload.size());
  if (samples == 0) return true;  // not Opus: skipped
  if (next_timestamp_) {
    const uint32_t gap = p.timestamp - *next_timestamp_;  // modulo 2^32: a step back is huge
    if (gap >= kFrame && gap <= kMaxGapFill) {
      const uint8_t empty_frame = kEmptyCelt10ms;
      for (uint32_t filled = 0; filled + kFrame <= gap; filled += kFrame)
        if (!WriteOpus(&empty_frame, 1, kFrame)) return false;
    }
  }
  next_timestamp_ = p.timestamp + samples;
  return WriteOpus(p.payload.data(), p.payload.size(), samples);
}

bool ChannelRecorder::WriteOpus(const uint8_t* data, std::size_t size, uint32_t samples) {
  if (auto page = pager_->Add(data, size, samples); !page.empty() && !Write(page)) return false;
  packets_.fetch_add(1, std::memory_order_relaxed);
  segment_samples_ += samples;
  unflushed_samples_ += samples;
  if (segment_samples_ >= uint64_t(config_.segment_s) * kOpusRate) {
    if (!CloseSegment()) return false;
    std::string error;
    if (!OpenSegment(&error)) {
      if (!failed()) Fail(error);
      return false;
    }
    return true;
  }
  if (unflushed_samples_ >= uint64_t(config_.flush_ms) * kOpusRate / 1000) {
    unflushed_samples_ = 0;
    return Write(pager_->Flush());
  }
  return true;
}

void ChannelRecorder::Run() {
  pthread_setname_np(pthread_self(), "tilmash-rec");  // its CPU is measurable alone (tools/bench-record)
  std::vector<Packet> batch;
  bool stopping = false;
  while (!stopping) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(kWakeMs), [&] { return stop_; });
      stopping = stop_;
      batch.swap(queue_);
    }
    if (failed()) {
      batch.clear();
      continue;
    }
    for (const auto& p : batch)
      if (!WritePacket(p)) break;
    batch.clear();
  }
  if (!failed()) CloseSegment();
}

}  // namespace tilmash::record
