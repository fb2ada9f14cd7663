#include "graph/mirror_receiver.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "log/log.h"
#include "rtp/rtp_packet.h"

namespace tilmash::graph {

namespace {

using Clock = std::chrono::steady_clock;

// Beyond this the upstream's timestamps are not taken as they are (a restored stream that
// jumped forward, a new one): the edge's timeline moves on by the time that passed instead.
constexpr int64_t kMaxTimestampStep = 48000 * 5;
// A stream silent this long may come back with any sequence number (a restored origin).
constexpr auto kSequenceReset = std::chrono::seconds(1);

int64_t SteadyUs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

MirrorTimeline::Out MirrorTimeline::Next(uint32_t stream, uint16_t sequence, uint32_t timestamp,
                                         Clock::time_point now) {
  Out out;
  if (!have_) {
    have_ = true;
    out = {true, sequence, timestamp};
  } else {
    const auto elapsed = now - last_at_;
    const int16_t dseq = int16_t(uint16_t(sequence - last_in_seq_));
    const bool same = stream == stream_ && (dseq > 0 || elapsed < kSequenceReset);
    if (same && dseq <= 0) return out;  // a duplicate, or older than one already pushed
    const int64_t dts = int32_t(timestamp - last_in_ts_);
    const int64_t passed = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() * 48 / 1000;
    if (same && dts > 0 && dts <= kMaxTimestampStep) {
      out = {true, uint16_t(last_out_seq_ + uint16_t(dseq)), uint32_t(last_out_ts_ + uint32_t(dts))};
    } else {
      // A new upstream timeline: one packet on in sequence, the time that passed in timestamps
      // (at least one sample, so the listeners' timelines never stand still).
      out = {true, uint16_t(last_out_seq_ + 1), uint32_t(last_out_ts_ + uint32_t(std::max<int64_t>(passed, 1)))};
    }
  }
  stream_ = stream;
  last_in_seq_ = sequence;
  last_in_ts_ = timestamp;
  last_out_seq_ = out.sequence;
  last_out_ts_ = out.timestamp;
  last_at_ = now;
  return out;
}

std::unique_ptr<MirrorReceiver> MirrorReceiver::Create(const std::string& label, in_addr host,
                                                       const std::shared_ptr<fanout::PortAllocator>& ports,
                                                       std::shared_ptr<MirrorSlot> slot, std::string* error) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  const int buffer = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  const uint16_t port = ports->Bind(fd, host, 0, error);
  if (port == 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<MirrorReceiver>(new MirrorReceiver(label, fd, port, std::move(slot)));
}

MirrorReceiver::MirrorReceiver(std::string label, int fd, uint16_t port, std::shared_ptr<MirrorSlot> slot)
    : label_(std::move(label)), fd_(fd), port_(port), slot_(std::move(slot)) {
  thread_ = std::thread([this] { Run(); });
}

MirrorReceiver::~MirrorReceiver() {
  stop_.store(true);
  thread_.join();
  close(fd_);
}

bool MirrorReceiver::Attach(uint32_t ssrc, rtp::SrtpSuite suite, const std::vector<uint8_t>& master_key, uint32_t roc,
                            uint32_t key_id, std::string* error) {
  auto context = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, suite, master_key, ssrc, roc, error);
  if (!context) return false;
  std::lock_guard lock(mu_);
  srtp_ = std::make_unique<rtp::SrtpReceiver>(std::move(context), ssrc, key_id);
  ssrc_ = ssrc;
  ++stream_;
  return true;
}

bool MirrorReceiver::Announce(uint32_t key_id, rtp::SrtpSuite suite, const std::vector<uint8_t>& master_key) {
  std::lock_guard lock(mu_);
  return srtp_ && srtp_->Announce(key_id, suite, master_key);
}

int64_t MirrorReceiver::SilentUs() const {
  const int64_t last = counters_.last_packet_us.load(std::memory_order_relaxed);
  return last == 0 ? INT64_MAX : SteadyUs(Clock::now()) - last;
}

void MirrorReceiver::Run() {
  std::array<uint8_t, rtp::kMaxPacket + 64> buf{};
  pollfd pfd{fd_, POLLIN, 0};
  while (!stop_.load(std::memory_order_relaxed)) {
    if (poll(&pfd, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) continue;
    const auto arrived = Clock::now();
    int size = 0;
    {
      std::lock_guard lock(mu_);
      if (!srtp_ || (size = srtp_->Unprotect(buf.data(), std::size_t(n))) < 0) {
        counters_.auth_failures.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const rtp::ParseResult parsed = rtp::ParseRtp(buf.data(), std::size_t(size));
      if (!parsed.ok() || parsed.header->ssrc != ssrc_) {
        counters_.malformed.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const MirrorTimeline::Out out =
          timeline_.Next(stream_, parsed.header->sequence, parsed.header->timestamp, arrived);
      if (!out.keep) {
        counters_.late.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      rtp::SetSequence(buf.data(), out.sequence);
      rtp::SetTimestamp(buf.data(), out.timestamp);
    }
    if (!slot_->Push(buf.data(), std::size_t(size))) continue;  // the channel is not (or no longer) here
    counters_.packets.fetch_add(1, std::memory_order_relaxed);
    counters_.last_packet_us.store(SteadyUs(arrived), std::memory_order_relaxed);
  }
}

}  // namespace tilmash::graph
