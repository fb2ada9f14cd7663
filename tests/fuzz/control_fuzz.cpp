// libFuzzer target: serialized tilmash.v1 requests, converted as the gRPC handlers convert them
// (convert.cpp's FromProto plus the handlers' own field checks), into the domain's SessionRegistry
// and Session rules, with ToProto of every reply and event; a recording fake MediaEngine stands in
// for GStreamer. The handlers themselves are not called: they need a ServerContext with a token
// (authorisation is tested in tests/control), and the domain behind them is what is fuzzed here.
//
// Input: a program of calls, each [op][len lo][len hi][len bytes of the request message]. Ids the
// fuzzer cannot guess are filled in: an empty session_id / console_id / listener_id / message.from
// becomes the newest known one, a one-byte id N the N-th known one (mod count).
// After every call the domain's invariants are checked on every session:
//  - one writer per channel: at most one console with its mic on (live or muted) per outgoing
//    channel, and it is the channel's live_console;
//  - the media side agrees: in the channel's last mix only the live writer's gain is open, and the
//    floor is ducked exactly while somebody is live;
//  - listener counts equal the unicast listeners and browser viewers the media side sends that
//    channel to plus the members of the channel's multicast group, whose one stream exists
//    exactly while it has members;
//  - a console's return feed carries what the console hears (effective_input).
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/stubs/logging.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "control_fakes.h"
#include "control_ops.h"
#include "domain/session_registry.h"
#include "grpc/convert.h"

