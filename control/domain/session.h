// One meeting: its floor, language channels, booths, consoles and listeners, and the rules
// that hold between them (ISO 20109 desk functions). All methods take the session's own lock;
// the media session is told what to change while the lock is held (so it sees changes in rule
// order) and never makes the caller wait for the media thread. Events are published after the
// lock is released, in the order they happened.
// session.cpp: channels, floor, events; session_booth.cpp: booths; session_listeners.cpp and
// session_viewers.cpp: listeners and browser viewers.
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "domain/listener_budget.h"
#include "domain/ports.h"
#include "domain/relay.h"

namespace tilmash::domain {

struct SessionPorts {
  MediaEngine* media = nullptr;
  KeyProvider* keys = nullptr;
  EventSink* events = nullptr;                // may be null
  Clock* clock = nullptr;                     // may be null: steady_clock
  ListenerBudget* listener_budget = nullptr;  // the node's fan-out capacity; may be null: no limit
  StateStore* store = nullptr;                // may be null: memory only
};

// What a restored session brought back, and what it could not.
struct RestoreReport {
  uint32_t channels = 0, consoles = 0, listeners = 0;
  std::vector<std::string> problems;  // each names what was not restored and why
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
  uint32_t max_streams = 0;  // 0: no limit; else the owner's concurrent streams (listeners and viewers)
  Transport transport = Transport::kUnicast;
  // Original/interpretation balance (unicast): 100 the channel as is; less mixes the floor in.
  std::optional<uint32_t> interpretation_percent;
};

// A browser (WebRTC) viewer, admitted by the HTTP side with the same rules as Subscribe.
struct ViewerRequest {
  ChannelName channel;
  std::string owner;         // token id
  uint32_t max_streams = 0;  // as ListenerRequest: one limit for both kinds of stream
  std::string offer_sdp;
  // The token's expiry: the viewer ends then (a browser connection has no lease).
  std::chrono::milliseconds valid_for{std::chrono::hours(24)};
  AnswerCallback done;  // the SDP answer, or why there is none
};

struct ConsoleRequest {
  std::string booth;
  std::string name;
  std::optional<Endpoint> return_endpoint;  // where the console wants its return feed
  std::string owner;                        // token id that joined
};

inline constexpr std::chrono::seconds kHandoverTimeout{10};
inline constexpr std::size_t kMessagesKept = 20;
// Listeners the server ended are remembered this long (and at most this many), so a later
// call about one says why it ended instead of a bare NOT_FOUND.
inline constexpr std::chrono::minutes kEndedKept{10};
inline constexpr std::size_t kEndedKeptMax = 4096;

// Held by shared_ptr (SessionRegistry): the media side reaches a session through a weak_ptr.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(SessionId id, std::string name, double default_duck_db, SessionPorts ports, ListenerPolicy policy = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionId& id() const { return id_; }
  SessionView View() const;
  // Loudness leveling of every language channel (LUFS, 0: off); set once, before the session's
  // channels are added (SessionRegistry::Create; Restore takes it from the record).
  void set_loudness_target_lufs(double lufs) { loudness_target_lufs_ = lufs; }
  // Before Start (or Restore): the media timing its media session is created with.
  void set_timing(const MediaTiming& timing) { timing_ = timing; }
  // An edge's mirror of an origin's session (set once, before Start or Restore): its channels
  // come from the origin as they are (a balance is the origin's mix). It is kept in the state
  // store with its listeners like any session: a restarted edge serves them again as soon as its
  // mirror has subscribed at the origin again.
  void set_mirror_of(std::string origin) { mirror_of_ = std::move(origin); }

  Status Start();  // creates the media session and the floor channel
  // Instead of Start: builds the session as `record` saved it, with its listeners, resuming
  // every stream where its timeline has reached and every ingest on its old port. Fails only
  // when the media session cannot be made; a part that cannot come back is in the report.
  Result<RestoreReport> Restore(const SessionRecord& record, const std::vector<ListenerRecord>& listeners);
  // Ends the session; `forget`: it is deleted from the state store too (false at shutdown,
  // so the next start brings it back).
  Status End(bool forget = true);
  // Writes the session and its listeners to the state store; from now on every change is
  // written before it answers. The registry commits a session once it is complete.
  Status Commit();

