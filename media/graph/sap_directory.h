// SAP (RFC 2974) discovery: the AES67 streams the venue's devices announce on
// 239.255.255.255:9875 (Dante in AES67 mode, RAVENNA, other Tilmash nodes), kept by their SDP's
// session name (s=) so a floor source can be chosen by name. An announcement not repeated for
// kExpiry is forgotten, a deletion at once. One thread, one socket, for the whole daemon.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tilmash::graph {

class SapDirectory {
 public:
  static constexpr std::chrono::minutes kExpiry{5};  // 10x the common 30 s interval

  // Joined on `interface` (an IPv4 address; "": the route's). Null with *error when the socket
  // cannot be had (the daemon runs on without discovery).
  static std::unique_ptr<SapDirectory> Create(const std::string& interface, std::string* error,
                                              const std::string& group = "239.255.255.255", uint16_t port = 9875);
  ~SapDirectory();

  // The SDP last announced under this session name.
  std::optional<std::string> Find(const std::string& name);
  // The names announced now, sorted.
  std::vector<std::string> Names();

 private:
  explicit SapDirectory(int fd) : fd_(fd) {}
  void Run();
  void Take(const uint8_t* p, std::size_t n);

  int fd_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  struct Entry {
    std::string sdp;
    std::chrono::steady_clock::time_point seen;
  };
  std::map<std::string, Entry> streams_;
  std::thread thread_;
};

}  // namespace tilmash::graph
