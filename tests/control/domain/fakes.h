// Fakes of the domain's ports: they record what the domain asked for. Handles record into
// their FakeMedia by label (the listener's, group's, return feed's or console's id), and
// destroying a handle erases what it recorded, as the real media side stops it.
#pragma once
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "domain/ports.h"

namespace tilmash::domain::testing {

class FakeMedia : public MediaEngine {
 public:
  class Console : public ConsoleInput {
   public:
    Console(FakeMedia* m, ConsoleId id, IngestInfo info) : m_(m), id_(std::move(id)), info_(std::move(info)) {}
    ~Console() override {
      std::lock_guard l(m_->mu);
      m_->console_outputs.erase(id_);
      --m_->consoles;
    }
    const IngestInfo& ingest() const override { return info_; }
    void SetOutputs(const std::vector<ChannelName>& outs) override {
      std::lock_guard l(m_->mu);
      m_->console_outputs[id_] = outs;
    }
    IngestCounters Counters() const override {
      std::lock_guard l(m_->mu);
      auto it = m_->inputs.find(id_);
      IngestCounters c = it == m_->inputs.end() ? IngestCounters{} : it->second;
      c.source = id_;
      return c;
    }
    const ConsoleId& id() const { return id_; }

   private:
    FakeMedia* m_;
    ConsoleId id_;
    IngestInfo info_;
  };

  class Stream : public ListenerStream {
   public:
    Stream(FakeMedia* m, std::string label) : m_(m), label_(std::move(label)) {}
    ~Stream() override {
      std::lock_guard l(m_->mu);
      m_->listener_channel.erase(label_);
      m_->listener_endpoint.erase(label_);
      m_->listener_balance.erase(label_);
    }
    SendInfo send() const override { return SendInfo{{"127.0.0.1", 7000}, 111, 48000, 10}; }
    void Switch(const ChannelName& c) override {
      std::lock_guard l(m_->mu);
      m_->listener_channel[label_] = c;
    }
    void SetBalance(uint32_t percent) override {
      std::lock_guard l(m_->mu);
      if (percent < 100)
        m_->listener_balance[label_] = percent;
      else
        m_->listener_balance.erase(label_);
    }
    Status Rekey(const SrtpKeying& key, std::chrono::milliseconds) override {
      std::lock_guard l(m_->mu);
      m_->rekeyed.emplace_back(label_, key);
      return Status::Ok();
    }
    uint32_t Roc() const override { return 0; }
    StreamAlerts TakeAlerts() override {
      std::lock_guard l(m_->mu);
      StreamAlerts a;
      a.unreachable = Take(m_->alerts_unreachable);
      a.key_limit = Take(m_->alerts_key_limit);
      if (auto d = m_->alerts_dropped.find(label_); d != m_->alerts_dropped.end()) {
        a.dropped = d->second;
        m_->alerts_dropped.erase(d);
      }
      return a;
    }

   private:
    bool Take(std::vector<std::string>& v) {
      auto it = std::find(v.begin(), v.end(), label_);
      if (it == v.end()) return false;
      v.erase(it);
      return true;
    }
    FakeMedia* m_;
    std::string label_;
  };

  class Viewer : public ViewerStream {
   public:
    Viewer(FakeMedia* m, std::string id) : m_(m), id_(std::move(id)) {}
    ~Viewer() override {
      std::lock_guard l(m_->mu);
      m_->viewers.erase(id_);
    }
    bool over() const override {
      std::lock_guard l(m_->mu);
      return m_->viewers_over.count(id_) != 0;
    }

   private:
    FakeMedia* m_;
    std::string id_;
  };

  // A channel's recorder; `recorders_failed` makes it report a failure (a full disk).
  class Recording : public ChannelRecording {
   public:
    Recording(FakeMedia* m, ChannelName c) : m_(m), c_(std::move(c)) {}
    ~Recording() override {
      std::lock_guard l(m_->mu);
      m_->recording.erase(c_);
    }
    RecordingStatus Status() const override {
      std::lock_guard l(m_->mu);
      RecordingStatus s;
      s.file = "/rec/" + c_ + "/1.opus";
      if (m_->recorders_failed.count(c_)) {
        s.failed = true;
        s.error = "write " + s.file + ": No space left on device";
      }
      return s;
    }

   private:
    FakeMedia* m_;
    ChannelName c_;
  };

