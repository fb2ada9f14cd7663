// A flood of junk at one console's ingest port (100,000 packets/s for 3 s, loopback): the guard
// counts and drops all of it while both the attacked channel and another channel keep every 10 ms
// frame of their tone, nobody loses a packet, and the daemon's memory stays flat.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "e2e_support.h"
#include "rtp/rtp_packet.h"

namespace tilmash::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Under ASan/TSan the daemon runs 3-15x slower: the flood is scaled down so the test still
// measures the guard, not the sanitizer; the memory bound then also covers ASan's quarantine
// of freed buffers (256 MB by default) and TSan's shadow memory.
constexpr int kPacketsPerSecond = kSanitized ? 10'000 : 100'000;
constexpr auto kFloodFor = 3s;
// Nothing in the guard allocates per packet (a stack copy; libsrtp rejects before it would
// create a stream for an SSRC), so memory may only grow by allocator slack for the buffers in
// flight: udpsrc's pool and the kernel-to-GstBuffer copies of one socket buffer (~200 KB of
// 120-byte packets, ~2,000 GstBuffers of ~0.5 KB) plus malloc arenas of the streaming threads.
constexpr long kMaxRssGrowthKb = kSanitized ? 400 * 1024 : 16 * 1024;

long RssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Packets the kernel dropped at the daemon's socket on `port` (its receive buffer was full):
// the last column of /proc/net/udp.
uint64_t KernelDrops(uint32_t port) {
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);
  char want[8];
  std::snprintf(want, sizeof want, ":%04X", port);
  uint64_t drops = 0;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string slot, local;
    in >> slot >> local;
    if (local.size() < 5 || local.substr(local.size() - 5) != want) continue;
    std::string field, last;
    while (in >> field) last = field;
    drops += std::stoull(last);
  }
  return drops;
}

uint64_t Dropped(const v1::IngestCounters& c) {
  return c.dropped_malformed() + c.dropped_oversized() + c.dropped_unknown_ssrc() + c.dropped_wrong_payload_type() +
         c.dropped_srtp_auth();
}

// Sends junk at a fixed rate from its own socket in sendmmsg batches. Mostly packets the guard
// must authenticate (right SSRC and payload type, forged SRTP tag: the dearest path), plus short
// packets, foreign SSRCs and a wrong payload type.
class Flooder {
 public:
  Flooder(uint32_t port, uint32_t ssrc) : fd_(socket(AF_INET, SOCK_DGRAM, 0)), ssrc_(ssrc) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(uint16_t(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~Flooder() { close(fd_); }

  // Returns the number of packets handed to the kernel.
  uint64_t Run(int rate, std::chrono::steady_clock::duration length) {
    constexpr int kBatch = 64;
    std::mt19937 rng(20240601);
    std::vector<std::vector<uint8_t>> pkts(kBatch, std::vector<uint8_t>(120));
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    uint64_t sent = 0;
    const auto start = std::chrono::steady_clock::now();
    for (auto now = start; now - start < length; now = std::chrono::steady_clock::now()) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const uint64_t due = uint64_t(elapsed * rate);
      if (due <= sent) {
        std::this_thread::sleep_for(200us);  // pacing the sender, not waiting for a condition
        continue;
      }
      const int n = int(std::min<uint64_t>(due - sent, kBatch));
      for (int i = 0; i < n; ++i) {
        auto& p = pkts[std::size_t(i)];
        for (auto& b : p) b = uint8_t(rng());
        const uint64_t k = sent + uint64_t(i);
        std::size_t len = p.size();
        switch (k % 10) {
          case 7:  // too short for RTP
            len = 7;
            break;
          case 8:  // a foreign SSRC
            rtp::WriteHeader(p.data(), 96, false, uint16_t(k), uint32_t(k * 480), ssrc_ ^ 0x5a5a5a5a);
            break;
          case 9:  // wrong payload type
            rtp::WriteHeader(p.data(), 0, false, uint16_t(k), uint32_t(k * 480), ssrc_);
            break;
          default:  // right SSRC and payload type, forged SRTP tag
            rtp::WriteHeader(p.data(), 96, false, uint16_t(rng()), uint32_t(k * 480), ssrc_);
        }
        iov[std::size_t(i)] = {p.data(), len};
        msgs[std::size_t(i)] = {};
        msgs[std::size_t(i)].msg_hdr.msg_iov = &iov[std::size_t(i)];
        msgs[std::size_t(i)].msg_hdr.msg_iovlen = 1;
        msgs[std::size_t(i)].msg_hdr.msg_name = &to_;
        msgs[std::size_t(i)].msg_hdr.msg_namelen = sizeof to_;
      }
      const int done = sendmmsg(fd_, msgs.data(), unsigned(n), 0);
      if (done > 0) sent += uint64_t(done);
    }
    return sent;
  }

 private:
  int fd_;
  uint32_t ssrc_;
  sockaddr_in to_{};
};

// The worst 10 ms frame level of `hz` over samples [from, from + count) of a listener.
double WorstFrameDb(ListenerClient& l, std::size_t from, std::size_t count, double hz) {
  EXPECT_TRUE(l.WaitForSamples(from + count, 10s)) << "the listener stopped receiving";
  auto x = l.Samples(from, count);
  double worst = 0;
  for (std::size_t i = 0; i + 480 <= x.size(); i += 480)
    worst = std::min(worst, audio::ToneLevelDb(std::span<const float>(x.data() + i, 480), hz));
  return worst;
}

class IngestFloodTest : public E2eTest {};

TEST_F(IngestFloodTest, JunkAtOneConsoleIsCountedAndNoChannelGlitches) {
  auto session = CreateSession({"en", "ru"}, 440);
  auto console = Join(session.id(), "ru");
  auto voice = Speak(console.ingest(), 880);
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  auto ru = Listen(session.id(), "ru");  // the attacked channel
  auto en = Listen(session.id(), "en");  // another channel (auto-floor)
  ASSERT_TRUE(ru && en);
  NextLevels(*ru, {880}, 200);  // past the mic's ramp and the first frames
  EXPECT_GT(NextLevels(*ru, {880}, 300)[0], -26);
  EXPECT_GT(NextLevels(*en, {440}, 300)[0], -26);

  const uint32_t port = console.ingest().endpoint().port();
  const auto before = CountersOf(daemon_, session.id(), console.console().id());
  const uint64_t kernel_before = KernelDrops(port);
  const long rss_before = RssKb(daemon_.pid());
  ASSERT_GT(rss_before, 0);
  const std::size_t ru_from = ru->SampleCount(), en_from = en->SampleCount();

  // Flood; sample the daemon's memory meanwhile.
  std::atomic<bool> flooding{true};
  std::atomic<long> rss_peak{rss_before};
  std::thread sampler([&] {
    while (flooding.load()) {
      rss_peak = std::max(rss_peak.load(), RssKb(daemon_.pid()));
      std::this_thread::sleep_for(50ms);  // a sampling period, not a wait for a condition
    }
  });
  Flooder flooder(port, console.ingest().ssrc());
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t sent = flooder.Run(kPacketsPerSecond, kFloodFor);
  const double flood_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  flooding = false;
  sampler.join();

  // Every frame from the flood's start to 300 ms after its end (the path's latency) keeps its tone.
  const std::size_t frames = std::size_t((flood_s + 0.3) * 48000);
  const double ru_worst = WorstFrameDb(*ru, ru_from, frames, 880);
  const double en_worst = WorstFrameDb(*en, en_from, frames, 440);

  // The guard has seen every junk packet the kernel delivered: counted + kernel drops = sent.
  v1::IngestCounters after;
  uint64_t counted = 0, kernel = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    after = CountersOf(daemon_, session.id(), console.console().id());
    counted = Dropped(after) - Dropped(before);
    kernel = KernelDrops(port) - kernel_before;
  } while (counted + kernel < sent && std::chrono::steady_clock::now() < deadline);
  const long rss_after = RssKb(daemon_.pid());

