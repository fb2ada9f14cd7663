// gRPC service classes. Included only by services.cpp and server.cpp.
#pragma once
#include "domain/session_registry.h"
#include "grpc/authz.h"
#include "grpc/event_hub.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::grpcapi {

using domain::Status;

// A stream refused before it starts (token, binding, unknown session).
template <class Msg>
grpc::ServerWriteReactor<Msg>* Refused(const grpc::Status& status) {
  class R : public grpc::ServerWriteReactor<Msg> {
   public:
    explicit R(const grpc::Status& s) { this->Finish(s); }
    void OnDone() override { delete this; }
  };
  return new R(status);
}

// Resolves the session a request names, or fills `status` (NOT_FOUND / INVALID_ARGUMENT).
std::shared_ptr<domain::Session> FindSession(domain::SessionRegistry& r, const std::string& id, grpc::Status* status);
// In a handler body: declares `var` or returns the status.
#define TILMASH_FIND_SESSION(var, id)                  \
  grpc::Status find_status;                            \
  auto var = FindSession(registry_, id, &find_status); \
  if (!var) return find_status

class SessionServiceImpl final
    : public v1::SessionService::WithCallbackMethod_WatchSession<v1::SessionService::Service> {
 public:
  SessionServiceImpl(domain::SessionRegistry& r, EventHub& e, Authorizer& a) : registry_(r), events_(e), authz_(a) {}
  grpc::Status CreateSession(grpc::ServerContext*, const v1::CreateSessionRequest*, v1::Session*) override;
  grpc::Status GetSession(grpc::ServerContext*, const v1::GetSessionRequest*, v1::Session*) override;
  grpc::Status ListSessions(grpc::ServerContext*, const v1::ListSessionsRequest*, v1::ListSessionsResponse*) override;
  grpc::Status EndSession(grpc::ServerContext*, const v1::EndSessionRequest*, v1::EndSessionResponse*) override;
  grpc::Status AddChannel(grpc::ServerContext*, const v1::AddChannelRequest*, v1::Channel*) override;
  grpc::Status RemoveChannel(grpc::ServerContext*, const v1::RemoveChannelRequest*,
                             v1::RemoveChannelResponse*) override;
  grpc::Status SetChannelDucking(grpc::ServerContext*, const v1::SetChannelDuckingRequest*, v1::Channel*) override;
  grpc::Status SetFloorSource(grpc::ServerContext*, const v1::SetFloorSourceRequest*, v1::Session*) override;
  grpc::Status SetFloorLanguage(grpc::ServerContext*, const v1::SetFloorLanguageRequest*, v1::Session*) override;
  grpc::Status GetSessionStats(grpc::ServerContext*, const v1::GetSessionStatsRequest*, v1::SessionStats*) override;
  grpc::ServerWriteReactor<v1::SessionEvent>* WatchSession(grpc::CallbackServerContext*,
                                                           const v1::WatchSessionRequest*) override;

 private:
  domain::SessionRegistry& registry_;
  EventHub& events_;
  Authorizer& authz_;
};

