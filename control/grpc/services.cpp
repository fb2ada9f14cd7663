// Thin adapters (CONVENTIONS habit 6): convert, call the domain, map the status, return.
#include "grpc/services.h"

#include "domain/sdp.h"
#include "grpc/bindings.h"
#include "grpc/convert.h"
#include "grpc/event_stream.h"
#include "log/log.h"

namespace tilmash::grpcapi {

std::shared_ptr<domain::Session> FindSession(domain::SessionRegistry& r, const std::string& id, grpc::Status* status) {
  auto s = r.Find(id);
  if (!s.ok()) {
    *status = ToGrpc(s.status());
    return nullptr;
  }
  return s.value();
}

// ------------------------------------------------------------------ SessionService

grpc::Status SessionServiceImpl::CreateSession(grpc::ServerContext* ctx, const v1::CreateSessionRequest* req,
                                               v1::Session* resp) {
  return authz_.Run(ctx, "SessionService.CreateSession", "", [&](const auth::Claims& who) -> grpc::Status {
    domain::SessionSpec spec;
    spec.id = req->session_id();
    spec.name = req->name();
    spec.languages.assign(req->languages().begin(), req->languages().end());
    spec.floor_language = req->floor_language();
    spec.floor_source = FromProto(req->floor_source());
    if (req->has_floor_duck_db()) spec.floor_duck_db = req->floor_duck_db();
    if (req->has_loudness_target_lufs()) spec.loudness_target_lufs = req->loudness_target_lufs();
    if (req->has_frame_ms()) spec.frame_ms = req->frame_ms();
    if (req->has_jitter_ms()) spec.jitter_ms = req->jitter_ms();
    auto created = registry_.Create(spec);
    if (!created.ok()) return ToGrpc(created.status());
    // The creator sets up the sound desk: an SRTP floor's key is in the answer, as in SetFloorSource's.
    ToProto(created.value(), resp, /*include_keys=*/true);
    log::Get("grpc")->info("session {}: created name='{}' channels={}", resp->id(), resp->name(),
                           resp->channels_size());
    return grpc::Status::OK;
  });
}

grpc::Status SessionServiceImpl::GetSession(grpc::ServerContext* ctx, const v1::GetSessionRequest* req,
                                            v1::Session* resp) {
  return authz_.Run(ctx, "SessionService.GetSession", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    ToProto(s->View(), resp);
    return grpc::Status::OK;
  });
}

grpc::Status SessionServiceImpl::ListSessions(grpc::ServerContext* ctx, const v1::ListSessionsRequest*,
                                              v1::ListSessionsResponse* resp) {
  return authz_.Run(ctx, "SessionService.ListSessions", "", [&](const auth::Claims& who) -> grpc::Status {
    for (const auto& v : registry_.List())
      if (who.role != auth::Role::kEdge || who.session.empty() || who.session == v.id) ToProto(v, resp->add_sessions());
    return grpc::Status::OK;
  });
}

grpc::Status SessionServiceImpl::EndSession(grpc::ServerContext* ctx, const v1::EndSessionRequest* req,
                                            v1::EndSessionResponse*) {
  return authz_.Run(ctx, "SessionService.EndSession", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status { return ToGrpc(registry_.End(req->session_id())); });
}

grpc::Status SessionServiceImpl::AddChannel(grpc::ServerContext* ctx, const v1::AddChannelRequest* req,
                                            v1::Channel* resp) {
  return authz_.Run(ctx, "SessionService.AddChannel", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    std::optional<double> duck;
    if (req->has_floor_duck_db()) duck = req->floor_duck_db();
    auto r = s->AddChannel(req->language(), duck);
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(r.value(), resp);
    return grpc::Status::OK;
  });
}

grpc::Status SessionServiceImpl::RemoveChannel(grpc::ServerContext* ctx, const v1::RemoveChannelRequest* req,
                                               v1::RemoveChannelResponse*) {
  return authz_.Run(ctx, "SessionService.RemoveChannel", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      return ToGrpc(s->RemoveChannel(req->language()));
                    });
}

grpc::Status SessionServiceImpl::SetChannelDucking(grpc::ServerContext* ctx, const v1::SetChannelDuckingRequest* req,
                                                   v1::Channel* resp) {
  return authz_.Run(ctx, "SessionService.SetChannelDucking", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (!req->has_floor_duck_db())
                        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            "floor_duck_db is required (-60 to 0 dB; 0: no ducking)");
                      auto r = s->SetChannelDucking(req->language(), req->floor_duck_db());
                      if (!r.ok()) return ToGrpc(r.status());
                      ToProto(r.value(), resp);
                      return grpc::Status::OK;
                    });
}

grpc::Status SessionServiceImpl::SetFloorSource(grpc::ServerContext* ctx, const v1::SetFloorSourceRequest* req,
                                                v1::Session* resp) {
  return authz_.Run(
      ctx, "SessionService.SetFloorSource", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
        TILMASH_FIND_SESSION(s, req->session_id());
        auto select = FromProto(req->floor_select(), "floor_select");
        if (!select.ok()) return ToGrpc(select.status());
        const bool has_source = req->source().kind_case() != v1::FloorSource::KIND_NOT_SET;
        const bool has_backup = req->backup().kind_case() != v1::FloorSource::KIND_NOT_SET;
        if (!has_source && has_backup)
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "source: set tone or rtp (a backup needs a primary)");
        // Neither source: the technician's override alone; ports and keys stay.
        Status st = has_source ? s->SetFloorSources(FromProto(req->source()), FromProto(req->backup()), select.value())
                               : s->SelectFloor(select.value());
        if (!st.ok()) return ToGrpc(st);
        ToProto(s->View(), resp, /*include_keys=*/true);
        return grpc::Status::OK;
      });
}

