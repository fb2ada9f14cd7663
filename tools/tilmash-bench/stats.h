// Small measurement helpers for tilmash-bench: percentiles, and the CPU time and resident
// memory of a process (the daemon, or the bench itself) read from /proc.
#pragma once
#include <sys/types.h>

#include <optional>
#include <vector>

namespace tilmash::bench {

struct Percentiles {
  double p50 = 0, p99 = 0, min = 0, max = 0;
  std::size_t n = 0;
};
Percentiles Summarise(std::vector<double> v);

struct ProcessSample {
  double cpu_seconds = 0;  // utime + stime, every thread
  double rss_kib = 0;
};
// /proc/<pid>/stat and /proc/<pid>/status; nullopt when the process is gone.
std::optional<ProcessSample> SampleProcess(pid_t pid);
// Its threads (/proc/<pid>/status), -1 when the process is gone.
int ThreadsOf(pid_t pid);

}  // namespace tilmash::bench
