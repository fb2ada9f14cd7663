// The cost of one /metrics scrape with a real audience: a session of 10 channels, N unicast
// SRTP listeners subscribed through the API (their packets go to a socket nobody reads), then
// K scrapes over loopback HTTP, each timed from connect to the last byte, and the daemon's
// CPU time over them.
#pragma once
#include <sys/types.h>

#include <string>

#include "stats.h"

namespace tilmash::bench {

struct ScrapeResult {
  bool ok = false;
  std::string error;
  int listeners = 0, scrapes = 0;
  std::size_t bytes = 0;                // one scrape's body
  Percentiles wall_ms;                  // connect -> last byte, per scrape
  double cpu_ms_per_scrape = 0;         // the daemon's CPU over the scrapes / scrapes (fan-out included)
  double idle_cpu_ms_per_interval = 0;  // the daemon's CPU over as long without scrapes / scrapes
};
// http: "http://HOST:PORT/"; the token is the admin token of $TILMASH_TOKEN_FILE.
ScrapeResult RunScrapeBench(const std::string& server, const std::string& http, pid_t daemon, int listeners,
                            int scrapes);
void PrintScrape(const ScrapeResult& r);

}  // namespace tilmash::bench
