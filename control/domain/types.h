// Value types of the interpretation domain. Plain data: no GStreamer, no gRPC.
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

namespace tilmash::domain {

using SessionId = std::string;
using ConsoleId = std::string;
using ListenerId = std::string;
using ChannelName = std::string;  // BCP-47 language tag, or "floor"

inline constexpr const char* kFloorChannel = "floor";
inline constexpr double kDefaultFloorDuckDb = -18.0;
// Loudness leveling of language channels (EBU R128's target); 0 means off.
inline constexpr double kDefaultLoudnessTargetLufs = -23.0;
// "" when `lufs` may be a leveling target (0: off, or -40 to -10 LUFS), else why not.
inline const char* LoudnessTargetProblem(double lufs) {
  return lufs == 0 || (lufs >= -40 && lufs <= -10) ? "" : "must be 0 (no leveling) or between -40 and -10 LUFS";
}
inline constexpr double kSilenceDb = -std::numeric_limits<double>::infinity();
inline constexpr int kMaxConsolesPerBooth = 4;

enum class MicState { kOff, kLive, kMuted };
std::ostream& operator<<(std::ostream& os, MicState s);

enum class CryptoSuite { kAesCm128HmacSha1_80, kAeadAes128Gcm };
std::ostream& operator<<(std::ostream& os, CryptoSuite s);

// What happens when a second mic goes live on an engaged outgoing channel (inside a booth and
// between booths sharing a channel). One writer per channel holds in every mode.
//  - kInterlock: the second mic is refused.
//  - kOverride: the second mic takes the channel; the first goes off.
//  - kToggleOverride: as override, but the overridden console is held and gets the channel
//    back when the overriding mic goes off (if it has not switched off meanwhile).
enum class InterlockMode { kInterlock, kOverride, kToggleOverride };
std::ostream& operator<<(std::ostream& os, InterlockMode m);

enum class OutputSlot { kA, kB, kC };
std::ostream& operator<<(std::ostream& os, OutputSlot s);

// A console's incoming selection: the floor, a relay channel, or auto-relay.
struct InputSelection {
  enum class Kind { kAuto, kFloor, kChannel } kind = Kind::kAuto;
  std::string channel;  // for kChannel
  bool operator==(const InputSelection&) const = default;
};

enum class MessageKind { kSlowDown, kCallTechnician, kText };
struct Message {
  MessageKind kind = MessageKind::kText;
  std::string from;  // "chair", "technician", a console id, or "booth:<lang>" (slow-down is anonymous)
  std::string to;    // "chair", "technician", or "booth:<lang>"
  std::string text;
  std::chrono::system_clock::time_point time;
};
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

struct SrtpKeying {
  CryptoSuite suite = CryptoSuite::kAesCm128HmacSha1_80;
  std::vector<uint8_t> master_key;  // key || salt; never logged
  uint32_t roc = 0;
};

struct ToneSource {
  double frequency_hz = 440;
  double level_dbfs = -20;
};
struct RtpSource {
  bool srtp = false;
};
// An AES67 stream from the sound desk (RTP L24/L16, 48 kHz), described by its SDP
// (domain/aes67.h parses it) or named as SAP announces it (the media side looks the SDP up).
// channel 0: every channel mixed to mono; N: channel N alone.
struct Aes67Source {
  std::string sdp;
  uint32_t channel = 0;
  std::string sap_name;  // set instead of sdp
};
// A sound card on the daemon's host (ALSA device name; "test:HZ" stands in for one).
struct SoundCardSource {
  std::string device;
  uint32_t channel = 0;
};
struct NoSource {};
using FloorSource = std::variant<NoSource, ToneSource, RtpSource, Aes67Source, SoundCardSource>;

// Which of the floor's sources the technician wants: kAuto follows the primary's packets
// (backup while they are lost, primary again once they are stable); the others force one.
enum class FloorSelect { kAuto, kPrimary, kBackup };
std::ostream& operator<<(std::ostream& os, FloorSelect s);
// The floor source on air now.
enum class FloorActive { kPrimary, kBackup };
std::ostream& operator<<(std::ostream& os, FloorActive a);

// Where a sender (floor desk or console) sends to, and what the server expects of it.
struct IngestInfo {
  Endpoint endpoint;
  uint8_t payload_type = 96;
  uint32_t ssrc = 0;  // 0: latched from the first valid packet
  std::optional<SrtpKeying> srtp;
};

// What the listener needs to receive its stream.
struct SendInfo {
  Endpoint source;
  uint8_t payload_type = 111;
  uint32_t clock_rate = 48000;
  uint32_t frame_ms = 10;     // rounded up (a=ptime); 3 for a low-delay session's 2.5 ms
  uint32_t frame_us = 10000;  // exact
};

struct ChannelView {
  ChannelName name;
  double floor_duck_db = kDefaultFloorDuckDb;
  std::optional<ConsoleId> live_console;
  uint32_t listener_count = 0;
  int relay_generation = 0;       // 0 from the floor, 1 relay, 2 relay of relay
  uint32_t used_as_relay_by = 0;  // booths whose consoles listen to this channel
  // The audience by transport (SessionView only; listener_count is their sum).
  uint32_t unicast_listeners = 0, multicast_listeners = 0, webrtc_viewers = 0;
  // A recorder writes this channel (its booth's "recorded" indicator follows it).
  bool recording = false;
  uint32_t record_segment_s = 0;  // as asked (0: the daemon's default)
  std::string record_file;        // the segment being written
  uint64_t record_bytes = 0, record_dropped = 0;
  // Edge nodes subscribed to this channel (SessionView only): each edge's name (its token's
  // subject) and the listeners it serves the channel to, as it last said in KeepAlive.
  std::map<std::string, uint32_t> relayed;
};

struct ConsoleView {
  ConsoleId id;
  std::string booth;
  std::string name;
  MicState mic = MicState::kOff;
  ChannelName output_channel;
  OutputSlot output_slot = OutputSlot::kA;
  InputSelection input;
  ChannelName effective_input = "floor";  // what the console hears now
  bool held = false;                      // overridden in toggle-override, gets the channel back
  uint32_t return_ssrc = 0;               // 0: no return feed
  bool link_lost = false;                 // its packets stopped: its channel is on the floor
};

struct BoothConfig {
  std::optional<std::string> b, c;  // retour channels (languages); unset: none
  std::vector<std::string> takes;   // floor languages the booth interprets from (empty: all)
};

struct BoothView {
  std::string language;  // A
  std::optional<ChannelName> b, c;
  std::vector<std::string> takes;  // languages the booth can interpret from
  std::vector<ConsoleView> consoles;
  std::optional<ConsoleId> handover_from, handover_to;  // a pending handover on the A/B/C
  bool on_air = false, recorded = false;
  std::vector<Message> messages;      // addressed to the booth, newest last
  std::vector<ChannelView> channels;  // A, B, C with their indicators
  InterlockMode interlock = InterlockMode::kInterlock;
};

// Unicast: a stream of its own (own key, SSRC). Multicast: a member of the channel's venue
// group, which shares one stream and one group key among its members.
enum class Transport { kUnicast, kMulticast };

struct ListenerView {
  ListenerId id;
  std::string owner;  // token id
  ChannelName channel;
  Endpoint endpoint;  // unicast: where the listener receives; multicast: the group
  uint32_t ssrc = 0;
  SrtpKeying srtp;      // the newest key (announced before the sender uses it)
  uint32_t key_id = 0;  // 0 for the first key, +1 per rotation
  SendInfo send;
  Transport transport = Transport::kUnicast;
  std::chrono::milliseconds lease{0};  // keep alive within this (0: no lease)
  // 100: the channel's shared stream; less: a server-side mix with (100 - it) % of the floor.
  uint32_t interpretation_percent = 100;
};

// Where a fan-out stream's timeline started: a restarted daemon continues the stream from here
// (sequence numbers and timestamps forward by the time passed, the ROC that follows) so its
// receiver goes on with the keys and SSRC it has.
struct StreamAnchor {
  int64_t since_unix_ms = 0;  // wall clock when the stream started
  uint64_t index = 0;         // SRTP packet index of its first packet (ROC << 16 | sequence)
  uint32_t timestamp = 0;     // RTP timestamp of its first packet
  uint32_t frame_ms = 10;     // its packets' duration (48 kHz clock)
  uint32_t frame_us = 0;      // the same exactly (2.5 ms frames); 0: frame_ms
};
// How far past its time-derived position a resumed stream starts, in packets: the margin
// keeps its sequence ahead of what the receiver last accepted (a forward jump is a gap the
// receiver conceals; a step back would be refused as a replay).
inline constexpr uint64_t kResumeMarginPackets = 50;
// The first packet of a stream anchored at `a`, resumed at `now_unix_ms`: its index and timestamp.
std::pair<uint64_t, uint32_t> ResumePoint(const StreamAnchor& a, int64_t now_unix_ms);

struct SessionView {
  SessionId id;
  std::string name;
  std::string floor_language;
  FloorSource floor_source;
  std::optional<IngestInfo> floor_ingest;
  FloorSource floor_backup_source;  // NoSource: no backup
  std::optional<IngestInfo> floor_backup_ingest;
  FloorSelect floor_select = FloorSelect::kAuto;
  FloorActive floor_active = FloorActive::kPrimary;
  std::string floor_active_reason;    // why the active source is on air ("no backup", "primary lost", ...)
  bool floor_primary_lost = false;    // the primary's packets stopped (RTP primaries only)
  std::vector<ChannelView> channels;  // "floor" first, then in creation order
  std::vector<ConsoleView> consoles;
  InterlockMode interlock = InterlockMode::kInterlock;
  bool on_air = false, recorded = false;
  double loudness_target_lufs = 0;  // leveling of the language channels, 0: off
  double frame_ms = 10;             // Opus frame and mixing period (2.5 and 5: low delay)
  uint32_t jitter_ms = 10;          // its ingests' jitter buffer
  std::string mirror_of;            // an edge's mirror: the origin it comes from ("": none)
};

struct JoinedConsole {
  ConsoleView console;
  IngestInfo ingest;
  std::optional<ListenerView> return_feed;  // when the console asked for one
};

struct IngestCounters {
  std::string source;  // "floor" or a console id
  uint64_t accepted = 0, malformed = 0, oversized = 0, unknown_ssrc = 0, wrong_payload_type = 0, srtp_auth = 0;
  uint32_t roc = 0;  // SRTP rollover counter of the sender's latest packet (what a restart resumes from)
  // RFC 3550 receiver statistics of the accepted packets: lost = expected - received (never
  // below 0), late = arrived after a later packet of the sender (reordered or duplicated),
  // jitter = interarrival jitter (A.8), in seconds.
  uint64_t lost = 0, late = 0;
  double jitter_s = 0;
  // What the source sounds like decoded, over the last 100 ms (dBFS; kSilenceDb before audio):
  // level, peak, the noise floor (the quietest 100 ms of the last 5 s), the energy above 7 kHz
  // relative to all of it (dB), a sample at full scale, and speech with nothing above 7 kHz
  // (a telephone-band speaker).
  double rms_dbfs = kSilenceDb, peak_dbfs = kSilenceDb, noise_floor_dbfs = kSilenceDb, above_7khz_db = kSilenceDb;
  bool clipping = false, narrowband = false;
};
// A channel's mixed audio as its encoder gets it: RMS over the last 100 ms, dBFS (a full-scale
// sine is -3 dBFS); -inf for silence or before any audio.
struct ChannelLevel {
  std::string channel;
  double rms_dbfs = kSilenceDb;
  double peak_dbfs = kSilenceDb;
  // The window's peak reached the channel's limiter ceiling: its loudest samples were cut
  // (the technician's clipping alarm).
  bool clipping = false;
};
struct MediaStats {
  std::vector<IngestCounters> ingest;
  uint64_t listener_packets_sent = 0;
  uint64_t listener_send_errors = 0;
  uint64_t listener_packets_dropped = 0;  // a listener's socket buffer was full
  uint64_t fanout_ring_overflows = 0;     // a fan-out sender fell behind
  uint64_t fanout_backlog_drops = 0;      // channel packets a sender skipped: older than fanout_max_backlog_ms
  uint64_t listener_packets_late = 0;     // listener packets those skips and ring overflows cost
  uint64_t channel_packets_in = 0;        // encoded channel packets into the fan-out (only while taken)
  // Fan-out delay: a channel packet in -> its last listener's packet handed to the kernel.
  double fanout_delay_p50_us = 0, fanout_delay_p99_us = 0, fanout_delay_max_us = 0;
  uint64_t fanout_delay_samples = 0;
  uint64_t fanout_delay_over_range = 0;  // past the histogram's range (10 s)
  // The same delay as a cumulative histogram: (upper bound in seconds, samples at or below it),
  // ascending; fanout_delay_samples is the +Inf bucket. Sum in seconds.
  std::vector<std::pair<double, uint64_t>> fanout_delay_buckets;
  double fanout_delay_sum_s = 0;
  // The shared WebRTC port (node-wide; zero with webrtc_mode webrtcbin).
  uint64_t webrtc_peers = 0;  // viewers it knows (connecting, connected or over, not yet ended)
  uint64_t webrtc_checks_answered = 0, webrtc_checks_refused = 0;  // ICE (STUN) checks
  uint64_t webrtc_handshakes = 0, webrtc_handshakes_failed = 0;    // DTLS
  uint64_t webrtc_rtcp = 0, webrtc_rtcp_refused = 0;               // SRTCP from viewers
  uint64_t webrtc_dropped = 0;       // datagrams from no known viewer, or neither STUN, DTLS nor RTCP
  std::vector<ChannelLevel> levels;  // every channel of the session, "floor" included
};

// Events flow up to watchers (gRPC WatchSession).
struct ChannelSourceChanged {
  ChannelName channel;
  std::optional<ConsoleId> live_console;
};
struct MicChanged {
  ConsoleId console;
  ChannelName channel;
  MicState mic;
};
struct ListenerCountChanged {
  ChannelName channel;
  uint32_t count;
};
struct FloorChanged {
  std::string floor_language;
  FloorSource source;
  FloorSource backup;
};
// The floor source on air changed (or the technician's selection, or the primary's state).
struct FloorActiveChanged {
  FloorActive active;
  FloorSelect select;
  bool primary_lost;
  std::string reason;
};
struct SessionEnded {};
struct BoothChanged {
  std::string booth;
};
struct MessageSent {
  Message message;
};
struct HandoverChanged {
  enum class What { kRequested, kAccepted, kDeclined, kExpired } what;
  ConsoleId from, to;
  ChannelName channel;
};
// A listener's (or its group's) new key. Goes only to that listener's own key stream, never
// to session watchers.
struct KeyChanged {
  ListenerId listener;
  uint32_t key_id = 0;
  SrtpKeying srtp;
  uint32_t ssrc = 0;
  std::chrono::milliseconds takes_over_in{0};  // the sender moves to it after this
  std::string reason;                          // "period", "packet limit", "member left"
};
struct ConsoleLinkChanged {
  ConsoleId console;
  std::string booth;
  ChannelName channel;  // its output
  MicState mic;
  bool link_lost;
};
struct ListenerEnded {
  ListenerId listener;
  ChannelName channel;
  std::string reason;  // "unsubscribed", "lease expired", "port unreachable", "token revoked", ...
};
// Packets meant for a listener were dropped (its fan-out sender fell behind, or the socket
// buffer was full): its receiver conceals them as a gap. At most one per listener per second.
struct ListenerDropped {
  ListenerId listener;
  ChannelName channel;
  uint64_t dropped = 0;  // since the last ListenerDropped of this listener
  uint64_t total = 0;    // since it subscribed
};
// A channel's recorder started or stopped (asked, or failed: `reason` says why).
struct RecordingChanged {
  ChannelName channel;
  bool recording = false;
  std::string reason;  // "started", "stopped", "restored", "channel removed", or the failure
  std::string file;    // started: the first segment; stopped: the last one
};

// The speaker-input monitor's alarms for one source ("floor", "floor-backup" or a console id)
// went on or off: raised at once, cleared after kInputAlarmHold without the condition.
struct InputAlarm {
  std::string source;
  bool clipping = false;
  bool narrowband = false;
  double peak_dbfs = kSilenceDb, rms_dbfs = kSilenceDb, above_7khz_db = kSilenceDb;
};
inline constexpr std::chrono::milliseconds kInputAlarmHold{2000};

// A recorded file (ListRecordings): one segment of one channel.
struct RecordingFile {
  ChannelName channel;
  std::string path;
  std::string started_utc;  // from its name, e.g. 20261201T154849.123Z
  double duration_s = 0;    // from its last complete Ogg page
  uint64_t bytes = 0;
  bool open = false;  // being written now
};

// Bounds of a recording's segment length (seconds).
inline constexpr uint32_t kMinSegmentSeconds = 1;
inline constexpr uint32_t kMaxSegmentSeconds = 24 * 3600;

struct SessionEvent {
  SessionId session;
  std::chrono::system_clock::time_point time;
  using Event = std::variant<ChannelSourceChanged, MicChanged, ListenerCountChanged, FloorChanged, SessionEnded,
                             BoothChanged, MessageSent, HandoverChanged, KeyChanged, ListenerEnded, ConsoleLinkChanged,
                             ListenerDropped, FloorActiveChanged, RecordingChanged, InputAlarm>;
  Event what;
};

}  // namespace tilmash::domain
