// ListenerService: thin adapters over the session's listener rules (CONVENTIONS habit 6).
#include "domain/sdp.h"
#include "grpc/bindings.h"
#include "grpc/convert.h"
#include "grpc/services.h"

namespace tilmash::grpcapi {

namespace {
// How often an open WatchKeys stream renews its listener's lease.
constexpr auto kStreamKeepAlive = std::chrono::seconds(1);

void KeyToProto(const domain::KeyChanged& k, v1::KeyUpdate* out) {
  out->set_listener_id(k.listener);
  out->set_key_id(k.key_id);
  out->mutable_srtp()->set_suite(ToProto(k.srtp.suite));
  out->mutable_srtp()->set_master_key(k.srtp.master_key.data(), k.srtp.master_key.size());
  out->mutable_srtp()->set_roc(k.srtp.roc);
  out->set_ssrc(k.ssrc);
  out->set_takes_over_in_ms(uint32_t(k.takes_over_in.count()));
  out->set_reason(k.reason);
}
}  // namespace

grpc::Status ListenerServiceImpl::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                            v1::SubscribeResponse* resp) {
  return authz_.Run(ctx, "ListenerService.Subscribe", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckChannel(who, req->channel()); !b.ok()) return b;
    if (!IsStaff(who.role) && !authz_.subscribe_limit().Allow(who.id))
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "Subscribe rate exceeded for this token");
    auto suite = FromProto(req->suite(), "suite");
    if (!suite.ok()) return ToGrpc(suite.status());
    domain::Transport transport;
    switch (req->transport()) {
      case v1::TRANSPORT_UNSPECIFIED:
      case v1::UNICAST:
        transport = domain::Transport::kUnicast;
        break;
      case v1::MULTICAST:
        transport = domain::Transport::kMulticast;
        break;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "transport: unknown value");
    }
    domain::ListenerRequest lr{
        req->channel(), {}, suite.value(), who.id, IsStaff(who.role) ? 0u : who.max_streams, transport, std::nullopt};
    if (transport == domain::Transport::kUnicast) {
      if (!req->has_endpoint()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "endpoint is not set");
      if (req->endpoint().port() > 65535)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "endpoint.port must be between 1 and 65535");
      lr.endpoint = {req->endpoint().host(), uint16_t(req->endpoint().port())};
    }
    if (req->has_interpretation_percent()) lr.interpretation_percent = req->interpretation_percent();
    auto r = s->Subscribe(lr);
    if (!r.ok()) return ToGrpc(r.status());
    const domain::ListenerView& l = r.value();
    resp->set_listener_id(l.id);
    resp->set_ssrc(l.ssrc);
    resp->set_payload_type(l.send.payload_type);
    resp->set_clock_rate(l.send.clock_rate);
    resp->set_frame_ms(l.send.frame_ms);
    resp->mutable_srtp()->set_suite(ToProto(l.srtp.suite));
    resp->mutable_srtp()->set_master_key(l.srtp.master_key.data(), l.srtp.master_key.size());
    resp->mutable_srtp()->set_roc(l.srtp.roc);
    resp->mutable_source()->set_host(l.send.source.host);
    resp->mutable_source()->set_port(l.send.source.port);
    resp->set_sdp(domain::ListenerSdp(s->View().name, l));
    resp->set_transport(transport == domain::Transport::kMulticast ? v1::MULTICAST : v1::UNICAST);
    if (transport == domain::Transport::kMulticast) {
      resp->mutable_group()->set_host(l.endpoint.host);
      resp->mutable_group()->set_port(l.endpoint.port);
    }
    resp->set_key_id(l.key_id);
    resp->set_lease_ms(uint32_t(l.lease.count()));
    resp->set_interpretation_percent(l.interpretation_percent);
    return grpc::Status::OK;
  });
}

grpc::Status ListenerServiceImpl::SwitchChannel(grpc::ServerContext* ctx, const v1::SwitchChannelRequest* req,
                                                v1::SwitchChannelResponse*) {
  return authz_.Run(ctx, "ListenerService.SwitchChannel", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = CheckOwner(who, *s, req->listener_id()); !b.ok()) return b;
                      if (auto b = CheckChannel(who, req->channel()); !b.ok()) return b;
                      return ToGrpc(s->SwitchChannel(req->listener_id(), req->channel()));
                    });
}

grpc::Status ListenerServiceImpl::Unsubscribe(grpc::ServerContext* ctx, const v1::UnsubscribeRequest* req,
                                              v1::UnsubscribeResponse*) {
  return authz_.Run(ctx, "ListenerService.Unsubscribe", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = CheckOwner(who, *s, req->listener_id()); !b.ok()) return b;
                      return ToGrpc(s->Unsubscribe(req->listener_id()));
                    });
}

grpc::Status ListenerServiceImpl::KeepAlive(grpc::ServerContext* ctx, const v1::KeepAliveRequest* req,
                                            v1::KeepAliveResponse* resp) {
  return authz_.Run(ctx, "ListenerService.KeepAlive", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckOwner(who, *s, req->listener_id()); !b.ok()) return b;
    auto l = s->KeepAlive(req->listener_id());
    if (!l.ok()) return ToGrpc(l.status());
    resp->set_lease_ms(uint32_t(l->lease.count()));
    return grpc::Status::OK;
  });
}

grpc::Status ListenerServiceImpl::WatchKeys(grpc::ServerContext* ctx, const v1::WatchKeysRequest* req,
                                            grpc::ServerWriter<v1::KeyUpdate>* writer) {
  return authz_.Run(ctx, "ListenerService.WatchKeys", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = CheckOwner(who, *s, req->listener_id()); !b.ok()) return b;
    // Watch first, then read the current key: a rotation in between is sent twice, never missed.
    auto w = events_.Watch(req->session_id(), req->listener_id());
    auto current = s->CurrentKey(req->listener_id());
    if (!current.ok()) {
      events_.Unwatch(w);
      return ToGrpc(current.status());
    }
    v1::KeyUpdate first;
    KeyToProto(current.value(), &first);
    bool open = writer->Write(first);
    std::string ended_because;
    auto renewed = std::chrono::steady_clock::now();
    while (open && !ctx->IsCancelled()) {
      std::deque<domain::SessionEvent> batch;
      {
        std::unique_lock lock(w->mu);
        w->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return w->closed || !w->queue.empty(); });
        if (w->closed) break;
        batch.swap(w->queue);
      }
      for (const auto& ev : batch) {
        if (const auto* k = std::get_if<domain::KeyChanged>(&ev.what)) {
          v1::KeyUpdate out;
          KeyToProto(*k, &out);
          open = open && writer->Write(out);
        } else if (const auto* e = std::get_if<domain::ListenerEnded>(&ev.what)) {
          ended_because = e->reason;
          open = false;
        } else {
          ended_because = "session ended";
          open = false;
        }
      }
      if (open && std::chrono::steady_clock::now() - renewed >= kStreamKeepAlive) {
        renewed = std::chrono::steady_clock::now();
        if (!s->KeepAlive(req->listener_id()).ok()) ended_because = "listener ended";
        open = ended_because.empty();
      }
    }
    events_.Unwatch(w);
    if (!ended_because.empty())
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "listener_id: the listener ended (" + ended_because + ")");
    return grpc::Status::OK;
  });
}

}  // namespace tilmash::grpcapi
