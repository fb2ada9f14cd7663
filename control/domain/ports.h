// The domain's view of the outside world (CONVENTIONS habit 2). Adapters implement these;
// unit tests use fakes.
#pragma once
#include <string>

#include "domain/status.h"
#include "domain/types.h"

namespace tilmash::domain {

// The media side. Calls are synchronous from the caller's view; implementations post the
// work to their own thread and must never call back into the domain.
class MediaEngine {
 public:
  virtual ~MediaEngine() = default;
  virtual Status CreateSession(const SessionId& session) = 0;
  virtual void EndSession(const SessionId& session) = 0;
  virtual Status AddChannel(const SessionId& session, const ChannelName& channel) = 0;
  virtual void RemoveChannel(const SessionId& session, const ChannelName& channel) = 0;
  // Returns the ingest endpoint when the source is RTP.
  virtual Result<std::optional<IngestInfo>> SetFloorSource(const SessionId& session, const FloorSource& source,
                                                           const std::optional<SrtpKeying>& key,
                                                           uint32_t expected_ssrc) = 0;
  // The console's audio reaches the mixer of every channel in `outputs` (its booth's A, B, C),
  // each at silence until SetChannelMix opens one.
  virtual Result<IngestInfo> AddConsole(const SessionId& session, const ConsoleId& console,
                                        const std::vector<ChannelName>& outputs, const SrtpKeying& key,
                                        uint32_t ssrc) = 0;
  virtual Status SetConsoleOutputs(const SessionId& session, const ConsoleId& console,
                                   const std::vector<ChannelName>& outputs) = 0;
  virtual void RemoveConsole(const SessionId& session, const ConsoleId& console) = 0;
  // Gain ramps, never relinking.
  virtual void SetChannelMix(const SessionId& session, const ChannelName& channel, const ChannelMix& mix) = 0;
  virtual Result<SendInfo> AddListener(const SessionId& session, const ListenerId& listener, const ChannelName& channel,
                                       const Endpoint& endpoint, const SrtpKeying& key, uint32_t ssrc) = 0;
  virtual Status SwitchListener(const SessionId& session, const ListenerId& listener, const ChannelName& channel) = 0;
  // From now on (and after every switch) the listener gets its channel mixed with the floor:
  // `interpretation_percent` of the channel, the rest the floor; 100 is the channel's own
  // stream. Listeners of one channel and balance share one mix (one encode).
  virtual Status SetListenerBalance(const SessionId& session, const ListenerId& listener,
                                    uint32_t interpretation_percent) = 0;
  virtual void RemoveListener(const SessionId& session, const ListenerId& listener) = 0;
  // The listener's next key (same suite and SSRC), used from the first packet `after` from now.
  virtual Status RekeyListener(const SessionId& session, const ListenerId& listener, const SrtpKeying& key,
                               std::chrono::milliseconds after) = 0;
  // What the sender saw since the last call: listeners whose destination answered with ICMP
  // unreachable, listeners whose key reached its packet limit.
  struct ListenerAlerts {
    std::vector<ListenerId> unreachable, key_limit;
  };
  virtual ListenerAlerts TakeListenerAlerts(const SessionId& session) = 0;
  // The rollover counter the listener's stream is at now (a late member of a group needs it).
  virtual uint32_t StreamRoc(const SessionId& session, const ListenerId& listener) = 0;
  virtual MediaStats Stats(const SessionId& session) = 0;
};

// Key material and identifiers. Keys come only from here (CONVENTIONS habit 9).
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual SrtpKeying NewKey(CryptoSuite suite) = 0;
  virtual uint32_t NewSsrc() = 0;
  virtual std::string NewId(const std::string& prefix) = 0;
};

// Time for handover timeouts; tests step it by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
};

// Receives every domain event. Called with the session lock held: must not block.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const SessionEvent& event) = 0;
};

}  // namespace tilmash::domain