grpc::Status SessionServiceImpl::SetFloorLanguage(grpc::ServerContext* ctx, const v1::SetFloorLanguageRequest* req,
                                                  v1::Session* resp) {
  return authz_.Run(ctx, "SessionService.SetFloorLanguage", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (Status st = s->SetFloorLanguage(req->language()); !st.ok()) return ToGrpc(st);
                      ToProto(s->View(), resp);
                      return grpc::Status::OK;
                    });
}

grpc::Status SessionServiceImpl::GetSessionStats(grpc::ServerContext* ctx, const v1::GetSessionStatsRequest* req,
                                                 v1::SessionStats* resp) {
  return authz_.Run(ctx, "SessionService.GetSessionStats", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      ToProto(s->Stats(), resp);
                      return grpc::Status::OK;
                    });
}

namespace {
// A technician's or booth's view of a session: the channels' sources first (a console that
// joins late sees the current state at once), then every event as it happens.
class SessionStream : public EventStream<v1::SessionEvent> {
 public:
  static grpc::ServerWriteReactor<v1::SessionEvent>* Open(EventHub& hub, const std::shared_ptr<domain::Session>& s) {
    auto self = std::make_shared<SessionStream>();
    auto* reactor = Start(self);
    self->subscription_ = hub.Watch(s->id(), self);
    for (const auto& c : s->View().channels) {
      v1::SessionEvent e;
      e.set_session_id(s->id());
      e.mutable_channel_source()->set_language(c.name);
      e.mutable_channel_source()->set_live_console_id(c.live_console.value_or(""));
      self->Send(std::move(e));
    }
    return reactor;
  }
  void OnEvent(const domain::SessionEvent& ev) override {
    v1::SessionEvent out;
    ToProto(ev, &out);
    if (out.kind_case() == v1::SessionEvent::KIND_NOT_SET) return;  // booth-only events
    const bool ended = out.has_ended();
    Send(std::move(out));
    if (ended) Close(grpc::Status::OK);
  }

 private:
  void OnFinished() override { subscription_.Cancel(); }
  EventHub::Subscription subscription_;
};
}  // namespace

grpc::ServerWriteReactor<v1::SessionEvent>* SessionServiceImpl::WatchSession(grpc::CallbackServerContext* ctx,
                                                                             const v1::WatchSessionRequest* req) {
  auto who = authz_.Admit(ctx, "SessionService.WatchSession", req->session_id());
  if (!who.ok()) return Refused<v1::SessionEvent>(ToGrpc(who.status()));
  grpc::Status find_status;
  auto s = FindSession(registry_, req->session_id(), &find_status);
  if (!s) return Refused<v1::SessionEvent>(find_status);
  return SessionStream::Open(events_, s);
}

// ------------------------------------------------------------------ BoothService

grpc::Status BoothServiceImpl::JoinConsole(grpc::ServerContext* ctx, const v1::JoinConsoleRequest* req,
                                           v1::JoinConsoleResponse* resp) {
  return authz_.Run(ctx, "BoothService.JoinConsole", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindBooth(who, *s, req->booth()); !b.ok()) return b;
    domain::ConsoleRequest cr{req->booth(), req->name(), std::nullopt, who.id};
    if (req->has_return_endpoint()) {
      if (req->return_endpoint().port() > 65535)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "return_endpoint.port must be between 1 and 65535");
      cr.return_endpoint = domain::Endpoint{req->return_endpoint().host(), uint16_t(req->return_endpoint().port())};
    }
    auto r = s->JoinConsole(cr);
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(r->console, resp->mutable_console());
    ToProto(r->ingest, resp->mutable_ingest());
    if (r->return_feed) {
      const domain::ListenerView& f = *r->return_feed;
      auto* out = resp->mutable_return_feed();
      out->set_ssrc(f.ssrc);
      out->set_payload_type(f.send.payload_type);
      out->mutable_srtp()->set_suite(ToProto(f.srtp.suite));
      out->mutable_srtp()->set_master_key(f.srtp.master_key.data(), f.srtp.master_key.size());
      out->mutable_srtp()->set_roc(f.srtp.roc);
      out->mutable_source()->set_host(f.send.source.host);
      out->mutable_source()->set_port(f.send.source.port);
      out->set_sdp(domain::ListenerSdp(s->View().name, f));
    }
    return grpc::Status::OK;
  });
}

grpc::Status BoothServiceImpl::LeaveConsole(grpc::ServerContext* ctx, const v1::LeaveConsoleRequest* req,
                                            v1::LeaveConsoleResponse*) {
  return authz_.Run(ctx, "BoothService.LeaveConsole", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
    return ToGrpc(s->LeaveConsole(req->console_id()));
  });
}

grpc::Status BoothServiceImpl::SetMic(grpc::ServerContext* ctx, const v1::SetMicRequest* req, v1::Console* resp) {
  return authz_.Run(ctx, "BoothService.SetMic", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
    auto r = s->SetMic(req->console_id(), req->live());
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(r.value(), resp);
    return grpc::Status::OK;
  });
}

grpc::Status BoothServiceImpl::Cough(grpc::ServerContext* ctx, const v1::CoughRequest* req, v1::Console* resp) {
  return authz_.Run(ctx, "BoothService.Cough", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
    auto r = s->Cough(req->console_id(), req->muted());
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(r.value(), resp);
    return grpc::Status::OK;
  });
}

}  // namespace tilmash::grpcapi
