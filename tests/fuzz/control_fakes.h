// control_fuzz's stand-ins for the domain's ports: a media engine that records what the domain
// asked for and checks it against what the real engine would accept (CHECK aborts, so libFuzzer
// keeps the input), keys and ids that count up, and a clock the input steps.
#pragma once
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "fuzz_check.h"

namespace tilmash::fuzz {

using namespace tilmash::domain;

// Per-session record of what the domain asked the media side for.
class RecordingMedia : public MediaEngine {
 public:
  struct PerSession {
    std::map<ChannelName, ChannelMix> mixes;
    std::map<ListenerId, ChannelName> listeners;  // incl. return feeds ("r-...")
    std::set<ConsoleId> consoles;
    std::set<ChannelName> channels;
  };
  std::map<SessionId, PerSession> sessions;
  uint16_t next_port = 6000;
  unsigned alert_turn = 0;

  Status CreateSession(const SessionId& s) override {
    CHECK(!sessions.count(s));
    sessions[s];
    return Status::Ok();
  }
  void EndSession(const SessionId& s) override { sessions.erase(s); }
  Status AddChannel(const SessionId& s, const ChannelName& c) override {
    CHECK(At(s).channels.insert(c).second);
    return Status::Ok();
  }
  void RemoveChannel(const SessionId& s, const ChannelName& c) override {
    CHECK(At(s).channels.erase(c) == 1);
    At(s).mixes.erase(c);
  }
  Result<std::optional<IngestInfo>> SetFloorSource(const SessionId& s, const FloorSource& src,
                                                   const std::optional<SrtpKeying>& key, uint32_t) override {
    At(s);
    if (!std::holds_alternative<RtpSource>(src)) return std::optional<IngestInfo>();
    return std::optional<IngestInfo>(IngestInfo{{"127.0.0.1", 5000}, 96, 0, key});
  }
  Result<IngestInfo> AddConsole(const SessionId& s, const ConsoleId& id, const std::vector<ChannelName>& outs,
                                const SrtpKeying& key, uint32_t ssrc) override {
    CheckChannels(s, outs);
    CHECK(At(s).consoles.insert(id).second);
    return IngestInfo{{"127.0.0.1", next_port++}, 96, ssrc, key};
  }
  Status SetConsoleOutputs(const SessionId& s, const ConsoleId& id, const std::vector<ChannelName>& outs) override {
    CheckChannels(s, outs);
    CHECK(At(s).consoles.count(id) == 1);
    return Status::Ok();
  }
  void RemoveConsole(const SessionId& s, const ConsoleId& id) override { CHECK(At(s).consoles.erase(id) == 1); }
  void SetChannelMix(const SessionId& s, const ChannelName& c, const ChannelMix& m) override {
    CHECK(At(s).channels.count(c) == 1);
    At(s).mixes[c] = m;
  }
  Result<SendInfo> AddListener(const SessionId& s, const ListenerId& id, const ChannelName& c, const Endpoint& e,
                               const SrtpKeying&, uint32_t) override {
    CHECK(At(s).channels.count(c) == 1 && !e.host.empty() && e.port != 0);
    // As the real engine: only IPv4 literals.
    in_addr a{};
    if (inet_pton(AF_INET, e.host.c_str(), &a) != 1) return InvalidArgument("endpoint.host is not an IPv4 address");
    // A venue group's stream goes to a group; a stream keyed for one listener never does.
    CHECK((id.rfind("g-", 0) == 0) == IN_MULTICAST(ntohl(a.s_addr)));
    CHECK(At(s).listeners.emplace(id, c).second);
    return SendInfo{{"127.0.0.1", 7000}, 111, 48000, 10};
  }
  Status RekeyListener(const SessionId& s, const ListenerId& id, const SrtpKeying& key,
                       std::chrono::milliseconds) override {
    CHECK(At(s).listeners.count(id) == 1 && !key.master_key.empty());
    return Status::Ok();
  }
  ListenerAlerts TakeListenerAlerts(const SessionId& s) override {
    ListenerAlerts a;
    // Some listeners' ports are unreachable, some keys at their limit: the fuzzer's clock decides.
    for (const auto& [id, ch] : At(s).listeners) {
      if (id.rfind("r-", 0) == 0) continue;
      if (++alert_turn % 7 == 0) a.unreachable.push_back(id);
      if (alert_turn % 5 == 0) a.key_limit.push_back(id);
    }
    return a;
  }
  uint32_t StreamRoc(const SessionId& s, const ListenerId& id) override {
    CHECK(At(s).listeners.count(id) == 1);
    return 0;
  }
  Status SetListenerBalance(const SessionId& s, const ListenerId& id, uint32_t percent) override {
    CHECK(At(s).listeners.count(id) == 1 && percent < 100 && percent % 5 == 0 && id.rfind("l-", 0) == 0);
    return Status::Ok();
  }
  Status SwitchListener(const SessionId& s, const ListenerId& id, const ChannelName& c) override {
    CHECK(At(s).channels.count(c) == 1 && At(s).listeners.count(id) == 1);
    At(s).listeners[id] = c;
    return Status::Ok();
  }
  void RemoveListener(const SessionId& s, const ListenerId& id) override { CHECK(At(s).listeners.erase(id) == 1); }
  MediaStats Stats(const SessionId& s) override {
    At(s);
    MediaStats m;
    m.ingest.push_back(IngestCounters{"floor", 1, 2, 3, 4, 5, 6});
    return m;
  }

 private:
  PerSession& At(const SessionId& s) {
    auto it = sessions.find(s);
    CHECK(it != sessions.end());  // the domain never talks about a session it has not created or has ended
    return it->second;
  }
  void CheckChannels(const SessionId& s, const std::vector<ChannelName>& outs) {
    for (const auto& c : outs) CHECK(At(s).channels.count(c) == 1);
  }
};

class Keys : public KeyProvider {
 public:
  SrtpKeying NewKey(CryptoSuite s) override {
    return SrtpKeying{s, std::vector<uint8_t>(s == CryptoSuite::kAeadAes128Gcm ? 28 : 30, uint8_t(++n)), 0};
  }
  uint32_t NewSsrc() override { return ++ssrc; }
  std::string NewId(const std::string& prefix) override { return prefix + std::to_string(++n); }
  int n = 0;
  uint32_t ssrc = 1000;
};

class ManualClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now; }
  std::chrono::steady_clock::time_point now{};
};

}  // namespace tilmash::fuzz