  const double rate = double(sent) / flood_s;
  std::printf(
      "flood: %llu junk packets in %.2f s (%.0f/s); guard counted %llu (malformed %llu, unknown ssrc %llu, "
      "payload type %llu, srtp auth %llu), kernel dropped %llu; accepted %llu legit packets meanwhile\n"
      "flood: worst 10 ms frame: ru (attacked) %.1f dB, en %.1f dB; lost: ru %llu, en %llu\n"
      "flood: daemon RSS %ld kB before, peak %ld kB, %ld kB after (bound +%ld kB)\n",
      (unsigned long long)sent, flood_s, rate, (unsigned long long)counted,
      (unsigned long long)(after.dropped_malformed() - before.dropped_malformed()),
      (unsigned long long)(after.dropped_unknown_ssrc() - before.dropped_unknown_ssrc()),
      (unsigned long long)(after.dropped_wrong_payload_type() - before.dropped_wrong_payload_type()),
      (unsigned long long)(after.dropped_srtp_auth() - before.dropped_srtp_auth()), (unsigned long long)kernel,
      (unsigned long long)(after.packets_accepted() - before.packets_accepted()), ru_worst, en_worst,
      (unsigned long long)ru->stats().lost, (unsigned long long)en->stats().lost, rss_before, rss_peak.load(),
      rss_after, kMaxRssGrowthKb);

  EXPECT_GT(rate, 0.9 * kPacketsPerSecond) << "the flood did not reach its rate";
  // Other traffic on the machine can show up in the kernel's counter too: allow a handful.
  EXPECT_NEAR(double(counted + kernel), double(sent), 16) << "every junk packet is counted or dropped by the kernel";
  EXPECT_GE(counted, sent * 9 / 10) << "the guard keeps up with the flood";
  EXPECT_EQ(after.dropped_oversized(), before.dropped_oversized());
  EXPECT_GT(after.packets_accepted() - before.packets_accepted(), uint64_t(flood_s * 100 * 0.9))
      << "the console's own 10 ms packets kept arriving";
  // The attacked console shares its port with the flood: its own packets may queue behind the junk
  // (reported above). Every other channel must stay glitch-free.
  EXPECT_GT(en_worst, -26) << "a 10 ms frame of another channel lost its tone";
  EXPECT_EQ(ru->stats().lost, 0u);
  EXPECT_EQ(en->stats().lost, 0u);
  EXPECT_LT(rss_peak.load() - rss_before, kMaxRssGrowthKb) << "daemon memory grew under the flood";
  EXPECT_LT(rss_after - rss_before, kMaxRssGrowthKb);
  EXPECT_TRUE(daemon_.Alive());
}

}  // namespace
}  // namespace tilmash::testing
