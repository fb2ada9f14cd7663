// BoothService adapters beyond join/mic/cough: output/input selection, handover, messages,
// booth configuration, interlock mode, broadcast state and the WatchBooth stream.
#include "domain/sdp.h"
#include "grpc/bindings.h"
#include "grpc/convert.h"
#include "grpc/event_stream.h"
#include "grpc/services.h"

namespace tilmash::grpcapi {

namespace {
grpc::Status Reply(const domain::Result<domain::ConsoleView>& r, v1::Console* resp) {
  if (!r.ok()) return ToGrpc(r.status());
  ToProto(r.value(), resp);
  return grpc::Status::OK;
}
}  // namespace

grpc::Status BoothServiceImpl::SelectOutput(grpc::ServerContext* ctx, const v1::SelectOutputRequest* req,
                                            v1::Console* resp) {
  return authz_.Run(ctx, "BoothService.SelectOutput", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
    auto slot = FromProto(req->slot(), "slot");
    if (!slot.ok()) return ToGrpc(slot.status());
    return Reply(s->SelectOutput(req->console_id(), slot.value()), resp);
  });
}

grpc::Status BoothServiceImpl::SelectInput(grpc::ServerContext* ctx, const v1::SelectInputRequest* req,
                                           v1::Console* resp) {
  return authz_.Run(ctx, "BoothService.SelectInput", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
    auto input = FromProto(req->input(), "input");
    if (!input.ok()) return ToGrpc(input.status());
    return Reply(s->SelectInput(req->console_id(), input.value()), resp);
  });
}

grpc::Status BoothServiceImpl::RequestHandover(grpc::ServerContext* ctx, const v1::HandoverRequest* req,
                                               v1::HandoverResponse*) {
  return authz_.Run(ctx, "BoothService.RequestHandover", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->RequestHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::AcceptHandover(grpc::ServerContext* ctx, const v1::HandoverRequest* req,
                                              v1::HandoverResponse*) {
  return authz_.Run(ctx, "BoothService.AcceptHandover", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->AcceptHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::DeclineHandover(grpc::ServerContext* ctx, const v1::HandoverRequest* req,
                                               v1::HandoverResponse*) {
  return authz_.Run(ctx, "BoothService.DeclineHandover", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = BindDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->DeclineHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::SendMessage(grpc::ServerContext* ctx, const v1::SendMessageRequest* req,
                                           v1::SendMessageResponse*) {
  return authz_.Run(ctx, "BoothService.SendMessage", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindSender(who, *s, req->message().from()); !b.ok()) return b;
    auto kind = FromProto(req->message().kind(), "message.kind");
    if (!kind.ok()) return ToGrpc(kind.status());
    domain::Message m;
    m.kind = kind.value();
    m.from = req->message().from();
    m.to = req->message().to();
    m.text = req->message().text();
    return ToGrpc(s->SendMessage(m));
  });
}

grpc::Status BoothServiceImpl::ConfigureBooth(grpc::ServerContext* ctx, const v1::ConfigureBoothRequest* req,
                                              v1::Booth* resp) {
  return authz_.Run(ctx, "BoothService.ConfigureBooth", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      domain::BoothConfig cfg;
                      if (!req->retour_b().empty()) cfg.b = req->retour_b();
                      if (!req->retour_c().empty()) cfg.c = req->retour_c();
                      cfg.takes.assign(req->takes().begin(), req->takes().end());
                      auto r = s->ConfigureBooth(req->booth(), cfg);
                      if (!r.ok()) return ToGrpc(r.status());
                      ToProto(r.value(), resp);
                      return grpc::Status::OK;
                    });
}

grpc::Status BoothServiceImpl::GetBooth(grpc::ServerContext* ctx, const v1::GetBoothRequest* req, v1::Booth* resp) {
  return authz_.Run(ctx, "BoothService.GetBooth", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindBooth(who, *s, req->booth()); !b.ok()) return b;
    auto r = s->Booth(req->booth());
    if (!r.ok()) return ToGrpc(r.status());
    ToProto(r.value(), resp);
    return grpc::Status::OK;
  });
}

grpc::Status BoothServiceImpl::SetInterlockMode(grpc::ServerContext* ctx, const v1::SetInterlockModeRequest* req,
                                                v1::Session* resp) {
  return authz_.Run(ctx, "BoothService.SetInterlockMode", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      auto mode = FromProto(req->mode(), "mode");
                      if (!mode.ok()) return ToGrpc(mode.status());
                      if (Status st = s->SetInterlockMode(mode.value()); !st.ok()) return ToGrpc(st);
                      ToProto(s->View(), resp);
                      return grpc::Status::OK;
                    });
}