  class Session : public MediaSession {
   public:
    Session(FakeMedia* m, SessionId id) : m_(m), id_(std::move(id)) {}
    ~Session() override {
      std::lock_guard l(m_->mu);
      m_->ended.push_back(id_);
    }
    Status AddChannel(const ChannelName& c) override {
      std::lock_guard l(m_->mu);
      m_->channels.push_back(c);
      return Status::Ok();
    }
    void RemoveChannel(const ChannelName& c) override {
      std::lock_guard l(m_->mu);
      m_->removed_channels.push_back(c);
    }
    Result<FloorIngests> SetFloorSource(const FloorSpec& primary, const FloorSpec& backup,
                                        FloorLinkCallback on_primary) override {
      std::lock_guard l(m_->mu);
      FloorIngests out;
      if (std::holds_alternative<RtpSource>(primary.source))
        out.primary = IngestInfo{{"127.0.0.1", primary.port ? primary.port : uint16_t(5000)}, 96, 0, primary.key};
      if (std::holds_alternative<RtpSource>(backup.source))
        out.backup = IngestInfo{{"127.0.0.1", backup.port ? backup.port : uint16_t(5001)}, 96, 0, backup.key};
      m_->floor_sets++;
      m_->floor_link = std::move(on_primary);
      m_->floor_on_air.clear();
      return out;
    }
    void SelectFloor(FloorActive active) override {
      std::lock_guard l(m_->mu);
      m_->floor_on_air.push_back(active);
    }
    Result<std::unique_ptr<ConsoleInput>> AddConsole(const ConsoleId& id, const std::vector<ChannelName>& outs,
                                                     const SrtpKeying& key, uint32_t ssrc, LinkCallback on_link,
                                                     uint16_t port) override {
      std::lock_guard l(m_->mu);
      m_->console_outputs[id] = outs;
      m_->console_links[id] = std::move(on_link);
      const uint16_t next = uint16_t(6000 + m_->consoles++);
      IngestInfo info{{"127.0.0.1", port ? port : next}, 96, ssrc, key};
      return std::unique_ptr<ConsoleInput>(std::make_unique<Console>(m_, id, info));
    }
    void SetChannelMix(const ChannelName& c, const ChannelMix& mix) override {
      std::lock_guard l(m_->mu);
      auto& recorded = m_->mixes[c];
      recorded.floor_gain_db = mix.floor_gain_db;
      recorded.console_gain_db.clear();
      for (const auto& [console, db] : mix.console_gain_db)
        recorded.console_gain_db.emplace_back(static_cast<const Console*>(console)->id(), db);
    }
    Result<std::unique_ptr<ListenerStream>> AddListener(const ListenerStreamSpec& spec) override {
      std::lock_guard l(m_->mu);
      m_->listener_channel[spec.label] = spec.channel;
      m_->listener_endpoint[spec.label] = spec.endpoint;
      m_->listener_first[spec.label] = {spec.first_index, spec.first_timestamp};
      return std::unique_ptr<ListenerStream>(std::make_unique<Stream>(m_, spec.label));
    }
    Result<std::unique_ptr<ViewerStream>> AddViewer(const std::string& id, const ChannelName& c,
                                                    const std::string& offer, AnswerCallback done) override {
      if (offer.rfind("v=0", 0) != 0) return InvalidArgument("line 1: the offer is not SDP");
      {
        std::lock_guard l(m_->mu);
        m_->viewers[id] = c;
      }
      if (done) done(true, "v=0 answer for " + id);
      return std::unique_ptr<ViewerStream>(std::make_unique<Viewer>(m_, id));
    }
    MediaStats Stats() const override {
      std::lock_guard l(m_->mu);
      MediaStats stats;
      for (const char* floor : {"floor", "floor-backup"})
        if (auto it = m_->inputs.find(floor); it != m_->inputs.end()) {
          stats.ingest.push_back(it->second);
          stats.ingest.back().source = floor;
        }
      return stats;
    }
    Result<std::unique_ptr<ChannelRecording>> StartRecording(const ChannelName& c, uint32_t segment_s) override {
      std::lock_guard l(m_->mu);
      if (!m_->can_record) return FailedPrecondition("recording needs a directory: start tilmashd with --record-dir");
      m_->recording[c] = segment_s;
      return std::unique_ptr<ChannelRecording>(std::make_unique<Recording>(m_, c));
    }

