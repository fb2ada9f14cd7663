// The domain's view of the outside world (CONVENTIONS habits 2 and 13). Adapters implement
// these; unit tests use fakes.
//
// The media port speaks in handles: what the media side creates for the domain (a media
// session, a console's ingest, a listener's stream, a browser viewer) is an object the domain
// owns, and destroying it undoes it. The media side keeps no table of domain ids.
//
// Nothing here waits for the media thread: structural changes are posted to it, gain changes
// take effect at once, and what a caller needs back (an ingest port, a stream's source, a
// refusal) is known before the call returns.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "domain/status.h"
#include "domain/types.h"

namespace tilmash::domain {

// What a listener stream's sender saw since the last look.
struct StreamAlerts {
  bool unreachable = false;  // its destination answered with ICMP port or host unreachable
  bool key_limit = false;    // its key has protected the configured number of packets
  uint64_t dropped = 0;      // packets meant for it that were dropped (sender behind, socket full)
};

// One encrypted stream in the fan-out: a unicast listener, a venue multicast group, or a
// console's return feed. Destroying it stops the stream.
class ListenerStream {
 public:
  virtual ~ListenerStream() = default;
  // Where the packets come from and their format.
  virtual SendInfo send() const = 0;
  // From the next packet on, the stream carries `channel`; SSRC, sequence and timestamps continue.
  virtual void Switch(const ChannelName& channel) = 0;
  // From now on (and after every switch) the stream is its channel mixed with the floor:
  // `interpretation_percent` of the channel, the rest the floor; 100 is the channel's own
  // stream. Streams of one channel and balance share one mix (one encode).
  virtual void SetBalance(uint32_t interpretation_percent) = 0;
  // The next key (same suite and SSRC), used from the first packet `after` from now.
  virtual Status Rekey(const SrtpKeying& key, std::chrono::milliseconds after) = 0;
  // The rollover counter the stream is at now (a late member of a group needs it).
  virtual uint32_t Roc() const = 0;
  virtual StreamAlerts TakeAlerts() = 0;
};

// A console's ingest: its audio reaches the mixer of each output (its booth's A, B, C), at
// silence until a ChannelMix opens it. Destroying it removes the console's media.
class ConsoleInput {
 public:
  virtual ~ConsoleInput() = default;
  virtual const IngestInfo& ingest() const = 0;
  virtual void SetOutputs(const std::vector<ChannelName>& outputs) = 0;
  virtual IngestCounters Counters() const = 0;
};

// A channel's recorder (Ogg Opus files of the channel's encoded stream, segmented by time).
// Destroying it stops the recording and finishes its file.
struct RecordingStatus {
  bool failed = false;  // it stopped by itself: `error` says why (disk full, not writable)
  std::string error;
  std::string file;  // the segment being written
  uint64_t bytes = 0, dropped = 0;
  uint32_t segments = 0;
};
class ChannelRecording {
 public:
  virtual ~ChannelRecording() = default;
  virtual RecordingStatus Status() const = 0;
};

// A browser viewer (WebRTC): its SDP answer arrives through the AnswerCallback; over() once
// its connection failed or closed. Destroying it ends the viewer's media.
class ViewerStream {
 public:
  virtual ~ViewerStream() = default;
  virtual bool over() const = 0;
};
// Called once, on any thread, with the SDP answer or why there is none; it must not block.
using AnswerCallback = std::function<void(bool ok, const std::string& answer_or_error)>;

// A console's link, as its ingest sees it: false when its packets stopped for the configured
// time (the daemon's console_link_loss_ms), true when they come again. Called on the media
// thread, in order, never while the media side holds a lock; it may still come after the
// console's ConsoleInput is gone (the callee finds the console by id).
using LinkCallback = std::function<void(bool up)>;

// The floor's primary source, as the media side sees it: false when its packets stopped for
// the daemon's floor_loss_ms, true once they have come again without a gap for floor_return_ms.
// Called on the media thread, in order, never while the media side holds a lock; only for an
// RTP primary that has a backup. It may still come after the sources were replaced.
using FloorLinkCallback = std::function<void(bool up)>;

// One floor source and, for RTP, its ingest's key (none: plain RTP) and expected SSRC.
struct FloorSpec {
  FloorSource source;
  std::optional<SrtpKeying> key;
  uint32_t ssrc = 0;
  uint16_t port = 0;  // the ingest's UDP port (0: any free one); a port that cannot be bound is an error
};
// The ingest endpoints of the floor's RTP sources.
struct FloorIngests {
  std::optional<IngestInfo> primary, backup;
  // An AES67 source chosen by its SAP name: the SDP found under it (kept with the name, so a
  // restart can start the stream before the next announcement).
  std::string primary_sdp, backup_sdp;
};

struct ListenerStreamSpec {
  std::string label;  // the listener's (or group's, or return feed's) id: logs only
  ChannelName channel;
  Endpoint endpoint;
  SrtpKeying key;
  uint32_t ssrc = 0;
  // The stream's first packet: its SRTP index (sets the ROC) and RTP timestamp. A new stream
  // starts at index 0; a stream resumed after a restart where its timeline has reached.
  uint64_t first_index = 0;
  uint32_t first_timestamp = 0;
};

// Gains one channel's mixer applies (dB; kSilenceDb = muted). Consoles are named by handle.
struct ChannelMix {
  double floor_gain_db = 0;
  double loudness_target_lufs = 0;  // the channel's leveling before its limiter, 0: off
  std::vector<std::pair<const ConsoleInput*, double>> console_gain_db;
};

// One session's media. Destroying it ends the session's media; the domain destroys the
// session's handles first.
class MediaSession {
 public:
  virtual ~MediaSession() = default;
  virtual Status AddChannel(const ChannelName& channel) = 0;
  virtual void RemoveChannel(const ChannelName& channel) = 0;
  // Replaces the floor's sources; returns the ingest endpoint of each RTP source. Without a
  // backup (NoSource) the floor is the primary alone; with one, both run and the primary is on
  // air until SelectFloor says otherwise. on_primary hears the primary's packets stop and
  // return (an RTP primary with a backup only).
  virtual Result<FloorIngests> SetFloorSource(const FloorSpec& primary, const FloorSpec& backup,
                                              FloorLinkCallback on_primary) = 0;
  // Crossfades the floor to `active` (a short ramp to the backup, a longer one back to the
  // primary). Ignored without a backup.
  virtual void SelectFloor(FloorActive active) = 0;
  virtual Result<std::unique_ptr<ConsoleInput>> AddConsole(const ConsoleId& label,
                                                           const std::vector<ChannelName>& outputs,
                                                           const SrtpKeying& key, uint32_t ssrc, LinkCallback on_link,
                                                           uint16_t port = 0) = 0;
  // Gain ramps, never relinking; both ramps of a handover cross at the same instant.
  virtual void SetChannelMix(const ChannelName& channel, const ChannelMix& mix) = 0;
  virtual Result<std::unique_ptr<ListenerStream>> AddListener(const ListenerStreamSpec& spec) = 0;
  // A browser viewer of `channel` answering `offer_sdp`. A malformed offer is refused here
  // (INVALID_ARGUMENT naming the line); later failures reach `done`.
  virtual Result<std::unique_ptr<ViewerStream>> AddViewer(const std::string& label, const ChannelName& channel,
                                                          const std::string& offer_sdp, AnswerCallback done) = 0;
  // The floor's ingest counters and the node's fan-out counters (consoles report their own).
  virtual MediaStats Stats() const = 0;
  // Records `channel`'s encoded stream into a new file, a new one every `segment_s` seconds of
  // audio (0: the node's default). FAILED_PRECONDITION when the node has nowhere to record to
  // or the directory cannot be written.
  virtual Result<std::unique_ptr<ChannelRecording>> StartRecording(const ChannelName& channel, uint32_t segment_s) {
    return FailedPrecondition("this node does not record (start tilmashd with --record-dir)");
  }
  // The files this session's recordings wrote, oldest first per channel.
  virtual std::vector<RecordingFile> Recordings() const { return {}; }
};

// A session's media clock: its Opus frame and mixing period, and its ingests' jitter buffer.
// Low-delay sessions take 2.5 or 5 ms frames (Opus restricted-lowdelay in every frame size).
struct MediaTiming {
  uint32_t frame_us = 10000;  // 2500, 5000, 10000 or 20000
  uint32_t jitter_ms = 10;
};

class MediaEngine {
 public:
  virtual ~MediaEngine() = default;
  virtual Result<std::unique_ptr<MediaSession>> CreateSession(const SessionId& session, const MediaTiming& timing) = 0;
  // Graph changes posted and not yet done. A restore at start paces itself by it, so the media
  // side never refuses a change for its backlog (RESOURCE_EXHAUSTED) while sessions come back.
  virtual std::size_t Backlog() const { return 0; }
};

// What survives the process (state_dir): every session's configuration and every listener,
// written before the call that changed them answers. A failed write is returned to the caller.
struct StoredStream {
  uint32_t ssrc = 0;
  SrtpKeying key;  // the newest key
  uint32_t key_id = 0;
  StreamAnchor anchor;
};
struct StoredConsole {
  ConsoleView view;  // id, booth, name, mic, output, input, held (link_lost is not kept)
  std::string owner;
  IngestInfo ingest;  // port, SSRC, key; key.roc: the ingest's ROC when last saved
  std::optional<StoredStream> return_stream;
  std::optional<Endpoint> return_endpoint;
};
struct StoredGroup {
  ChannelName channel;
  ListenerId media_id;
  Endpoint group;
  StoredStream stream;
};
struct StoredChannel {
  ChannelName name;
  double duck_db = kDefaultFloorDuckDb;
};
struct SessionRecord {
  SessionId id;
  std::string name;
  double default_duck_db = kDefaultFloorDuckDb;
  double loudness_target_lufs = kDefaultLoudnessTargetLufs;  // records older than leveling: the default
  uint32_t frame_us = 0, jitter_ms = 0;  // its MediaTiming; 0 (records older than low delay): the node's
  std::string floor_language;
  FloorSource floor_source;
  std::optional<IngestInfo> floor_ingest;
  FloorSource floor_backup;  // NoSource: none
  std::optional<IngestInfo> floor_backup_ingest;
  FloorSelect floor_select = FloorSelect::kAuto;
  std::vector<StoredChannel> channels;  // language channels in creation order (not "floor")
  std::vector<std::pair<std::string, BoothConfig>> booths;
  InterlockMode interlock = InterlockMode::kInterlock;
  bool on_air = false, recorded = false;
  // Channels being recorded and their segment length as asked (0: the default); a restart
  // resumes each into a new file.
  std::vector<std::pair<ChannelName, uint32_t>> recordings;
  std::vector<StoredConsole> consoles;
  std::vector<std::pair<ConsoleId, ConsoleId>> held;  // toggle-override: overriding -> held
  std::vector<StoredGroup> groups;
  std::string mirror_of;  // an edge's mirror of an origin's session: that origin ("": none)
};
struct ListenerRecord {
  SessionId session;
  ListenerView view;  // without send (the node's)
  StreamAnchor anchor;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual Status PutSession(const SessionRecord& session) = 0;
  virtual Status DeleteSession(const SessionId& session) = 0;  // and its listeners
  virtual Status PutListener(const ListenerRecord& listener) = 0;
  virtual Status DeleteListener(const SessionId& session, const ListenerId& listener) = 0;
};

// Key material and identifiers. Keys come only from here (CONVENTIONS habit 9).
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual SrtpKeying NewKey(CryptoSuite suite) = 0;
  virtual uint32_t NewSsrc() = 0;
  virtual std::string NewId(const std::string& prefix) = 0;
};

// Time for handover timeouts, leases and rotations; tests step it by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
};

// Receives every domain event, in the order each session emitted them, after the session's
// lock is released. Must not block (it runs on the thread of the call that caused the event).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const SessionEvent& event) = 0;
};

}  // namespace tilmash::domain
