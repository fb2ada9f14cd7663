// One meeting: its floor, language channels, consoles and listeners, and the rules that
// hold between them. All methods take the session's own lock; the media engine is told
// what to change while the lock is held, so the media side sees changes in rule order.
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "domain/ports.h"

namespace tilmash::domain {

struct SessionPorts {
  MediaEngine* media = nullptr;
  KeyProvider* keys = nullptr;
  EventSink* events = nullptr;  // may be null
};

struct ListenerRequest {
  ChannelName channel;
  Endpoint endpoint;
  CryptoSuite suite = CryptoSuite::kAesCm128HmacSha1_80;
};

class Session {
 public:
  Session(SessionId id, std::string name, double default_duck_db, SessionPorts ports);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionId& id() const { return id_; }
  SessionView View() const;

  Status Start();  // creates the media session and the floor channel
  void End();

  Result<ChannelView> AddChannel(const std::string& language, std::optional<double> duck_db);
  Status RemoveChannel(const std::string& language);
  Result<ChannelView> SetChannelDucking(const std::string& language, double duck_db);
  Status SetFloorSource(const FloorSource& source);
  Status SetFloorLanguage(const std::string& language);

  Result<JoinedConsole> JoinConsole(const std::string& booth, const std::string& name);
  Status LeaveConsole(const ConsoleId& console);
  Result<ConsoleView> SetMic(const ConsoleId& console, bool live);
  Result<ConsoleView> Cough(const ConsoleId& console, bool muted);

  Result<ListenerView> Subscribe(const ListenerRequest& request);
  Status SwitchChannel(const ListenerId& listener, const std::string& channel);
  Status Unsubscribe(const ListenerId& listener);

  MediaStats Stats() const;

 private:
  struct ChannelState {
    double duck_db;
    std::optional<ConsoleId> live_console;
    uint32_t listeners = 0;
  };
  struct ConsoleState {
    ConsoleView view;
    IngestInfo ingest;
  };

  // Resolves "floor" or a language tag to the canonical channel name; NotFound otherwise.
  Result<ChannelName> FindChannel(const std::string& name, const char* field) const;
  ChannelView ViewOf(const ChannelName& name) const;
  void ApplyMix(const ChannelName& channel);
  void Emit(SessionEvent::Event what);
  void SetMicLocked(ConsoleState& c, MicState next);

  const SessionId id_;
  const std::string name_;
  const double default_duck_db_;
  SessionPorts ports_;

  mutable std::mutex mu_;
  bool ended_ = false;
  std::string floor_language_;
  FloorSource floor_source_;
  std::optional<IngestInfo> floor_ingest_;
  std::vector<ChannelName> channel_order_;
  std::map<ChannelName, ChannelState> channels_;
  std::map<ConsoleId, ConsoleState> consoles_;
  std::map<ListenerId, ListenerView> listeners_;
};

}  // namespace tilmash::domain
