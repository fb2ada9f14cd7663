// One meeting: its floor, language channels, booths, consoles and listeners, and the rules
// that hold between them (ISO 20109 desk functions). All methods take the session's own lock;
// the media engine is told what to change while the lock is held, so the media side sees
// changes in rule order. session.cpp: channels, floor, listeners; session_booth.cpp: booths.
#pragma once
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "domain/relay.h"

namespace tilmash::domain {

struct SessionPorts {
  MediaEngine* media = nullptr;
  KeyProvider* keys = nullptr;
  EventSink* events = nullptr;  // may be null
  Clock* clock = nullptr;       // may be null: steady_clock
};

// How listener streams live and are keyed (daemon configuration).
struct ListenerPolicy {
  std::chrono::milliseconds lease{0};         // a listener silent this long is ended (0: never)
  std::chrono::milliseconds key_rotation{0};  // every key is replaced this often (0: never)
  std::chrono::milliseconds key_lead{500};    // a new key reaches its owner this long before use
  // A destination that keeps answering ICMP unreachable this long ends its listener (a
  // receiver that opens its socket just after Subscribe is not ended).
  std::chrono::milliseconds unreachable_grace{2000};
  std::string multicast_group;  // first venue group (IPv4); channel i uses +i. "": none
  uint16_t multicast_port = 5004;
};

struct ListenerRequest {
  ChannelName channel;
  Endpoint endpoint;  // unicast only
  CryptoSuite suite = CryptoSuite::kAesCm128HmacSha1_80;
  std::string owner;         // token id that subscribed (revocation ends the stream)
  uint32_t max_streams = 0;  // 0: no limit; else the owner's concurrent streams
  Transport transport = Transport::kUnicast;
  // Original/interpretation balance (unicast): 100 the channel as is; less mixes the floor in.
  std::optional<uint32_t> interpretation_percent;
};

struct ConsoleRequest {
  std::string booth;
  std::string name;
  std::optional<Endpoint> return_endpoint;  // where the console wants its return feed
  std::string owner;                        // token id that joined
};

struct BoothConfig {
  std::optional<std::string> b, c;  // retour channels (languages); unset: none
  std::vector<std::string> takes;   // floor languages the booth interprets from (empty: all)
};

inline constexpr std::chrono::seconds kHandoverTimeout{10};
inline constexpr std::size_t kMessagesKept = 20;

class Session {
 public:
  Session(SessionId id, std::string name, double default_duck_db, SessionPorts ports, ListenerPolicy policy = {});
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

  // Booths (session_booth.cpp).
  Result<BoothView> ConfigureBooth(const std::string& booth, const BoothConfig& config);
  Result<BoothView> Booth(const std::string& booth) const;
  Status SetInterlockMode(InterlockMode mode);
  Status SetBroadcastState(bool on_air, bool recorded);
  Result<JoinedConsole> JoinConsole(const ConsoleRequest& request);
  Status LeaveConsole(const ConsoleId& console);
  Result<ConsoleView> SetMic(const ConsoleId& console, bool live);
  Result<ConsoleView> Cough(const ConsoleId& console, bool muted);
  Result<ConsoleView> SelectOutput(const ConsoleId& console, OutputSlot slot);
  Result<ConsoleView> SelectInput(const ConsoleId& console, const InputSelection& input);
  Status RequestHandover(const ConsoleId& requester);
  Status AcceptHandover(const ConsoleId& live_console);
  Status DeclineHandover(const ConsoleId& live_console);
  Status SendMessage(const Message& message);
  // Time-driven rules, called by the daemon on a timer: handovers that waited longer than
  // kHandoverTimeout expire; listeners whose lease ran out or whose port is unreachable end;
  // keys older than the rotation period or at their packet limit are replaced.
  void Tick();

  // Listeners (session_listeners.cpp).
  Result<ListenerView> Subscribe(const ListenerRequest& request);
  Status SwitchChannel(const ListenerId& listener, const std::string& channel);
  Status Unsubscribe(const ListenerId& listener);
  // Browser (WebRTC) viewers, admitted by the HTTP side: they count in their channel's
  // audience like listeners (ListenerCountChanged), and leave it with their channel.
  Status AddRemoteViewer(const std::string& viewer, const ChannelName& channel);
  void RemoveRemoteViewer(const std::string& viewer);
  // Renews the listener's lease; returns the listener as it is now.
  Result<ListenerView> KeepAlive(const ListenerId& listener);
  // The listener's newest key (the first message of its key stream).
  Result<KeyChanged> CurrentKey(const ListenerId& listener) const;
  const ListenerPolicy& policy() const { return policy_; }