grpc::Status BoothServiceImpl::SetBroadcastState(grpc::ServerContext* ctx, const v1::SetBroadcastStateRequest* req,
                                                 v1::Session* resp) {
  return authz_.Run(ctx, "BoothService.SetBroadcastState", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (Status st = s->SetBroadcastState(req->on_air(), req->recorded()); !st.ok()) return ToGrpc(st);
                      ToProto(s->View(), resp);
                      return grpc::Status::OK;
                    });
}

namespace {
int64_t UnixMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A console's view of its booth: the whole booth state on every change (a state still waiting
// for a slow console is replaced by the newer one), messages to the booth and handovers.
class BoothStream : public EventStream<v1::BoothEvent> {
 public:
  BoothStream(std::shared_ptr<domain::Session> s, std::string booth)
      : session_(std::move(s)), booth_(std::move(booth)) {}
  static grpc::ServerWriteReactor<v1::BoothEvent>* Open(EventHub& hub, const std::shared_ptr<domain::Session>& s,
                                                        const std::string& booth) {
    auto self = std::make_shared<BoothStream>(s, booth);
    auto* reactor = Start(self);
    self->subscription_ = hub.Watch(s->id(), self);
    self->SendState();
    return reactor;
  }
  void OnEvent(const domain::SessionEvent& ev) override {
    v1::BoothEvent out;
    out.set_unix_time_ms(UnixMs(ev.time));
    if (auto* b = std::get_if<domain::BoothChanged>(&ev.what)) {
      if (b->booth == booth_) SendState();
    } else if (auto* m = std::get_if<domain::MessageSent>(&ev.what)) {
      if (m->message.to != "booth:" + booth_) return;
      ToProto(m->message, out.mutable_message());
      Send(std::move(out));
    } else if (auto* h = std::get_if<domain::HandoverChanged>(&ev.what)) {
      ToProto(*h, out.mutable_handover());
      Send(std::move(out));
    } else if (std::holds_alternative<domain::SessionEnded>(ev.what)) {
      Close(grpc::Status::OK);
    }
  }

 private:
  // The booth's state when it differs from what this console was last given.
  // Read and queued under one lock, so two changes delivered at once never queue the older last.
  void SendState() {
    std::lock_guard lock(mu_);
    auto now = session_->Booth(booth_);
    if (!now.ok()) return;
    v1::BoothEvent ev;
    ToProto(now.value(), ev.mutable_state());
    std::string bytes = ev.state().SerializeAsString();
    if (bytes == last_state_) return;
    last_state_ = std::move(bytes);
    ev.set_unix_time_ms(UnixMs(std::chrono::system_clock::now()));
    Send(std::move(ev), /*replace_last=*/true);
  }
  void OnFinished() override { subscription_.Cancel(); }

  const std::shared_ptr<domain::Session> session_;
  const std::string booth_;
  EventHub::Subscription subscription_;
  std::mutex mu_;
  std::string last_state_;
};
}  // namespace

grpc::ServerWriteReactor<v1::BoothEvent>* BoothServiceImpl::WatchBooth(grpc::CallbackServerContext* ctx,
                                                                       const v1::WatchBoothRequest* req) {
  auto who = authz_.Admit(ctx, "BoothService.WatchBooth", req->session_id());
  if (!who.ok()) return Refused<v1::BoothEvent>(ToGrpc(who.status()));
  grpc::Status find_status;
  auto s = FindSession(registry_, req->session_id(), &find_status);
  if (!s) return Refused<v1::BoothEvent>(find_status);
  if (auto b = BindBooth(who.value(), *s, req->booth()); !b.ok()) return Refused<v1::BoothEvent>(b);
  auto first = s->Booth(req->booth());
  if (!first.ok()) return Refused<v1::BoothEvent>(ToGrpc(first.status()));
  return BoothStream::Open(events_, s, first->language);
}

}  // namespace tilmash::grpcapi
