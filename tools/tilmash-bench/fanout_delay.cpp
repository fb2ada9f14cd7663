#include "fanout_delay.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "fanout/fanout_engine.h"
#include "loopback_sink.h"
#include "rtp/rtp_packet.h"

namespace tilmash::bench {

DelayResult RunFanoutDelay(int listeners, int channels, int frame_ms, int sender_threads, int window_s) {
  DelayResult r;
  r.listeners = listeners;
  r.channels = channels;
  r.frame_ms = frame_ms;
  r.sender_threads = sender_threads;
  std::string error;
  auto sink = LoopbackSink::Create((listeners + 999) / 1000, &error);
  fanout::FanoutOptions o;
  o.sender_threads = sender_threads;
  auto engine = sink ? fanout::FanoutEngine::Create(o, &error) : nullptr;
  if (!engine) {
    r.error = error;
    return r;
  }
  for (int i = 0; i < listeners; ++i) {
    fanout::ListenerSpec spec;
    spec.key = uint64_t(i + 1);
    spec.channel = uint64_t(i % channels);
    spec.destination.sin_family = AF_INET;
    spec.destination.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    spec.destination.sin_port = htons(sink->port(i / 1000));
    spec.ssrc = 0x10000000u + uint32_t(i);
    spec.master_key = rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80);
    if (!engine->AddListener(std::move(spec), &error)) {
      r.error = error;
      return r;
    }
    sink->Expect(0x10000000u + uint32_t(i), i % channels);
  }
  // A 64 kb/s Opus frame's size; every channel's packet of a frame is pushed at the same instant.
  const std::size_t payload = std::size_t(8 * frame_ms);
  std::vector<uint8_t> packet(rtp::kMinHeader + payload, 0x5A);
  auto push_for = [&](std::chrono::seconds d, uint32_t& frame) {
    const auto period = std::chrono::milliseconds(frame_ms);
    auto next = std::chrono::steady_clock::now();
    const auto end = next + d;
    for (; next < end; next += period, ++frame) {
      std::this_thread::sleep_until(next);
      for (int c = 0; c < channels; ++c) {
        rtp::WriteHeader(packet.data(), 96, false, uint16_t(frame), frame * uint32_t(48 * frame_ms), 0xC0DE0000u + c);
        engine->Push(uint64_t(c), packet.data(), packet.size());
      }
    }
  };
  uint32_t frame = 0;
  push_for(std::chrono::seconds(1), frame);  // warm-up: first packets, caches
  engine->ResetDelayStats();
  sink->BeginWindow();
  push_for(std::chrono::seconds(window_s), frame);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last frame's fan-out
  auto w = sink->EndWindow(frame_ms);
  auto s = engine->Stats();
  r.p50_ms = s.delay.p50_us / 1000;
  r.p99_ms = s.delay.p99_us / 1000;
  r.max_ms = s.delay.max_us / 1000;
  r.samples = s.delay.samples;
  r.lost = w.lost;
  r.ring_overflows = s.ring_overflows;
  r.ok = r.samples > 0;
  return r;
}

void PrintDelay(const DelayResult& r) {
  std::printf(
      "\nfan-out delay, Push -> last sendmmsg (FanoutEngine in this process, %d channels x %d listeners, "
      "%d ms packets, %d sender thread%s)\n",
      r.channels, r.listeners / std::max(1, r.channels), r.frame_ms, r.sender_threads,
      r.sender_threads == 1 ? "" : "s");
  if (!r.ok) {
    std::printf("delay run failed: %s\n", r.error.c_str());
    return;
  }
  std::printf("p50 %.2f ms, p99 %.2f ms, max %.2f ms over %llu packets; sink lost %llu, ring overflows %llu\n",
              r.p50_ms, r.p99_ms, r.max_ms, (unsigned long long)r.samples, (unsigned long long)r.lost,
              (unsigned long long)r.ring_overflows);
}

}  // namespace tilmash::bench
