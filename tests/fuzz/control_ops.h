// The calls of a control_fuzz program, shared by the target and the seed maker
// (make_seeds.cpp). New ops go at the end, so committed seeds keep their meaning.
#pragma once
#include <cstdint>

namespace tilmash::fuzz {

enum Op : uint8_t {
  kCreateSession,
  kGetSession,
  kListSessions,
  kEndSession,
  kAddChannel,
  kRemoveChannel,
  kSetChannelDucking,
  kSetFloorSource,
  kSetFloorLanguage,
  kGetSessionStats,
  kJoinConsole,
  kLeaveConsole,
  kSetMic,
  kCough,
  kSelectOutput,
  kSelectInput,
  kRequestHandover,
  kAcceptHandover,
  kDeclineHandover,
  kSendMessage,
  kConfigureBooth,
  kGetBooth,
  kSetInterlockMode,
  kSetBroadcastState,
  kSubscribe,
  kSwitchChannel,
  kUnsubscribe,
  kTick,
  kKeepAlive,
  kAddViewer,       // a WHEP offer: SubscribeRequest (session, channel; endpoint.host is the offer)
  kRemoveViewer,    // a WHEP DELETE: UnsubscribeRequest (listener_id is the viewer)
  kOpenKeyStream,   // WatchKeys opens: KeepAliveRequest
  kCloseKeyStream,  // WatchKeys ends: KeepAliveRequest
  kStartRecording,
  kStopRecording,
  kListRecordings,
  kOpCount
};

}  // namespace tilmash::fuzz
