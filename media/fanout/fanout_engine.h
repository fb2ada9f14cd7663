// Encode once, encrypt per listener (CONVENTIONS habit 8). Channels push their encoded RTP
// packets in; one sender thread rewrites each packet into every listener's own SSRC,
// sequence and timestamp space, protects it with the listener's own libsrtp context and sends
// the batch with sendmmsg. Streaming threads only append to a queue and never wait on a socket.
//
// The fan-out map channel -> listeners is owned by the sender thread; add / remove / switch
// travel through the same queue as the packets, so every change takes effect between two
// packets and needs no lock on the per-listener path.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rtp/srtp_context.h"

namespace tilmash::fanout {

using ChannelKey = uint64_t;
using ListenerKey = uint64_t;

struct ListenerSpec {
  ListenerKey key = 0;
  ChannelKey channel = 0;
  sockaddr_in destination{};
  uint32_t ssrc = 0;
  rtp::SrtpSuite suite = rtp::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> master_key;
};

struct FanoutStats {
  uint64_t packets_in = 0;
  uint64_t packets_sent = 0;
  uint64_t send_errors = 0;
  uint64_t listeners = 0;
};

class FanoutEngine {
 public:
  // bind_host: local IPv4 address the listener streams come from.
  static std::unique_ptr<FanoutEngine> Create(const std::string& bind_host, std::string* error);
  ~FanoutEngine();
  FanoutEngine(const FanoutEngine&) = delete;
  FanoutEngine& operator=(const FanoutEngine&) = delete;

  // Any thread. The packet is copied; it is an RTP packet from the channel's payloader.
  void Push(ChannelKey channel, const uint8_t* data, std::size_t size);
  // Any thread. Fails only on a bad key length (the context is created here, not on the sender).
  bool AddListener(ListenerSpec spec, std::string* error);
  void SwitchListener(ListenerKey key, ChannelKey channel);
  void RemoveListener(ListenerKey key);
  // Removes every listener of a channel (channel or session removed).
  void RemoveChannel(ChannelKey channel);

  FanoutStats Stats() const;
  uint16_t source_port() const { return source_port_; }
  const std::string& source_host() const { return source_host_; }

 private:
  struct Listener {
    ListenerKey key;
    ChannelKey channel;
    sockaddr_in destination;
    uint32_t ssrc;
    uint16_t next_seq = 0;  // every listener's sequence starts at 0, so its ROC starts at 0
    uint32_t ts_offset = 0;
    uint32_t last_ts = 0;
    bool rebase = true;  // next packet re-anchors the timestamp (first packet, or a switch)
    bool sent_any = false;
    rtp::SrtpContextPtr srtp;
  };
  struct Command {
    enum class Kind { kPacket, kAdd, kSwitch, kRemove, kRemoveChannel } kind;
    ChannelKey channel = 0;
    ListenerKey listener = 0;
    std::vector<uint8_t> packet;
    std::unique_ptr<Listener> added;
  };

  FanoutEngine(int fd, std::string host, uint16_t port);
  void Enqueue(Command c);
  void Run();
  void SendToChannel(ChannelKey channel, const std::vector<uint8_t>& packet);
  void Detach(Listener* l);

  const int fd_;
  const std::string source_host_;
  const uint16_t source_port_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;
  bool stopping_ = false;

  // Sender thread only.
  std::unordered_map<ListenerKey, std::unique_ptr<Listener>> listeners_;
  std::unordered_map<ChannelKey, std::vector<Listener*>> by_channel_;
  std::unordered_map<ChannelKey, uint32_t> frame_samples_;  // last observed timestamp step
  std::unordered_map<ChannelKey, uint32_t> last_in_ts_;
  std::vector<uint8_t> scratch_;

  std::atomic<uint64_t> packets_in_{0}, packets_sent_{0}, send_errors_{0}, listener_count_{0};
  std::thread thread_;
};

}  // namespace tilmash::fanout
