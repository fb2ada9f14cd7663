#include "fanout_delay.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "fanout/fanout_engine.h"
#include "loopback_sink.h"
#include "rtp/hmac_sha1.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

namespace tilmash::bench {

DelayResult RunFanoutDelay(int listeners, int channels, int frame_ms, int sender_threads, int window_s,
                           const std::string& dummy_prefix, bool gcm, DelayDesign design) {
  DelayResult r;
  r.listeners = listeners;
  r.channels = channels;
  r.frame_ms = frame_ms;
  r.sender_threads = sender_threads;
  r.gcm = gcm;
  r.design = design;
  const bool libsrtp_hmac = design == DelayDesign::kLibsrtpHmac;
  r.send_side = !dummy_prefix.empty();
  const auto suite = gcm ? rtp::SrtpSuite::kAeadAes128Gcm : rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::string error;
  std::unique_ptr<LoopbackSink> sink;
  if (!r.send_side) {
    sink = LoopbackSink::Create((listeners + 999) / 1000, &error);
    if (!sink) {
      r.error = error;
      return r;
    }
  }
  fanout::FanoutOptions o;
  o.sender_threads = sender_threads;
  o.prefetch = design != DelayDesign::kNoPrefetch;
  o.realtime_priority = design == DelayDesign::kOrdinary ? 0 : 10;  // as tilmashd's default
  if (r.send_side) o.bind_host = dummy_prefix + ".0.1";             // the tap device's own address
  auto engine = fanout::FanoutEngine::Create(o, &error);
  if (!engine) {
    r.error = error;
    return r;
  }
  r.realtime_problem = engine->realtime_problem();
  rtp::EnsureSrtpInitialised();
  if (libsrtp_hmac && !rtp::UseHmacSha1(rtp::HmacSha1::kLibsrtp)) {
    r.error = "libsrtp refused its own HMAC-SHA1";
    return r;
  }
  std::vector<std::unique_ptr<fanout::ListenerHandle>> handles;
  for (int i = 0; i < listeners; ++i) {
    fanout::ListenerSpec spec;
    spec.channel = uint64_t(i % channels) + 1;  // channel keys start at 1 (0: none)
    spec.destination.sin_family = AF_INET;
    if (sink) {
      spec.destination.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      spec.destination.sin_port = htons(sink->port(i / 1000));
    } else {
      const std::string host = dummy_prefix + ".0.2";  // one host, a port per listener
      inet_pton(AF_INET, host.c_str(), &spec.destination.sin_addr);
      spec.destination.sin_port = htons(uint16_t(10000 + i));
    }
    spec.ssrc = 0x10000000u + uint32_t(i);
    spec.suite = suite;
    spec.master_key = rtp::RandomMasterKey(suite);
    auto handle = engine->AddListener(spec, &error);
    if (!handle) {
      r.error = error;
      return r;
    }
    handles.push_back(std::move(handle));
    if (sink) sink->Expect(0x10000000u + uint32_t(i), i % channels);
  }
  rtp::UseHmacSha1(rtp::HmacSha1::kPrecomputed);  // the process default again (contexts keep theirs)
  // A 64 kb/s Opus frame's size; every channel's packet of a frame is pushed at the same instant.
  const std::size_t payload = 8 * std::size_t(frame_ms);
  std::vector<uint8_t> packet(rtp::kMinHeader + payload, 0x5A);
  auto push_for = [&](std::chrono::seconds d, uint32_t& frame) {
    const auto period = std::chrono::milliseconds(frame_ms);
    auto next = std::chrono::steady_clock::now();
    const auto end = next + d;
    for (; next < end; next += period, ++frame) {
      std::this_thread::sleep_until(next);
      for (int c = 0; c < channels; ++c) {
        rtp::WriteHeader(packet.data(), 96, false, uint16_t(frame), frame * uint32_t(48 * frame_ms), 0xC0DE0000u + c);
        engine->Push(uint64_t(c) + 1, packet.data(), packet.size());
      }
    }
  };
  uint32_t frame = 0;
  push_for(std::chrono::seconds(1), frame);  // warm-up: first packets, caches
  engine->ResetDelayStats();
  const auto before = engine->Stats();
  const auto cpu_before = SampleProcess(getpid());
  if (sink) sink->BeginWindow();
  push_for(std::chrono::seconds(window_s), frame);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last frame's fan-out
  const auto cpu_after = SampleProcess(getpid());
  LoopbackSink::Window w;
  if (sink) w = sink->EndWindow(frame_ms);
  auto s = engine->Stats();
  // Send side: what the engine itself dropped or could not send.
  if (!sink) w.lost = s.packets_dropped - before.packets_dropped + s.send_errors - before.send_errors;
  r.p50_ms = s.delay.p50_us / 1000;
  r.p99_ms = s.delay.p99_us / 1000;
  r.max_ms = s.delay.max_us / 1000;
  r.samples = s.delay.samples;
  const uint64_t sent = s.packets_sent - before.packets_sent;
  if (cpu_before && cpu_after && sent > 0)
    r.us_per_listener_packet = (cpu_after->cpu_seconds - cpu_before->cpu_seconds) * 1e6 / double(sent);
  r.lost = w.lost;
  r.ring_overflows = s.ring_overflows;
  r.ok = r.samples > 0;
  return r;
}

void PrintDelay(const DelayResult& r) {
  std::printf(
      "\nfan-out delay, Push -> last sendmmsg (FanoutEngine in this process, %d channels x %d listeners, "
      "%d ms packets, %d sender thread%s, %s%s, %s)\n",
      r.channels, r.listeners / std::max(1, r.channels), r.frame_ms, r.sender_threads, r.sender_threads == 1 ? "" : "s",
      r.gcm ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80",
      r.design == DelayDesign::kLibsrtpHmac  ? " with libsrtp's HMAC (previous design)"
      : r.design == DelayDesign::kNoPrefetch ? ", no prefetch (previous design)"
      : r.design == DelayDesign::kOrdinary   ? ", ordinary scheduling (previous design)"
      : r.gcm                                ? ""
                                             : " with the precomputed HMAC",
      r.send_side ? "send side: tap device" : "to a loopback sink");
  if (!r.realtime_problem.empty())
    std::printf("(the sender threads run with ordinary scheduling: %s)\n", r.realtime_problem.c_str());
  if (!r.ok) {
    std::printf("delay run failed: %s\n", r.error.c_str());
    return;
  }
  std::printf(
      "p50 %.2f ms, p99 %.2f ms, max %.2f ms over %llu packets; sink lost %llu, ring overflows %llu; "
      "%.2f us of CPU per listener packet\n",
      r.p50_ms, r.p99_ms, r.max_ms, (unsigned long long)r.samples, (unsigned long long)r.lost,
      (unsigned long long)r.ring_overflows, r.us_per_listener_packet);
}

}  // namespace tilmash::bench
