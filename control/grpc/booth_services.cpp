// BoothService adapters beyond join/mic/cough: output/input selection, handover, messages,
// booth configuration, interlock mode, broadcast state and the WatchBooth stream.
#include "domain/sdp.h"
#include "grpc/bindings.h"
#include "grpc/convert.h"
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
    if (auto b = CheckDesk(who, *s, req->console_id()); !b.ok()) return b;
    auto slot = FromProto(req->slot(), "slot");
    if (!slot.ok()) return ToGrpc(slot.status());
    return Reply(s->SelectOutput(req->console_id(), slot.value()), resp);
  });
}

grpc::Status BoothServiceImpl::SelectInput(grpc::ServerContext* ctx, const v1::SelectInputRequest* req,
                                           v1::Console* resp) {
  return authz_.Run(ctx, "BoothService.SelectInput", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckDesk(who, *s, req->console_id()); !b.ok()) return b;
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
                      if (auto b = CheckDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->RequestHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::AcceptHandover(grpc::ServerContext* ctx, const v1::HandoverRequest* req,
                                              v1::HandoverResponse*) {
  return authz_.Run(ctx, "BoothService.AcceptHandover", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = CheckDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->AcceptHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::DeclineHandover(grpc::ServerContext* ctx, const v1::HandoverRequest* req,
                                               v1::HandoverResponse*) {
  return authz_.Run(ctx, "BoothService.DeclineHandover", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = CheckDesk(who, *s, req->console_id()); !b.ok()) return b;
                      return ToGrpc(s->DeclineHandover(req->console_id()));
                    });
}

grpc::Status BoothServiceImpl::SendMessage(grpc::ServerContext* ctx, const v1::SendMessageRequest* req,
                                           v1::SendMessageResponse*) {
  return authz_.Run(ctx, "BoothService.SendMessage", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckSender(who, *s, req->message().from()); !b.ok()) return b;
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
    if (auto b = CheckBooth(who, *s, req->booth()); !b.ok()) return b;
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

grpc::Status BoothServiceImpl::WatchBooth(grpc::ServerContext* ctx, const v1::WatchBoothRequest* req,
                                          grpc::ServerWriter<v1::BoothEvent>* writer) {
  return authz_.Run(ctx, "BoothService.WatchBooth", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckBooth(who, *s, req->booth()); !b.ok()) return b;
    auto first = s->Booth(req->booth());
    if (!first.ok()) return ToGrpc(first.status());
    const std::string booth = first->language;
    auto w = events_.Watch(req->session_id());
    std::string last_sent;
    // Sends the booth's state when it differs from what this console saw last.
    auto send_state = [&]() -> bool {
      auto now = s->Booth(booth);
      if (!now.ok()) return false;
      v1::BoothEvent ev;
      ToProto(now.value(), ev.mutable_state());
      std::string bytes = ev.state().SerializeAsString();
      if (bytes == last_sent) return true;
      last_sent = std::move(bytes);
      ev.set_unix_time_ms(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count());
      return writer->Write(ev);
    };
    bool open = send_state();
    while (open && !ctx->IsCancelled()) {
      std::deque<domain::SessionEvent> batch;
      {
        std::unique_lock lock(w->mu);
        w->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return w->closed || !w->queue.empty(); });
        if (w->closed) break;
        batch.swap(w->queue);
      }
      bool state_changed = false;
      for (const auto& ev : batch) {
        v1::BoothEvent out;
        out.set_unix_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(ev.time.time_since_epoch()).count());
        if (auto* b = std::get_if<domain::BoothChanged>(&ev.what)) {
          state_changed = state_changed || b->booth == booth;
        } else if (auto* m = std::get_if<domain::MessageSent>(&ev.what)) {
          if (m->message.to != "booth:" + booth) continue;
          ToProto(m->message, out.mutable_message());
          open = open && writer->Write(out);
        } else if (auto* h = std::get_if<domain::HandoverChanged>(&ev.what)) {
          ToProto(*h, out.mutable_handover());
          open = open && writer->Write(out);
        } else if (std::holds_alternative<domain::SessionEnded>(ev.what)) {
          open = false;
        }
      }
      if (state_changed && open) open = send_state();
    }
    events_.Unwatch(w);
    return grpc::Status::OK;
  });
}

}  // namespace tilmash::grpcapi