  // `field` names the request field in errors ("language", or "languages[2]" at creation).
  Result<ChannelView> AddChannel(const std::string& language, std::optional<double> duck_db,
                                 const std::string& field = "language");
  Status RemoveChannel(const std::string& language);
  Result<ChannelView> SetChannelDucking(const std::string& language, double duck_db);
  // The floor alone, without a backup, in auto.
  Status SetFloorSource(const FloorSource& source) { return SetFloorSources(source, NoSource{}, FloorSelect::kAuto); }
  // Replaces the floor's primary and backup (NoSource: none) and sets the technician's
  // selection. With a backup in auto, the floor goes to the backup while the primary's packets
  // are lost (the daemon's floor_loss_ms) and back once they are stable (floor_return_ms).
  Status SetFloorSources(const FloorSource& primary, const FloorSource& backup, FloorSelect select);
  // Only the technician's selection changes; the sources, their ports and keys stay.
  Status SelectFloor(FloorSelect select);
  // The media side saw the primary's packets stop (up = false) or return stable. `generation`
  // names the sources it was about: a report about replaced sources is ignored.
  void FloorPrimaryLink(uint64_t generation, bool up);
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
  // The media side saw a console's packets stop (up = false) or come back. While a live
  // console's link is lost its channel is the floor at full level; its mic stays as it is, and
  // its voice comes back with its packets. An unknown console (gone meanwhile) is ignored.
  void ConsoleLink(const ConsoleId& console, bool up);
  // Time-driven rules, called by the daemon on a timer: handovers that waited longer than
  // kHandoverTimeout expire; listeners whose lease ran out or whose port is unreachable end;
  // keys older than the rotation period or at their packet limit are replaced; viewers whose
  // connection is over or whose token expired end.
  void Tick();

  // Listeners (session_listeners.cpp).
  Result<ListenerView> Subscribe(const ListenerRequest& request);
  Status SwitchChannel(const ListenerId& listener, const std::string& channel);
  Status Unsubscribe(const ListenerId& listener);
  // Renews the listener's lease; returns the listener as it is now.
  // `relay`: an edge's subscription saying whom it serves (its name, its listeners of the channel).
  Result<ListenerView> KeepAlive(const ListenerId& listener,
                                 std::optional<std::pair<std::string, uint32_t>> relay = std::nullopt);
  // A key stream (WatchKeys) opens: returns the newest key (its first message); while at
  // least one is open the listener's lease holds. Close it when the stream ends.
  Result<KeyChanged> OpenKeyStream(const ListenerId& listener);
  void CloseKeyStream(const ListenerId& listener);
  const ListenerPolicy& policy() const { return policy_; }

  // Browser (WebRTC) viewers (session_viewers.cpp): they count in their channel's audience
  // (ListenerCountChanged) and in their token's stream limit, like listeners.
  Result<ListenerId> AddViewer(const ViewerRequest& request);
  Status RemoveViewer(const ListenerId& viewer);

  // Recordings (session_recording.cpp). `channels` empty: every channel, "floor" included.
  // Start leaves channels already recorded as they are when `channels` is empty, and refuses
  // them (ALREADY_EXISTS) when named; Stop refuses a named channel that is not recorded.
  // Both answer with the views of the channels they changed.
  Result<std::vector<ChannelView>> StartRecording(const std::vector<std::string>& channels, uint32_t segment_s);
  Result<std::vector<ChannelView>> StopRecording(const std::vector<std::string>& channels);
  std::vector<RecordingFile> Recordings() const;

  MediaStats Stats() const;
  // Ends every listener stream, viewer and console that `owner` (a token id) started; returns how many.
  uint32_t StopOwnedBy(const std::string& owner);
  // The owner of a listener, viewer or console, or "" when unknown.
  std::string OwnerOf(const std::string& listener_or_console) const;

