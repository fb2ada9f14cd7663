#include "metrics/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace tilmash::metrics {

namespace {

struct ProcStat {
  double cpu_s = 0, start_s = 0, virtual_bytes = 0, resident_bytes = 0;
  long threads = 0;
};

// /proc/self/stat: the fields after the command (which may hold spaces and parentheses).
ProcStat ReadStat() {
  ProcStat s;
  char buf[1024];
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return s;
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return s;
  unsigned long utime = 0, stime = 0, vsize = 0;
  unsigned long long start = 0;
  long threads = 0, rss = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
  // cstime priority nice num_threads itrealvalue starttime vsize rss
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d %llu %lu %ld",
                  &utime, &stime, &threads, &start, &vsize, &rss) != 6)
    return s;
  const double tick = double(sysconf(_SC_CLK_TCK));
  s.cpu_s = double(utime + stime) / tick;
  s.threads = threads;
  s.virtual_bytes = double(vsize);
  s.resident_bytes = double(rss) * double(sysconf(_SC_PAGESIZE));
  // starttime is in ticks since boot: add the boot time (CLOCK_REALTIME - CLOCK_BOOTTIME).
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  const double booted = double(real.tv_sec - boot.tv_sec) + double(real.tv_nsec - boot.tv_nsec) / 1e9;
  s.start_s = booted + double(start) / tick;
  return s;
}

int OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

}  // namespace

void WriteProcessMetrics(MetricsText& out) {
  const ProcStat s = ReadStat();
  out.Family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  out.Sample("process_cpu_seconds_total", {}, s.cpu_s);
  out.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.Sample("process_resident_memory_bytes", {}, s.resident_bytes);
  out.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.Sample("process_virtual_memory_bytes", {}, s.virtual_bytes);
  out.Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  out.Sample("process_start_time_seconds", {}, s.start_s);
  out.Family("process_open_fds", "gauge", "Number of open file descriptors.");
  out.Sample("process_open_fds", {}, OpenFds());
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out.Sample("process_max_fds", {}, double(limit.rlim_cur));
  }
  out.Family("tilmash_process_threads", "gauge", "Threads of the daemon (media, fan-out, gRPC, HTTP, GStreamer).");
  out.Sample("tilmash_process_threads", {}, double(s.threads));
}

}  // namespace tilmash::metrics
