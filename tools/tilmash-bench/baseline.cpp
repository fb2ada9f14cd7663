#include "baseline.h"

#include <arpa/inet.h>
#include <gst/gst.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "rtp/srtp_context.h"

namespace tilmash::bench {

namespace {

double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string Hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) s += {d[x >> 4], d[x & 15]};
  return s;
}

// Cores this process used while a pipeline with `branches` srtpenc branches ran.
double RunPipeline(int branches, int frame_ms, int window_s, uint16_t port, std::string* error) {
  std::string desc =
      "audiotestsrc is-live=true wave=sine freq=440 ! audio/x-raw,rate=48000,channels=1 ! "
      "opusenc frame-size=" +
      std::to_string(frame_ms) + " ! rtpopuspay pt=111 ! tee name=t";
  for (int i = 0; i < branches; ++i)
    desc += " t. ! queue ! srtpenc key=" + Hex(rtp::RandomMasterKey(rtp::SrtpSuite::kAesCm128HmacSha1_80)) +
            " ! udpsink host=127.0.0.1 port=" + std::to_string(port) + " sync=false async=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err) {
    *error = err->message;
    g_error_free(err);
    if (pipeline) gst_object_unref(pipeline);
    return -1;
  }
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "baseline pipeline does not start";
    gst_object_unref(pipeline);
    return -1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up: threads and contexts created
  const double c0 = ProcessCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window_s));
  const double cores =
      (ProcessCpuSeconds() - c0) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return cores;
}

}  // namespace

BaselineResult RunGstBaseline(int listeners, int frame_ms, int window_s) {
  BaselineResult r;
  r.listeners = listeners;
  r.frame_ms = frame_ms;
  gst_init(nullptr, nullptr);
  // One receiving socket that is never read: the kernel delivers (or drops at the full buffer)
  // as it does for the daemon's listeners, and this process spends nothing reading.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    r.error = "cannot bind the baseline's receiving socket";
    return r;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t port = ntohs(a.sin_port);
  r.cores_one = RunPipeline(1, frame_ms, window_s, port, &r.error);
  if (r.cores_one >= 0 && listeners > 1) r.cores = RunPipeline(listeners, frame_ms, window_s, port, &r.error);
  ::close(fd);
  if (r.cores_one < 0 || r.cores <= 0) return r;
  r.us_per_listener_packet = (r.cores - r.cores_one) / (listeners - 1) / (1000.0 / frame_ms) * 1e6;
  r.ok = r.us_per_listener_packet > 0;
  return r;
}

void PrintBaseline(const BaselineResult& r) {
  std::printf("\nGStreamer-only baseline (tee ! N x queue ! srtpenc ! udpsink, %d ms packets, in this process)\n",
              r.frame_ms);
  if (!r.ok) {
    std::printf("baseline failed: %s\n", r.error.c_str());
    return;
  }
  std::printf("%d branches: %.3f cores, 1 branch: %.3f cores -> %.2f us per listener packet, %.0f listeners per core\n",
              r.listeners, r.cores, r.cores_one, r.us_per_listener_packet,
              1e6 / (r.us_per_listener_packet * 1000.0 / r.frame_ms));
}

}  // namespace tilmash::bench
