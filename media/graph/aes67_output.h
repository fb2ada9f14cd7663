// AES67 out: each channel of every session (the floor included) also leaves as an L24 48 kHz
// mono multicast stream with 1 ms packets, one group per channel, for the venue's IR/RF
// radiators, AES67 recorders and Dante devices in AES67 mode. Aes67Outputs hands out the
// groups (from --aes67-out-group upwards) and announces each stream with SAP (RFC 2974) on
// 239.255.255.255:9875: an SDP with AES67's a=ptime, a=ts-refclk and a=mediaclk, at once when
// it starts, every kSapIntervalS after, and a deletion when it ends.
#pragma once
#include <gio/gio.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "domain/status.h"
#include "gst/gst_ptr.h"

namespace tilmash::graph {

struct Aes67OutConfig {
  std::string first_group;  // "": no AES67 out
  uint16_t port = 5004;
  std::string interface;  // IPv4 address of the interface to send on ("": the route's)
  int ttl = 1;
  int ptp_domain = -1;              // >= 0: the sessions run on PTP of this domain, on ptp_clock
  gst::GstPtr<GstClock> ptp_clock;  // its grandmaster goes into a=ts-refclk
  std::string sap_group = "239.255.255.255";
  uint16_t sap_port = 9875;
};

class Aes67Outputs : public std::enable_shared_from_this<Aes67Outputs> {
 public:
  static constexpr int kSapIntervalS = 30;
  static constexpr int kMaxGroups = 256;

  // One channel's stream while it lives: its group, and its SAP announcement.
  class Stream {
   public:
    ~Stream();
    const std::string& group() const { return group_; }
    uint16_t port() const { return port_; }
    const std::string& sdp() const { return sdp_; }
    // Sends to the group from the configured interface, with its TTL (udpsink's socket).
    GSocket* socket() const { return socket_.get(); }

   private:
    friend class Aes67Outputs;
    std::shared_ptr<Aes67Outputs> owner_;
    std::string group_, sdp_;
    gst::GObjectPtr<GSocket> socket_;
    uint16_t port_ = 0;
    uint16_t hash_ = 0;
  };

  // Null when config.first_group is empty (no AES67 out); an error for a bad address.
  static domain::Result<std::shared_ptr<Aes67Outputs>> Create(const Aes67OutConfig& config);
  ~Aes67Outputs();
  const Aes67OutConfig& config() const { return config_; }

  // A group for `channel` of `session`, announced from now on; RESOURCE_EXHAUSTED when all
  // kMaxGroups are taken.
  domain::Result<std::unique_ptr<Stream>> Open(const std::string& session, const std::string& channel);

 private:
  explicit Aes67Outputs(Aes67OutConfig config);
  void Close(Stream& s);
  void Announce(const std::string& sdp, uint16_t hash, bool deletion);
  void Run();

  const Aes67OutConfig config_;
  uint32_t first_ = 0;   // host order
  uint32_t origin_ = 0;  // the address SAP packets and SDPs name as their origin (network order)
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<uint32_t, std::pair<std::string, uint16_t>> live_;  // group offset -> (sdp, hash)
  uint16_t next_hash_ = 1;
  std::thread thread_;
};

}  // namespace tilmash::graph
