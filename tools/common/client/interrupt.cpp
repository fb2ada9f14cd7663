#include "client/interrupt.h"

#include <atomic>
#include <csignal>
#include <thread>

namespace tilmash::client {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void OnSignal(int) { g_interrupted.store(true); }
}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return g_interrupted.load(); }

bool SleepUntilOrInterrupted(std::chrono::steady_clock::time_point deadline) {
  // 50 ms slices: prompt enough for a human, and no self-pipe machinery needed.
  while (!Interrupted()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_until(std::min(deadline, now + std::chrono::milliseconds(50)));
  }
  return false;
}

}  // namespace tilmash::client
