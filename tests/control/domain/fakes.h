// Fakes of the domain's ports: they record what the domain asked for.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "domain/ports.h"

namespace tilmash::domain::testing {

class FakeMedia : public MediaEngine {
 public:
  Status CreateSession(const SessionId&) override { return Status::Ok(); }
  void EndSession(const SessionId& s) override {
    std::lock_guard l(mu);
    ended.push_back(s);
  }
  Status AddChannel(const SessionId&, const ChannelName& c) override {
    std::lock_guard l(mu);
    channels.push_back(c);
    return Status::Ok();
  }
  void RemoveChannel(const SessionId&, const ChannelName& c) override {
    std::lock_guard l(mu);
    removed_channels.push_back(c);
  }
  Result<std::optional<IngestInfo>> SetFloorSource(const SessionId&, const FloorSource& src,
                                                   const std::optional<SrtpKeying>& key, uint32_t) override {
    std::lock_guard l(mu);
    if (!std::holds_alternative<RtpSource>(src)) return std::optional<IngestInfo>();
    IngestInfo info{{"127.0.0.1", 5000}, 96, 0, key};
    return std::optional<IngestInfo>(info);
  }
  Result<IngestInfo> AddConsole(const SessionId&, const ConsoleId& id, const std::vector<ChannelName>& outs,
                                const SrtpKeying& key, uint32_t ssrc) override {
    std::lock_guard l(mu);
    console_outputs[id] = outs;
    return IngestInfo{{"127.0.0.1", uint16_t(6000 + consoles++)}, 96, ssrc, key};
  }
  Status SetConsoleOutputs(const SessionId&, const ConsoleId& id, const std::vector<ChannelName>& outs) override {
    std::lock_guard l(mu);
    console_outputs[id] = outs;
    return Status::Ok();
  }
  void RemoveConsole(const SessionId&, const ConsoleId&) override {
    std::lock_guard l(mu);
    --consoles;
  }
  void SetChannelMix(const SessionId&, const ChannelName& c, const ChannelMix& m) override {
    std::lock_guard l(mu);
    mixes[c] = m;
  }
  Result<SendInfo> AddListener(const SessionId&, const ListenerId& id, const ChannelName& c, const Endpoint& e,
                               const SrtpKeying&, uint32_t) override {
    std::lock_guard l(mu);
    listener_channel[id] = c;
    listener_endpoint[id] = e;
    return SendInfo{{"127.0.0.1", 7000}, 111, 48000, 10};
  }
  Status SwitchListener(const SessionId&, const ListenerId& id, const ChannelName& c) override {
    std::lock_guard l(mu);
    listener_channel[id] = c;
    return Status::Ok();
  }
  Status SetListenerBalance(const SessionId&, const ListenerId& id, uint32_t percent) override {
    std::lock_guard l(mu);
    if (!listener_channel.count(id)) return NotFound("no listener " + id);
    listener_balance[id] = percent;
    return Status::Ok();
  }
  void RemoveListener(const SessionId&, const ListenerId& id) override {
    std::lock_guard l(mu);
    listener_channel.erase(id);
    listener_balance.erase(id);
  }
  MediaStats Stats(const SessionId&) override { return {}; }
  Status RekeyListener(const SessionId&, const ListenerId& id, const SrtpKeying& key,
                       std::chrono::milliseconds) override {
    std::lock_guard l(mu);
    rekeyed.emplace_back(id, key);
    return Status::Ok();
  }
  uint32_t StreamRoc(const SessionId&, const ListenerId&) override { return 0; }
  ListenerAlerts TakeListenerAlerts(const SessionId&) override {
    std::lock_guard l(mu);
    return std::exchange(alerts, {});
  }

  // Gain of a console in a channel's last mix, or nullopt when absent.
  std::optional<double> ConsoleGain(const ChannelName& c, const ConsoleId& id) {
    std::lock_guard l(mu);
    for (const auto& [cid, db] : mixes[c].console_gain_db)
      if (cid == id) return db;
    return std::nullopt;
  }
  double FloorGain(const ChannelName& c) {
    std::lock_guard l(mu);
    return mixes[c].floor_gain_db;
  }

  std::mutex mu;
  std::vector<ChannelName> channels, removed_channels;
  std::vector<SessionId> ended;
  std::map<ChannelName, ChannelMix> mixes;
  std::map<ListenerId, ChannelName> listener_channel;
  std::map<ListenerId, Endpoint> listener_endpoint;
  std::map<ListenerId, uint32_t> listener_balance;  // only the listeners with a server-side mix
  std::vector<std::pair<ListenerId, SrtpKeying>> rekeyed;
  ListenerAlerts alerts;  // handed out by the next TakeListenerAlerts
  std::map<ConsoleId, std::vector<ChannelName>> console_outputs;
  int consoles = 0;
};

class FakeKeys : public KeyProvider {
 public:
  SrtpKeying NewKey(CryptoSuite s) override {
    ++keys;
    return SrtpKeying{s, std::vector<uint8_t>(s == CryptoSuite::kAeadAes128Gcm ? 28 : 30, uint8_t(keys)), 0};
  }
  uint32_t NewSsrc() override { return ++ssrc; }
  std::string NewId(const std::string& prefix) override { return prefix + std::to_string(++ids); }
  int keys = 0, ids = 0;
  uint32_t ssrc = 1000;
};

class ManualClock : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now; }
  std::chrono::steady_clock::time_point now{};
};

class RecordingEvents : public EventSink {
 public:
  void OnEvent(const SessionEvent& e) override {
    std::lock_guard l(mu);
    events.push_back(e);
  }
  template <class T>
  std::vector<T> Of() {
    std::lock_guard l(mu);
    std::vector<T> out;
    for (const auto& e : events)
      if (auto* p = std::get_if<T>(&e.what)) out.push_back(*p);
    return out;
  }
  std::mutex mu;
  std::vector<SessionEvent> events;
};

}  // namespace tilmash::domain::testing
