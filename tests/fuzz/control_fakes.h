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

// Per-session record of what the domain asked the media side for, kept by handles that
// check each request against what the real engine would accept and erase what they recorded
// when the domain destroys them.
class RecordingMedia : public MediaEngine {
 public:
  struct RecordedMix {
    double floor_gain_db = 0;
    std::vector<std::pair<ConsoleId, double>> console_gain_db;
  };
  struct PerSession {
    std::map<ChannelName, RecordedMix> mixes;
    std::map<std::string, ChannelName> listeners;  // by label, incl. return feeds ("r-...") and groups ("g-...")
    std::set<ConsoleId> consoles;
    std::set<ChannelName> channels;
    std::map<std::string, ChannelName> viewers;  // WebRTC viewers by id
    std::set<ChannelName> recordings;            // channels with a recorder
  };
  std::map<SessionId, PerSession> sessions;
  uint16_t next_port = 6000;
  unsigned alert_turn = 0;

  class Console : public ConsoleInput {
   public:
    Console(RecordingMedia* m, SessionId s, ConsoleId id, IngestInfo info)
        : m_(m), s_(std::move(s)), id_(std::move(id)), info_(std::move(info)) {}
    ~Console() override { CHECK(m_->At(s_).consoles.erase(id_) == 1); }
    const IngestInfo& ingest() const override { return info_; }
    void SetOutputs(const std::vector<ChannelName>& outs) override {
      m_->CheckChannels(s_, outs);
      CHECK(m_->At(s_).consoles.count(id_) == 1);
    }
    IngestCounters Counters() const override { return IngestCounters{id_, 1, 2, 3, 4, 5, 6}; }
    const ConsoleId& id() const { return id_; }

   private:
    RecordingMedia* m_;
    SessionId s_;
    ConsoleId id_;
    IngestInfo info_;
  };

  class Stream : public ListenerStream {
   public:
    Stream(RecordingMedia* m, SessionId s, std::string label) : m_(m), s_(std::move(s)), label_(std::move(label)) {}
    ~Stream() override { CHECK(m_->At(s_).listeners.erase(label_) == 1); }
    SendInfo send() const override { return SendInfo{{"127.0.0.1", 7000}, 111, 48000, 10}; }
    void Switch(const ChannelName& c) override {
      CHECK(m_->At(s_).channels.count(c) == 1 && m_->At(s_).listeners.count(label_) == 1);
      m_->At(s_).listeners[label_] = c;
    }
    void SetBalance(uint32_t percent) override {
      CHECK(m_->At(s_).listeners.count(label_) == 1 && percent < 100 && percent % 5 == 0 && label_.rfind("l-", 0) == 0);
    }
    Status Rekey(const SrtpKeying& key, std::chrono::milliseconds) override {
      CHECK(m_->At(s_).listeners.count(label_) == 1 && !key.master_key.empty());
      return Status::Ok();
    }
    uint32_t Roc() const override {
      CHECK(m_->At(s_).listeners.count(label_) == 1);
      return 0;
    }
    // Some listeners' ports are unreachable, some keys at their limit: the fuzzer's turns decide.
    StreamAlerts TakeAlerts() override {
      StreamAlerts a;
      if (label_.rfind("r-", 0) == 0) return a;
      a.unreachable = ++m_->alert_turn % 7 == 0;
      a.key_limit = m_->alert_turn % 5 == 0;
      return a;
    }

   private:
    RecordingMedia* m_;
    SessionId s_;
    std::string label_;
  };

  class Viewer : public ViewerStream {
   public:
    Viewer(RecordingMedia* m, SessionId s, std::string id) : m_(m), s_(std::move(s)), id_(std::move(id)) {}
    ~Viewer() override { CHECK(m_->At(s_).viewers.erase(id_) == 1); }
    bool over() const override { return ++m_->alert_turn % 11 == 0; }

   private:
    RecordingMedia* m_;
    SessionId s_;
    std::string id_;
  };

  class Recorder : public ChannelRecording {
   public:
    Recorder(RecordingMedia* m, SessionId s, ChannelName c) : m_(m), s_(std::move(s)), c_(std::move(c)) {}
    ~Recorder() override { CHECK(m_->At(s_).recordings.erase(c_) == 1); }
    RecordingStatus Status() const override { return {}; }

   private:
    RecordingMedia* m_;
    SessionId s_;
    ChannelName c_;
  };