namespace {

using namespace tilmash;
using namespace tilmash::domain;
using namespace tilmash::fuzz;

// Every domain event goes through ToProto, as WatchSession would send it.
class ConvertingSink : public EventSink {
 public:
  void OnEvent(const SessionEvent& e) override {
    v1::SessionEvent out;
    grpcapi::ToProto(e, &out);
    bytes += out.ByteSizeLong();
  }
  std::size_t bytes = 0;
};

struct Known {
  std::vector<std::string> sessions, consoles, listeners;
};

// Empty: the newest known id; one byte N: the N-th known id; otherwise as given.
void FillId(std::string* id, const std::vector<std::string>& known) {
  if (known.empty() || id->size() > 1) return;
  *id = id->empty() ? known.back() : known[uint8_t((*id)[0]) % known.size()];
}

void FillIds(google::protobuf::Message* m, const Known& k) {
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  auto fill = [&](const char* name, const std::vector<std::string>& known) {
    const auto* f = d->FindFieldByName(name);
    if (!f || f->type() != google::protobuf::FieldDescriptor::TYPE_STRING || f->is_repeated()) return;
    std::string v = r->GetString(*m, f);
    FillId(&v, known);
    r->SetString(m, f, v);
  };
  fill("session_id", k.sessions);
  fill("console_id", k.consoles);
  fill("listener_id", k.listeners);
}

bool IsWriter(v1::MicState m) { return m == v1::MIC_LIVE || m == v1::MIC_MUTED; }

void CheckInvariants(SessionRegistry& registry, RecordingMedia& media) {
  for (const SessionView& s : registry.List()) {
    auto& rec = media.sessions.at(s.id);
    v1::Session proto;
    grpcapi::ToProto(s, &proto, true);
    std::map<std::string, int> listeners_on, groups_on;           // unicast delegates; multicast group streams
    for (const auto& [id, ch] : rec.viewers) listeners_on[ch]++;  // browser viewers count in the audience
    for (const auto& [id, ch] : rec.listeners) {
      if (id.rfind("g-", 0) == 0)
        groups_on[ch]++;
      else if (id.rfind("r-", 0) != 0)
        listeners_on[ch]++;
    }
    for (const auto& ch : proto.channels()) {
      std::vector<std::string> writers;
      for (const auto& c : proto.consoles())
        if (IsWriter(c.mic()) && c.output_channel() == ch.language()) writers.push_back(c.id());
      CHECK(writers.size() <= 1);
      CHECK(ch.live_console_id() == (writers.empty() ? "" : writers[0]));
      // The rest of the audience are members of the channel's group: a group stream exists
      // exactly while it has members, and one at most.
      const int members = int(ch.listener_count()) - listeners_on[ch.language()];
      CHECK(members >= 0);
      CHECK(groups_on[ch.language()] <= 1);
      CHECK((members > 0) == (groups_on[ch.language()] == 1));
      CHECK(rec.channels.count(ch.language()) == 1);
      CHECK(ch.recording() == (rec.recordings.count(ch.language()) == 1));  // the view is the recorder's
      if (ch.language() == kFloorChannel) continue;
      const RecordingMedia::RecordedMix& mix = rec.mixes.at(ch.language());
      int open = 0;
      for (const auto& [id, db] : mix.console_gain_db) {
        if (db == 0.0) {
          ++open;
          CHECK(id == ch.live_console_id());
        } else {
          CHECK(std::isinf(db) && db < 0);
        }
      }
      CHECK(open <= 1);
      CHECK(mix.floor_gain_db == (ch.live_console_id().empty() ? 0.0 : ch.floor_duck_db()));
    }
    CHECK(int(rec.consoles.size()) == proto.consoles_size());
    for (const auto& c : proto.consoles()) {
      CHECK(rec.consoles.count(c.id()) == 1);
      if (c.return_ssrc() == 0) continue;
      auto feed = rec.listeners.find("r-" + c.id());
      CHECK(feed != rec.listeners.end() && feed->second == c.effective_input());
    }
  }
}

using namespace tilmash::fuzz;

// Parses the request and fills in ids; false when the bytes are not that message.
template <class Req>
bool Parse(const uint8_t* data, std::size_t size, const Known& known, Req* req) {
  if (!req->ParseFromArray(data, int(size))) return false;
  FillIds(req, known);
  return true;
}

template <class T>
void Reply(const Result<T>& r) {
  if (!r.ok()) grpcapi::ToGrpc(r.status());
}

// What a handler returns to the client: every reply is converted and serialized.
void Send(const google::protobuf::Message& m) { m.ByteSizeLong(); }

std::shared_ptr<Session> Find(SessionRegistry& registry, const std::string& id) {
  auto s = registry.Find(id);
  if (!s.ok()) {
    grpcapi::ToGrpc(s.status());
    return nullptr;
  }
  return s.value();
}

// One call: the handler's conversion and checks (control/grpc/services.cpp, booth_services.cpp).
void Dispatch(Op op, const uint8_t* msg, std::size_t len, SessionRegistry& registry, ManualClock& clock, Known& known) {
  switch (op) {
    case kCreateSession: {
      v1::CreateSessionRequest req;
      if (!Parse(msg, len, known, &req)) return;
      SessionSpec spec;
      spec.name = req.name();
      spec.languages.assign(req.languages().begin(), req.languages().end());
      spec.floor_language = req.floor_language();
      spec.floor_source = grpcapi::FromProto(req.floor_source());
      if (req.has_floor_duck_db()) spec.floor_duck_db = req.floor_duck_db();
      auto created = registry.Create(spec);
      if (!created.ok()) return Reply(created);
      v1::Session resp;
      grpcapi::ToProto(created.value(), &resp);
      Send(resp);
      known.sessions.push_back(resp.id());
      return;
    }
    case kGetSession: {
      v1::GetSessionRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        v1::Session resp;
        grpcapi::ToProto(s->View(), &resp);
        Send(resp);
      }
      return;
    }
    case kListSessions: {
      v1::ListSessionsResponse resp;
      for (const auto& v : registry.List()) grpcapi::ToProto(v, resp.add_sessions());
      Send(resp);
      return;
    }
    case kEndSession: {
      v1::EndSessionRequest req;
      if (Parse(msg, len, known, &req)) grpcapi::ToGrpc(registry.End(req.session_id()));
      return;
    }
    case kAddChannel: {
      v1::AddChannelRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        std::optional<double> duck;
        if (req.has_floor_duck_db()) duck = req.floor_duck_db();
        auto r = s->AddChannel(req.language(), duck);
        if (!r.ok()) return Reply(r);
        v1::Channel resp;
        grpcapi::ToProto(r.value(), &resp);
        Send(resp);
      }
      return;
    }
    case kRemoveChannel: {
      v1::RemoveChannelRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) grpcapi::ToGrpc(s->RemoveChannel(req.language()));
      return;
    }
    case kSetChannelDucking: {
      v1::SetChannelDuckingRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        if (!req.has_floor_duck_db()) return;
        auto r = s->SetChannelDucking(req.language(), req.floor_duck_db());
        if (!r.ok()) return Reply(r);
        v1::Channel resp;
        grpcapi::ToProto(r.value(), &resp);
        Send(resp);
      }
      return;
    }
    case kSetFloorSource: {
      v1::SetFloorSourceRequest req;
      if (!Parse(msg, len, known, &req)) return;
      auto select = grpcapi::FromProto(req.floor_select(), "floor_select");
      if (!select.ok()) return;
      const bool has_source = req.source().kind_case() != v1::FloorSource::KIND_NOT_SET;
      if (!has_source && req.backup().kind_case() != v1::FloorSource::KIND_NOT_SET) return;  // INVALID_ARGUMENT
      if (auto s = Find(registry, req.session_id())) {
        const auto st = has_source ? s->SetFloorSources(grpcapi::FromProto(req.source()),
                                                        grpcapi::FromProto(req.backup()), select.value())
                                   : s->SelectFloor(select.value());
        if (!st.ok()) return;
        v1::Session resp;
        grpcapi::ToProto(s->View(), &resp, /*include_keys=*/true);
        Send(resp);
      }
      return;
    }
    case kSetFloorLanguage: {
      v1::SetFloorLanguageRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        if (!s->SetFloorLanguage(req.language()).ok()) return;
        v1::Session resp;
        grpcapi::ToProto(s->View(), &resp);
        Send(resp);
      }
      return;
    }
    case kGetSessionStats: {
      v1::GetSessionStatsRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        v1::SessionStats resp;
        grpcapi::ToProto(s->Stats(), &resp);
        Send(resp);
      }
      return;
    }
    case kJoinConsole: {
      v1::JoinConsoleRequest req;
      if (!Parse(msg, len, known, &req)) return;
      auto s = Find(registry, req.session_id());
      if (!s) return;
      ConsoleRequest cr;
      cr.booth = req.booth();
      cr.name = req.name();
      if (req.has_return_endpoint()) {
        if (req.return_endpoint().port() > 65535) return;  // INVALID_ARGUMENT
        cr.return_endpoint = Endpoint{req.return_endpoint().host(), uint16_t(req.return_endpoint().port())};
      }
      auto r = s->JoinConsole(cr);
      if (!r.ok()) return Reply(r);
      v1::JoinConsoleResponse resp;
      grpcapi::ToProto(r->console, resp.mutable_console());
      grpcapi::ToProto(r->ingest, resp.mutable_ingest());
      Send(resp);
      known.consoles.push_back(resp.console().id());
      return;
    }
    case kLeaveConsole: {
      v1::LeaveConsoleRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) grpcapi::ToGrpc(s->LeaveConsole(req.console_id()));
      return;
    }
    case kSetMic:
    case kCough:
    case kSelectOutput:
    case kSelectInput: {
      Result<ConsoleView> r = InvalidArgument("unparsed");
      if (op == kSetMic) {
        v1::SetMicRequest req;
        if (!Parse(msg, len, known, &req)) return;
        if (auto s = Find(registry, req.session_id())) r = s->SetMic(req.console_id(), req.live());
      } else if (op == kCough) {
        v1::CoughRequest req;
        if (!Parse(msg, len, known, &req)) return;
        if (auto s = Find(registry, req.session_id())) r = s->Cough(req.console_id(), req.muted());
      } else if (op == kSelectOutput) {
        v1::SelectOutputRequest req;
        if (!Parse(msg, len, known, &req)) return;
        auto slot = grpcapi::FromProto(req.slot(), "slot");
        if (!slot.ok()) return Reply(slot);
        if (auto s = Find(registry, req.session_id())) r = s->SelectOutput(req.console_id(), slot.value());
      } else {
        v1::SelectInputRequest req;
        if (!Parse(msg, len, known, &req)) return;
        auto input = grpcapi::FromProto(req.input(), "input");
        if (!input.ok()) return Reply(input);
        if (auto s = Find(registry, req.session_id())) r = s->SelectInput(req.console_id(), input.value());
      }
      if (!r.ok()) return Reply(r);
      v1::Console resp;
      grpcapi::ToProto(r.value(), &resp);
      Send(resp);
      return;
    }
    case kRequestHandover:
    case kAcceptHandover:
    case kDeclineHandover: {
      v1::HandoverRequest req;
      if (!Parse(msg, len, known, &req)) return;
      auto s = Find(registry, req.session_id());
      if (!s) return;
      grpcapi::ToGrpc(op == kRequestHandover  ? s->RequestHandover(req.console_id())
                      : op == kAcceptHandover ? s->AcceptHandover(req.console_id())
                                              : s->DeclineHandover(req.console_id()));
      return;
    }
    case kSendMessage: {
      v1::SendMessageRequest req;
      if (!Parse(msg, len, known, &req)) return;
      std::string from = req.message().from();
      FillId(&from, known.consoles);
      auto kind = grpcapi::FromProto(req.message().kind(), "message.kind");
      if (!kind.ok()) return Reply(kind);
      if (auto s = Find(registry, req.session_id())) {
        Message m;
        m.kind = kind.value();
        m.from = from;
        m.to = req.message().to();
        m.text = req.message().text();
        grpcapi::ToGrpc(s->SendMessage(m));
      }
      return;
    }
    case kConfigureBooth:
    case kGetBooth: {
      Result<BoothView> r = InvalidArgument("unparsed");
      if (op == kConfigureBooth) {
        v1::ConfigureBoothRequest req;
        if (!Parse(msg, len, known, &req)) return;
        BoothConfig cfg;
        if (!req.retour_b().empty()) cfg.b = req.retour_b();
        if (!req.retour_c().empty()) cfg.c = req.retour_c();
        cfg.takes.assign(req.takes().begin(), req.takes().end());
        if (auto s = Find(registry, req.session_id())) r = s->ConfigureBooth(req.booth(), cfg);
      } else {
        v1::GetBoothRequest req;
        if (!Parse(msg, len, known, &req)) return;
        if (auto s = Find(registry, req.session_id())) r = s->Booth(req.booth());
      }
      if (!r.ok()) return Reply(r);
      v1::Booth resp;
      grpcapi::ToProto(r.value(), &resp);
      Send(resp);
      return;
    }
    case kSetInterlockMode: {
      v1::SetInterlockModeRequest req;
      if (!Parse(msg, len, known, &req)) return;
      auto mode = grpcapi::FromProto(req.mode(), "mode");
      if (!mode.ok()) return Reply(mode);
      if (auto s = Find(registry, req.session_id())) grpcapi::ToGrpc(s->SetInterlockMode(mode.value()));
      return;
    }
    case kSetBroadcastState: {
      v1::SetBroadcastStateRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id()))
        grpcapi::ToGrpc(s->SetBroadcastState(req.on_air(), req.recorded()));
      return;
    }
    case kSubscribe: {
      v1::SubscribeRequest req;
      if (!Parse(msg, len, known, &req)) return;
      auto s = Find(registry, req.session_id());
      if (!s) return;
      auto suite = grpcapi::FromProto(req.suite(), "suite");
      if (!suite.ok()) return Reply(suite);
      ListenerRequest lr;
      lr.transport = req.transport() == v1::MULTICAST ? Transport::kMulticast : Transport::kUnicast;
      if (req.transport() != v1::TRANSPORT_UNSPECIFIED && req.transport() != v1::UNICAST &&
          req.transport() != v1::MULTICAST)
        return;  // INVALID_ARGUMENT
      if (lr.transport == Transport::kUnicast) {
        if (!req.has_endpoint() || req.endpoint().port() > 65535) return;  // INVALID_ARGUMENT
        lr.endpoint = Endpoint{req.endpoint().host(), uint16_t(req.endpoint().port())};
      }
      lr.channel = req.channel();
      lr.suite = suite.value();
      lr.owner = req.channel().size() % 2 ? "token-a" : "token-b";
      if (req.has_interpretation_percent()) lr.interpretation_percent = req.interpretation_percent();
      auto r = s->Subscribe(lr);
      if (!r.ok()) return Reply(r);
      v1::SubscribeResponse resp;
      resp.set_listener_id(r->id);
      resp.mutable_srtp()->set_suite(grpcapi::ToProto(r->srtp.suite));
      resp.mutable_srtp()->set_master_key(r->srtp.master_key.data(), r->srtp.master_key.size());
      Send(resp);
      known.listeners.push_back(r->id);
      return;
    }
    case kSwitchChannel: {
      v1::SwitchChannelRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id()))
        grpcapi::ToGrpc(s->SwitchChannel(req.listener_id(), req.channel()));
      return;
    }
    case kUnsubscribe: {
      v1::UnsubscribeRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) grpcapi::ToGrpc(s->Unsubscribe(req.listener_id()));
      return;
    }
    case kKeepAlive: {
      v1::KeepAliveRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        Reply(s->KeepAlive(req.listener_id()));
        if (req.listener_id().size() % 3 == 0) s->StopOwnedBy("token-a");  // a revocation
      }
      return;
    }
    case kAddViewer: {
      v1::SubscribeRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        ViewerRequest v;
        v.channel = req.channel();
        v.owner = req.suite() == v1::AEAD_AES_128_GCM ? "token-a" : "token-b";
        v.max_streams = req.has_interpretation_percent() ? req.interpretation_percent() % 4 : 0;
        v.offer_sdp = req.endpoint().host();
        v.valid_for = std::chrono::milliseconds(req.endpoint().port() * 10);
        v.done = [](bool, const std::string& text) { CHECK(!text.empty()); };
        auto added = s->AddViewer(v);
        if (!added.ok()) return Reply(added);
        known.listeners.push_back(added.value());
      }
      return;
    }
    case kRemoveViewer: {
      v1::UnsubscribeRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) grpcapi::ToGrpc(s->RemoveViewer(req.listener_id()));
      return;
    }
    case kOpenKeyStream:
    case kCloseKeyStream: {
      v1::KeepAliveRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        if (op == kOpenKeyStream)
          Reply(s->OpenKeyStream(req.listener_id()));
        else
          s->CloseKeyStream(req.listener_id());
      }
      return;
    }
    case kStartRecording: {
      v1::StartRecordingRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        auto r = s->StartRecording({req.channel_ids().begin(), req.channel_ids().end()}, req.segment_seconds());
        if (!r.ok()) return Reply(r);
        v1::StartRecordingResponse resp;
        for (const auto& c : r.value()) grpcapi::ToProto(c, resp.add_channels());
        Send(resp);
      }
      return;
    }
    case kStopRecording: {
      v1::StopRecordingRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id()))
        Reply(s->StopRecording({req.channel_ids().begin(), req.channel_ids().end()}));
      return;
    }
    case kListRecordings: {
      v1::ListRecordingsRequest req;
      if (!Parse(msg, len, known, &req)) return;
      if (auto s = Find(registry, req.session_id())) {
        v1::ListRecordingsResponse resp;
        for (const auto& f : s->Recordings()) grpcapi::ToProto(f, resp.add_files());
        Send(resp);
      }
      return;
    }
    case kTick:  // time passes: len x 100 ms, then the daemon's timer
      clock.now += std::chrono::milliseconds(100) * len;
      registry.Tick();
      return;
    case kOpCount:
      return;
  }
}

}  // namespace

// Invalid UTF-8 in string fields is a parse failure; protobuf's log line about it is noise.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  RecordingMedia media;
  Keys keys;
  ManualClock clock;
  ConvertingSink sink;
  Known known;
  {
    ListenerPolicy policy;
    policy.lease = std::chrono::seconds(5);
    policy.key_rotation = std::chrono::seconds(3);
    policy.multicast_group = "239.1.2.3";
    SessionRegistry registry(SessionPorts{&media, &keys, &sink, &clock}, kDefaultFloorDuckDb, policy);
    std::size_t at = 0;
    int calls = 0;
    while (at + 3 <= size && calls++ < 64) {
      const Op op = Op(data[at] % kOpCount);
      std::size_t len = std::size_t(data[at + 1]) | std::size_t(data[at + 2]) << 8;
      at += 3;
      len = std::min(len, size - at);
      Dispatch(op, data + at, len, registry, clock, known);
      at += len;
      CheckInvariants(registry, media);
    }
  }  // the registry ends every session
  CHECK(media.sessions.empty());
  return 0;
}
