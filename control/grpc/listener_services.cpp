// ListenerService: thin adapters over the session's listener rules (CONVENTIONS habit 6).
#include "domain/sdp.h"
#include "grpc/bindings.h"
#include "grpc/convert.h"
#include "grpc/event_stream.h"
#include "grpc/services.h"

namespace tilmash::grpcapi {

namespace {
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
    if (auto b = BindChannel(who, req->channel()); !b.ok()) return b;
    if (auto open = registry_.AdmitStream(); !open.ok()) return ToGrpc(open);
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
        req->channel(), {},          suite.value(), who.id, auth::UnlimitedStreams(who.role) ? 0u : who.max_streams,
        transport,      std::nullopt};
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
    resp->set_frame_us(l.send.frame_us);
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
                      if (auto b = BindOwner(who, *s, req->listener_id()); !b.ok()) return b;
                      if (auto b = BindChannel(who, req->channel()); !b.ok()) return b;
                      return ToGrpc(s->SwitchChannel(req->listener_id(), req->channel()));
                    });
}

grpc::Status ListenerServiceImpl::Unsubscribe(grpc::ServerContext* ctx, const v1::UnsubscribeRequest* req,
                                              v1::UnsubscribeResponse*) {
  return authz_.Run(ctx, "ListenerService.Unsubscribe", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      if (auto b = BindOwner(who, *s, req->listener_id()); !b.ok()) return b;
                      return ToGrpc(s->Unsubscribe(req->listener_id()));
                    });
}

grpc::Status ListenerServiceImpl::KeepAlive(grpc::ServerContext* ctx, const v1::KeepAliveRequest* req,
                                            v1::KeepAliveResponse* resp) {
  return authz_.Run(ctx, "ListenerService.KeepAlive", req->session_id(), [&](const auth::Claims& who) -> grpc::Status {
    TILMASH_FIND_SESSION(s, req->session_id());
    if (auto b = BindOwner(who, *s, req->listener_id()); !b.ok()) return b;
    std::optional<std::pair<std::string, uint32_t>> relay;
    if (req->has_relayed_listeners()) relay.emplace(who.subject, req->relayed_listeners());
    auto l = s->KeepAlive(req->listener_id(), std::move(relay));
    if (!l.ok()) return ToGrpc(l.status());
    resp->set_lease_ms(uint32_t(l->lease.count()));
    return grpc::Status::OK;
  });
}

namespace {
// One listener's keys: the newest on open, each rotation as it is announced. While it is open
// the listener's lease holds (the domain counts open key streams); it ends with the listener.
class KeyStream : public EventStream<v1::KeyUpdate> {
 public:
  KeyStream(std::shared_ptr<domain::Session> session, domain::ListenerId listener)
      : session_(std::move(session)), listener_(std::move(listener)) {}
  static grpc::ServerWriteReactor<v1::KeyUpdate>* Open(EventHub& hub, const std::shared_ptr<domain::Session>& session,
                                                       const domain::ListenerId& listener) {
    auto self = std::make_shared<KeyStream>(session, listener);
    // Watch first, then read the current key: a rotation in between is sent twice, never missed.
    self->subscription_ = hub.WatchKeys(session->id(), listener, self);
    auto current = session->OpenKeyStream(listener);
    if (!current.ok()) {
      self->subscription_.Cancel();
      return Refused<v1::KeyUpdate>(ToGrpc(current.status()));
    }
    self->lease_held_ = true;
    v1::KeyUpdate first;
    KeyToProto(current.value(), &first);
    auto* reactor = Start(self);
    self->Send(std::move(first));
    return reactor;
  }
  void OnEvent(const domain::SessionEvent& ev) override {
    if (const auto* k = std::get_if<domain::KeyChanged>(&ev.what)) {
      v1::KeyUpdate out;
      KeyToProto(*k, &out);
      Send(std::move(out));
    } else if (const auto* e = std::get_if<domain::ListenerEnded>(&ev.what)) {
      Close(grpc::Status(grpc::StatusCode::NOT_FOUND, "listener_id: the listener ended (" + e->reason + ")"));
    } else if (std::holds_alternative<domain::SessionEnded>(ev.what)) {
      Close(grpc::Status(grpc::StatusCode::NOT_FOUND, "listener_id: the listener ended (session ended)"));
    }
  }

 private:
  void OnFinished() override {
    subscription_.Cancel();
    if (lease_held_) session_->CloseKeyStream(listener_);
  }
  const std::shared_ptr<domain::Session> session_;
  const domain::ListenerId listener_;
  EventHub::Subscription subscription_;
  bool lease_held_ = false;
};
}  // namespace

grpc::ServerWriteReactor<v1::KeyUpdate>* ListenerServiceImpl::WatchKeys(grpc::CallbackServerContext* ctx,
                                                                        const v1::WatchKeysRequest* req) {
  auto who = authz_.Admit(ctx, "ListenerService.WatchKeys", req->session_id());
  if (!who.ok()) return Refused<v1::KeyUpdate>(ToGrpc(who.status()));
  grpc::Status find_status;
  auto s = FindSession(registry_, req->session_id(), &find_status);
  if (!s) return Refused<v1::KeyUpdate>(find_status);
  if (auto b = BindOwner(who.value(), *s, req->listener_id()); !b.ok()) return Refused<v1::KeyUpdate>(b);
  return KeyStream::Open(events_, s, req->listener_id());
}

}  // namespace tilmash::grpcapi