  class Session : public MediaSession {
   public:
    Session(RecordingMedia* m, SessionId id) : m_(m), id_(std::move(id)) {}
    ~Session() override {
      // The domain destroys a session's handles before the session.
      const auto& rec = m_->At(id_);
      CHECK(rec.listeners.empty() && rec.consoles.empty() && rec.viewers.empty() && rec.recordings.empty());
      m_->sessions.erase(id_);
    }
    Status AddChannel(const ChannelName& c) override {
      CHECK(m_->At(id_).channels.insert(c).second);
      return Status::Ok();
    }
    void RemoveChannel(const ChannelName& c) override {
      CHECK(m_->At(id_).channels.erase(c) == 1);
      m_->At(id_).mixes.erase(c);
      for (const auto& [label, ch] : m_->At(id_).listeners) CHECK(ch != c);  // moved or ended first
      for (const auto& [viewer, ch] : m_->At(id_).viewers) CHECK(ch != c);
      CHECK(m_->At(id_).recordings.count(c) == 0);  // stopped first
    }
    Result<FloorIngests> SetFloorSource(const FloorSpec& primary, const FloorSpec& backup, FloorLinkCallback) override {
      m_->At(id_);
      FloorIngests out;
      if (std::holds_alternative<RtpSource>(primary.source))
        out.primary = IngestInfo{{"127.0.0.1", 5000}, 96, 0, primary.key};
      if (std::holds_alternative<RtpSource>(backup.source))
        out.backup = IngestInfo{{"127.0.0.1", 5001}, 96, 0, backup.key};
      return out;
    }
    void SelectFloor(FloorActive) override { m_->At(id_); }
    Result<std::unique_ptr<ConsoleInput>> AddConsole(const ConsoleId& id, const std::vector<ChannelName>& outs,
                                                     const SrtpKeying& key, uint32_t ssrc, LinkCallback,
                                                     uint16_t) override {
      m_->CheckChannels(id_, outs);
      CHECK(m_->At(id_).consoles.insert(id).second);
      return std::unique_ptr<ConsoleInput>(
          std::make_unique<Console>(m_, id_, id, IngestInfo{{"127.0.0.1", m_->next_port++}, 96, ssrc, key}));
    }
    void SetChannelMix(const ChannelName& c, const ChannelMix& mix) override {
      CHECK(m_->At(id_).channels.count(c) == 1);
      RecordedMix r;
      r.floor_gain_db = mix.floor_gain_db;
      for (const auto& [console, db] : mix.console_gain_db) {
        CHECK(console != nullptr);
        const auto& cid = static_cast<const Console*>(console)->id();
        CHECK(m_->At(id_).consoles.count(cid) == 1);
        r.console_gain_db.emplace_back(cid, db);
      }
      m_->At(id_).mixes[c] = r;
    }
    Result<std::unique_ptr<ListenerStream>> AddListener(const ListenerStreamSpec& spec) override {
      const Endpoint& e = spec.endpoint;
      CHECK(m_->At(id_).channels.count(spec.channel) == 1 && !e.host.empty() && e.port != 0);
      // As the real engine: only IPv4 literals.
      in_addr a{};
      if (inet_pton(AF_INET, e.host.c_str(), &a) != 1) return InvalidArgument("endpoint.host is not an IPv4 address");
      // A venue group's stream goes to a group; a stream keyed for one listener never does.
      CHECK((spec.label.rfind("g-", 0) == 0) == IN_MULTICAST(ntohl(a.s_addr)));
      CHECK(m_->At(id_).listeners.emplace(spec.label, spec.channel).second);
      return std::unique_ptr<ListenerStream>(std::make_unique<Stream>(m_, id_, spec.label));
    }
    Result<std::unique_ptr<ViewerStream>> AddViewer(const std::string& id, const ChannelName& c, const std::string&,
                                                    AnswerCallback done) override {
      CHECK(m_->At(id_).channels.count(c) == 1);
      CHECK(m_->At(id_).viewers.emplace(id, c).second);
      if (done) done(true, "v=0");
      return std::unique_ptr<ViewerStream>(std::make_unique<Viewer>(m_, id_, id));
    }
    Result<std::unique_ptr<ChannelRecording>> StartRecording(const ChannelName& c, uint32_t segment_s) override {
      CHECK(m_->At(id_).channels.count(c) == 1);
      CHECK(segment_s <= kMaxSegmentSeconds);
      CHECK(m_->At(id_).recordings.insert(c).second);  // one recorder per channel
      return std::unique_ptr<ChannelRecording>(std::make_unique<Recorder>(m_, id_, c));
    }
    MediaStats Stats() const override {
      m_->At(id_);
      MediaStats m;
      m.ingest.push_back(IngestCounters{"floor", 1, 2, 3, 4, 5, 6});
      return m;
    }

   private:
    RecordingMedia* m_;
    SessionId id_;
  };

  Result<std::unique_ptr<MediaSession>> CreateSession(const SessionId& s, const MediaTiming&) override {
    CHECK(!sessions.count(s));
    sessions[s];
    return std::unique_ptr<MediaSession>(std::make_unique<Session>(this, s));
  }

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