  MediaStats Stats() const;
  // Ends every listener stream and console that `owner` (a token id) started; returns how many.
  uint32_t StopOwnedBy(const std::string& owner);
  // The owner of a listener or console, or "" when unknown.
  std::string OwnerOf(const std::string& listener_or_console) const;

 private:
  struct ChannelState {
    double duck_db;
    std::optional<ConsoleId> live_console;
    uint32_t listeners = 0;
  };
  struct ConsoleState {
    ConsoleView view;
    IngestInfo ingest;
    std::optional<ListenerView> return_feed;
    std::string owner;
  };
  struct BoothState {
    BoothConfig config;  // b, c canonical
  };
  // A unicast stream goes to one listener's own address: empty hosts, port 0 and multicast or
  // broadcast addresses are refused, naming `field`.
  static Status CheckUnicast(const Endpoint& e, const std::string& field);
  struct ListenerState {
    ListenerView view;
    std::chrono::steady_clock::time_point last_seen, key_since;
    std::optional<std::chrono::steady_clock::time_point> unreachable_since;
    std::chrono::steady_clock::time_point unreachable_last;
  };
  // A channel's venue multicast group: one sender entry in the media engine, one key shared by
  // the members, replaced whenever a member leaves.
  struct GroupState {
    ListenerId media_id;
    Endpoint group;
    uint32_t ssrc = 0;
    SrtpKeying key;
    uint32_t key_id = 0;
    std::chrono::steady_clock::time_point key_since;
    std::vector<ListenerId> members;
  };
  struct PendingHandover {
    ConsoleId from, to;
    std::chrono::steady_clock::time_point requested;
  };

  // Resolves "floor" or a language tag to the canonical channel name; NotFound otherwise.
  Result<ChannelName> FindChannel(const std::string& name, const char* field) const;
  Result<ConsoleState*> FindConsole(const ConsoleId& id, const char* field = "console_id");
  ChannelView ViewOf(const ChannelName& name) const;
  BoothView BoothViewOf(const std::string& booth) const;
  std::vector<ChannelName> OutputsOf(const std::string& booth) const;
  std::optional<ChannelName> SlotChannel(const std::string& booth, OutputSlot slot) const;
  void ApplyMix(const ChannelName& channel);
  void Emit(SessionEvent::Event what);
  void EmitBooths();
  // Moves the console's mic to `next`, handling the channel's writer and toggle-override holds.
  // restore_held=false when the console is being overridden: its own held console stays held
  // (the holds form a stack that unwinds as each overriding mic goes off).
  void SetMicLocked(ConsoleState& c, MicState next, bool restore_held = true);
  // Would this state of consoles make a relay loop? Fills the plan.
  RelayInputs RelaySnapshot() const;
  // Recomputes effective inputs (return feeds follow) and relay indicators.
  void Replan();
  std::chrono::steady_clock::time_point Now() const;
  Status CheckNoLoop(const RelayInputs& proposed, const char* field) const;
  // Listener helpers (session_listeners.cpp), all with mu_ held.
  Result<ListenerView> JoinGroup(ListenerView l);
  void EndListener(const ListenerId& listener, const std::string& reason);
  void RotateListener(ListenerState& l, const std::string& reason);
  void RotateGroup(GroupState& g, const std::string& reason);
  void TickListeners(std::chrono::steady_clock::time_point now);
  // A removed channel: its unicast listeners move to the floor, its group's members end.
  void RemoveChannelListeners(const ChannelName& channel);
  Result<Endpoint> GroupEndpoint(const ChannelName& channel) const;

  const SessionId id_;
  const std::string name_;
  const double default_duck_db_;
  SessionPorts ports_;

  mutable std::mutex mu_;
  bool ended_ = false;
  std::string floor_language_;
  FloorSource floor_source_;
  std::optional<IngestInfo> floor_ingest_;
  InterlockMode interlock_ = InterlockMode::kInterlock;
  bool on_air_ = false, recorded_ = false;
  std::vector<ChannelName> channel_order_;
  std::map<ChannelName, ChannelState> channels_;
  std::map<std::string, BoothState> booths_;  // one per language channel
  std::map<ConsoleId, ConsoleState> consoles_;
  std::map<ConsoleId, ConsoleId> held_;  // toggle-override: overriding console -> held console
  std::map<ChannelName, PendingHandover> handovers_;
  std::deque<Message> messages_;
  const ListenerPolicy policy_;
  std::map<ListenerId, ListenerState> listeners_;
  std::map<std::string, ChannelName> remote_viewers_;  // WebRTC viewer -> channel
  std::map<ChannelName, GroupState> groups_;
  RelayPlan plan_;
};

}  // namespace tilmash::domain