class BoothServiceImpl final : public v1::BoothService::WithCallbackMethod_WatchBooth<v1::BoothService::Service> {
 public:
  BoothServiceImpl(domain::SessionRegistry& r, EventHub& e, Authorizer& a) : registry_(r), events_(e), authz_(a) {}
  grpc::Status JoinConsole(grpc::ServerContext*, const v1::JoinConsoleRequest*, v1::JoinConsoleResponse*) override;
  grpc::Status LeaveConsole(grpc::ServerContext*, const v1::LeaveConsoleRequest*, v1::LeaveConsoleResponse*) override;
  grpc::Status SetMic(grpc::ServerContext*, const v1::SetMicRequest*, v1::Console*) override;
  grpc::Status Cough(grpc::ServerContext*, const v1::CoughRequest*, v1::Console*) override;
  grpc::Status SelectOutput(grpc::ServerContext*, const v1::SelectOutputRequest*, v1::Console*) override;
  grpc::Status SelectInput(grpc::ServerContext*, const v1::SelectInputRequest*, v1::Console*) override;
  grpc::Status RequestHandover(grpc::ServerContext*, const v1::HandoverRequest*, v1::HandoverResponse*) override;
  grpc::Status AcceptHandover(grpc::ServerContext*, const v1::HandoverRequest*, v1::HandoverResponse*) override;
  grpc::Status DeclineHandover(grpc::ServerContext*, const v1::HandoverRequest*, v1::HandoverResponse*) override;
  grpc::Status SendMessage(grpc::ServerContext*, const v1::SendMessageRequest*, v1::SendMessageResponse*) override;
  grpc::Status ConfigureBooth(grpc::ServerContext*, const v1::ConfigureBoothRequest*, v1::Booth*) override;
  grpc::Status GetBooth(grpc::ServerContext*, const v1::GetBoothRequest*, v1::Booth*) override;
  grpc::Status SetInterlockMode(grpc::ServerContext*, const v1::SetInterlockModeRequest*, v1::Session*) override;
  grpc::Status SetBroadcastState(grpc::ServerContext*, const v1::SetBroadcastStateRequest*, v1::Session*) override;
  grpc::ServerWriteReactor<v1::BoothEvent>* WatchBooth(grpc::CallbackServerContext*,
                                                       const v1::WatchBoothRequest*) override;

 private:
  domain::SessionRegistry& registry_;
  EventHub& events_;
  Authorizer& authz_;
};

class ListenerServiceImpl final
    : public v1::ListenerService::WithCallbackMethod_WatchKeys<v1::ListenerService::Service> {
 public:
  ListenerServiceImpl(domain::SessionRegistry& r, EventHub& e, Authorizer& a) : registry_(r), events_(e), authz_(a) {}
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest*, v1::SubscribeResponse*) override;
  grpc::Status SwitchChannel(grpc::ServerContext*, const v1::SwitchChannelRequest*,
                             v1::SwitchChannelResponse*) override;
  grpc::Status Unsubscribe(grpc::ServerContext*, const v1::UnsubscribeRequest*, v1::UnsubscribeResponse*) override;
  grpc::Status KeepAlive(grpc::ServerContext*, const v1::KeepAliveRequest*, v1::KeepAliveResponse*) override;
  grpc::ServerWriteReactor<v1::KeyUpdate>* WatchKeys(grpc::CallbackServerContext*,
                                                     const v1::WatchKeysRequest*) override;

 private:
  domain::SessionRegistry& registry_;
  EventHub& events_;
  Authorizer& authz_;
};

class TokenServiceImpl final : public v1::TokenService::Service {
 public:
  TokenServiceImpl(domain::SessionRegistry& r, Authorizer& a) : registry_(r), authz_(a) {}
  grpc::Status MintToken(grpc::ServerContext*, const v1::MintTokenRequest*, v1::MintTokenResponse*) override;
  grpc::Status RevokeToken(grpc::ServerContext*, const v1::RevokeTokenRequest*, v1::RevokeTokenResponse*) override;
  grpc::Status ListRevocations(grpc::ServerContext*, const v1::ListRevocationsRequest*,
                               v1::ListRevocationsResponse*) override;

 private:
  domain::SessionRegistry& registry_;
  Authorizer& authz_;
};

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(Authorizer& a) : authz_(a) {}
  grpc::Status ListAudit(grpc::ServerContext*, const v1::ListAuditRequest*, v1::ListAuditResponse*) override;

 private:
  Authorizer& authz_;
};

class RecordingServiceImpl final : public v1::RecordingService::Service {
 public:
  RecordingServiceImpl(domain::SessionRegistry& r, Authorizer& a) : registry_(r), authz_(a) {}
  grpc::Status StartRecording(grpc::ServerContext*, const v1::StartRecordingRequest*,
                              v1::StartRecordingResponse*) override;
  grpc::Status StopRecording(grpc::ServerContext*, const v1::StopRecordingRequest*,
                             v1::StopRecordingResponse*) override;
  grpc::Status ListRecordings(grpc::ServerContext*, const v1::ListRecordingsRequest*,
                              v1::ListRecordingsResponse*) override;

 private:
  domain::SessionRegistry& registry_;
  Authorizer& authz_;
};

}  // namespace tilmash::grpcapi