 private:
  struct ChannelState {
    double duck_db;
    std::optional<ConsoleId> live_console;
    uint32_t listeners = 0;
  };
  struct ConsoleState {
    ConsoleView view;
    std::unique_ptr<ConsoleInput> input;
    std::optional<ListenerView> return_feed;
    std::unique_ptr<ListenerStream> return_stream;
    StreamAnchor return_anchor;
    std::string owner;
    uint32_t saved_roc = 0;  // the ingest ROC the store has
  };
  struct BoothState {
    BoothConfig config;  // b, c canonical
  };
  // A unicast stream goes to one listener's own address: empty hosts, port 0 and multicast or
  // broadcast addresses are refused, naming `field`.
  static Status CheckUnicast(const Endpoint& e, const std::string& field);
  struct ListenerState {
    ListenerView view;
    std::unique_ptr<ListenerStream> stream;  // unicast only; a group member shares its group's
    std::chrono::steady_clock::time_point last_seen, key_since;
    std::optional<std::chrono::steady_clock::time_point> unreachable_since;
    std::chrono::steady_clock::time_point unreachable_last;
    int key_streams = 0;                             // open WatchKeys streams: the lease holds while any is open
    uint64_t drops_unreported = 0, drops_total = 0;  // packets dropped for it (ListenerDropped)
    std::optional<std::chrono::steady_clock::time_point> drops_reported;
    ListenerBudget::Slot slot;  // its place in the node's fan-out capacity (unicast)
    StreamAnchor anchor;
    std::optional<std::pair<std::string, uint32_t>> relay;  // an edge's: its name and audience
  };
  // A channel's venue multicast group: one stream, one key shared by the members, replaced
  // whenever a member leaves.
  struct GroupState {
    ListenerId media_id;
    Endpoint group;
    uint32_t ssrc = 0;
    SrtpKeying key;
    uint32_t key_id = 0;
    std::chrono::steady_clock::time_point key_since;
    std::vector<ListenerId> members;
    std::unique_ptr<ListenerStream> stream;
    SendInfo send;
    StreamAnchor anchor;
  };
  struct ViewerState {
    ChannelName channel;
    std::string owner;
    std::chrono::steady_clock::time_point expires;
    std::unique_ptr<ViewerStream> stream;
  };
  struct RecordingState {
    uint32_t segment_s = 0;  // as asked
    std::unique_ptr<ChannelRecording> handle;
  };
  struct PendingHandover {
    ConsoleId from, to;
    std::chrono::steady_clock::time_point requested;
  };
  struct Ended {
    std::string reason;
    std::chrono::steady_clock::time_point when;
  };
  // The session lock: events emitted while it is held are published once it is released.
  class Lock {
   public:
    explicit Lock(const Session& s);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    Session& s_;
  };
  // The state store (all with mu_ held): the session's record, one listener's row. Ok when
  // there is no store; a failed write says the change is live but not saved.
  SessionRecord Record() const;
  Status Save();
  Status SaveListener(const ListenerState& l);
  Status ForgetListener(const ListenerId& id);
  // A new stream's anchor (its timeline starts now, at index 0 and a random timestamp).
  StreamAnchor NewAnchor() const;
  // The spec of a stream that resumes from `anchor` (or starts at it when `resume` is false).
  static ListenerStreamSpec StreamSpec(std::string label, ChannelName channel, Endpoint endpoint, SrtpKeying key,
                                       uint32_t ssrc, const StreamAnchor& anchor, bool resume);
  void RestoreConsole(const StoredConsole& stored, RestoreReport& report);
  // Puts the floor's sources on the media side (keys, SSRCs and ports as given, new ports for
  // 0) and takes them as the session's floor, on the primary with `select` (mu_ held).
  Status InstallFloor(const FloorSpec& primary, const FloorSpec& backup, FloorSelect select);
  // What a console's ingest calls when its link goes and comes back.
  LinkCallback ConsoleLinkCallback(const ConsoleId& id);
  void RestoreListener(const ListenerRecord& stored, RestoreReport& report);

  // Delivers the outbox to the event sink, one publisher at a time (order kept), never with mu_ held.
  void Publish();

