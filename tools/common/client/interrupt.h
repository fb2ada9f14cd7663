// Ctrl-C handling for the command-line tools: the handler only sets a flag; the tools poll it
// between steps (a signal handler must not call into gRPC or take locks).
#pragma once
#include <chrono>

namespace tilmash::client {

// Installs SIGINT/SIGTERM handlers that set the flag.
void InstallInterruptHandler();
bool Interrupted();
// Sleeps until `deadline` (time_point::max(): until Ctrl-C) or Ctrl-C, whichever comes first;
// returns false if interrupted.
bool SleepUntilOrInterrupted(std::chrono::steady_clock::time_point deadline);

}  // namespace tilmash::client