   private:
    FakeMedia* m_;
    SessionId id_;
  };

  Result<std::unique_ptr<MediaSession>> CreateSession(const SessionId& id, const MediaTiming&) override {
    return std::unique_ptr<MediaSession>(std::make_unique<Session>(this, id));
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

  struct RecordedMix {
    double floor_gain_db = 0;
    std::vector<std::pair<ConsoleId, double>> console_gain_db;
  };

  mutable std::mutex mu;
  std::vector<ChannelName> channels, removed_channels;
  std::vector<SessionId> ended;
  std::map<ChannelName, RecordedMix> mixes;
  std::map<std::string, ChannelName> listener_channel;  // by label: listener, "g-" group, "r-" return feed
  std::map<std::string, Endpoint> listener_endpoint;
  std::map<std::string, std::pair<uint64_t, uint32_t>> listener_first;  // first packet's index and timestamp
  std::map<std::string, uint32_t> listener_balance;                     // only the streams with a server-side mix
  std::vector<std::pair<std::string, SrtpKeying>> rekeyed;
  // What the speaker-input monitor reads per source ("floor", "floor-backup", a console id).
  std::map<std::string, IngestCounters> inputs;
  // Streams whose next TakeAlerts reports ICMP unreachable / a key at its limit (once each).
  std::vector<std::string> alerts_unreachable, alerts_key_limit;
  std::map<std::string, uint64_t> alerts_dropped;  // packets dropped, reported by the next TakeAlerts
  std::map<ConsoleId, std::vector<ChannelName>> console_outputs;
  std::map<ConsoleId, LinkCallback> console_links;  // what the media side would call on link loss/return

  // Calls a console's LinkCallback as the media thread would (not under mu).
  void Link(const ConsoleId& id, bool up) {
    LinkCallback cb;
    {
      std::lock_guard l(mu);
      cb = console_links.at(id);
    }
    cb(up);
  }
  int floor_sets = 0;
  FloorLinkCallback floor_link;           // the latest floor's primary watch
  std::vector<FloorActive> floor_on_air;  // SelectFloor calls since the latest SetFloorSource
  // Calls the floor's FloorLinkCallback as the media thread would (not under mu).
  void FloorLink(bool up) {
    FloorLinkCallback cb;
    {
      std::lock_guard l(mu);
      cb = floor_link;
    }
    cb(up);
  }
  std::map<std::string, ChannelName> viewers;
  std::set<std::string> viewers_over;  // their connection failed or closed
  int consoles = 0;
  bool can_record = true;
  std::map<ChannelName, uint32_t> recording;  // channels with a recorder, and its segment_s
  std::set<ChannelName> recorders_failed;
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

// The state store in memory; `fail` makes every write fail as a full disk would.
class FakeStore : public StateStore {
 public:
  Status PutSession(const SessionRecord& r) override {
    std::lock_guard l(mu);
    if (fail) return Unavailable("disk full");
    sessions[r.id] = r;
    ++writes;
    return Status::Ok();
  }
  Status DeleteSession(const SessionId& id) override {
    std::lock_guard l(mu);
    if (fail) return Unavailable("disk full");
    sessions.erase(id);
    std::erase_if(listeners, [&](const auto& kv) { return kv.second.session == id; });
    ++writes;
    return Status::Ok();
  }
  Status PutListener(const ListenerRecord& r) override {
    std::lock_guard l(mu);
    if (fail) return Unavailable("disk full");
    listeners[r.view.id] = r;
    ++writes;
    return Status::Ok();
  }
  Status DeleteListener(const SessionId&, const ListenerId& id) override {
    std::lock_guard l(mu);
    if (fail) return Unavailable("disk full");
    listeners.erase(id);
    ++writes;
    return Status::Ok();
  }
  std::vector<SessionRecord> Sessions() {
    std::lock_guard l(mu);
    std::vector<SessionRecord> out;
    for (const auto& [id, r] : sessions) out.push_back(r);
    return out;
  }
  std::vector<ListenerRecord> Listeners() {
    std::lock_guard l(mu);
    std::vector<ListenerRecord> out;
    for (const auto& [id, r] : listeners) out.push_back(r);
    return out;
  }
  std::mutex mu;
  bool fail = false;
  int writes = 0;
  std::map<SessionId, SessionRecord> sessions;
  std::map<ListenerId, ListenerRecord> listeners;
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