  // Resolves "floor" or a language tag to the canonical channel name; NotFound otherwise.
  Result<ChannelName> FindChannel(const std::string& name, const char* field) const;
  Result<ConsoleState*> FindConsole(const ConsoleId& id, const char* field = "console_id");
  // NotFound for an unknown listener, saying why it ended when the server ended it.
  Status UnknownListener(const ListenerId& id) const;
  ChannelView ViewOf(const ChannelName& name) const;
  BoothView BoothViewOf(const std::string& booth) const;
  std::vector<ChannelName> OutputsOf(const std::string& booth) const;
  std::optional<ChannelName> SlotChannel(const std::string& booth, OutputSlot slot) const;
  void ApplyMix(const ChannelName& channel);
  // Puts the floor source the selection and the primary's state call for on air, and says so
  // when anything about it changed.
  void ApplyFloor();
  void Emit(SessionEvent::Event what);
  void EmitBooths();
  // Moves the console's mic to `next`, handling the channel's writer and toggle-override holds.
  // restore_held=false when the console is being overridden: its own held console stays held
  // (the holds form a stack that unwinds as each overriding mic goes off).
  void SetMicLocked(ConsoleState& c, MicState next, bool restore_held = true);
  Status LeaveConsoleLocked(const ConsoleId& console);
  // Would this state of consoles make a relay loop? Fills the plan.
  RelayInputs RelaySnapshot() const;
  // Recomputes effective inputs (return feeds follow) and relay indicators.
  void Replan();
  std::chrono::steady_clock::time_point Now() const;
  Status CheckNoLoop(const RelayInputs& proposed, const char* field) const;
  // Listener helpers (session_listeners.cpp), all with mu_ held.
  Result<ListenerView> JoinGroup(ListenerView l);
  // Ends the listeners; a group whose members left is re-keyed once.
  // The first failure to forget one in the store, if any.
  Status EndListeners(const std::vector<ListenerId>& listeners, const std::string& reason);
  void RotateListener(ListenerState& l, const std::string& reason);
  void RotateGroup(GroupState& g, const std::string& reason);
  void TickListeners(std::chrono::steady_clock::time_point now);
  void TickViewers(std::chrono::steady_clock::time_point now);
  // A recorder that failed stops: logged by the media side, an event and the indicator off.
  void TickRecordings();
  // The speaker-input monitor's flags of every source, as InputAlarm events (session_inputs.cpp).
  void TickInputs(std::chrono::steady_clock::time_point now);
  // Starts one channel's recorder (mu_ held); the event says `reason`.
  Status StartRecordingLocked(const ChannelName& channel, uint32_t segment_s, const std::string& reason);
  void StopRecordingLocked(const ChannelName& channel, const std::string& reason);
  void EndViewer(const ListenerId& viewer, const std::string& reason);
  void Remember(const ListenerId& id, const std::string& reason);
  // The owner's open streams (listeners and viewers).
  uint32_t StreamsOf(const std::string& owner) const;
  // A removed channel: its unicast listeners move to the floor, its group's members and its viewers end.
  void RemoveChannelListeners(const ChannelName& channel);
  Result<Endpoint> GroupEndpoint(const ChannelName& channel) const;

  const SessionId id_;
  const std::string name_;
  const double default_duck_db_;
  double loudness_target_lufs_ = 0;
  MediaTiming timing_;
  std::string mirror_of_;
  SessionPorts ports_;
  const ListenerPolicy policy_;

  mutable std::mutex mu_;
  std::vector<SessionEvent> outbox_;  // emitted, not yet published (mu_)
  bool publishing_ = false;           // a thread is delivering the outbox (mu_)
  bool ended_ = false;
  bool saving_ = false;  // changes are written to the store (from Commit or Restore on)
  std::unique_ptr<MediaSession> media_;
  std::string floor_language_;
  FloorSource floor_source_;
  std::optional<IngestInfo> floor_ingest_;
  FloorSource floor_backup_;
  std::optional<IngestInfo> floor_backup_ingest_;
  FloorSelect floor_select_ = FloorSelect::kAuto;
  bool floor_primary_lost_ = false;
  uint64_t floor_generation_ = 0;                      // +1 per SetFloorSources
  FloorActive floor_on_air_ = FloorActive::kPrimary;   // what the media session was told
  std::optional<FloorActiveChanged> floor_announced_;  // the last FloorActiveChanged emitted
  InterlockMode interlock_ = InterlockMode::kInterlock;
  bool on_air_ = false, recorded_ = false;
  std::vector<ChannelName> channel_order_;
  std::map<ChannelName, ChannelState> channels_;
  std::map<std::string, BoothState> booths_;  // one per language channel
  std::map<ConsoleId, ConsoleState> consoles_;
  std::map<ConsoleId, ConsoleId> held_;  // toggle-override: overriding console -> held console
  std::map<ChannelName, PendingHandover> handovers_;
  std::deque<Message> messages_;
  std::map<ListenerId, ListenerState> listeners_;
  std::map<ListenerId, ViewerState> viewers_;
  std::map<ChannelName, GroupState> groups_;
  std::map<ChannelName, RecordingState> recordings_;
  std::map<ListenerId, Ended> ended_listeners_;
  // Per source: the alarms announced, and when each condition was last seen (TickInputs).
  struct InputAlarmState {
    bool clipping = false, narrowband = false;
    std::chrono::steady_clock::time_point clipping_seen, narrowband_seen;
  };
  std::map<std::string, InputAlarmState> input_alarms_;
  RelayPlan plan_;
};

}  // namespace tilmash::domain
