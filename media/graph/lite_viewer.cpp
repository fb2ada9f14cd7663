#include "graph/lite_viewer.h"

#include <arpa/inet.h>

#include <mutex>

#include "log/log.h"
#include "sdp/whep_sdp.h"

namespace tilmash::graph {

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("whep");
  return l;
}

// What the server's thread (connected) and the domain's (the stream's end) share.
struct LiteViewerState {
  std::mutex mu;
  bool ended = false;
  std::unique_ptr<domain::ListenerStream> stream;  // once connected
};

class LiteViewerStream : public domain::ViewerStream {
 public:
  LiteViewerStream(webrtc::WebrtcServer& server, std::string id, std::shared_ptr<webrtc::WebrtcPeer> peer,
                   std::shared_ptr<LiteViewerState> state)
      : server_(server), id_(std::move(id)), peer_(std::move(peer)), state_(std::move(state)) {}
  ~LiteViewerStream() override {
    server_.Forget(peer_);  // no `connected` runs after this
    std::unique_ptr<domain::ListenerStream> stream;
    {
      std::lock_guard lock(state_->mu);
      state_->ended = true;
      stream = std::move(state_->stream);
    }
    const webrtc::PeerReport r = peer_->report();
    Log()->info("viewer {} ended{}{}; {} receiver reports, last: {:.1f} % lost, jitter {:.1f} ms", id_,
                peer_->over() ? ": " : "", peer_->over() ? peer_->why_over() : "", r.receiver_reports,
                r.fraction_lost * 100, r.jitter_samples / 48.0);
    stream.reset();  // its fan-out listener stops here
  }
  bool over() const override { return peer_->over(); }

 private:
  webrtc::WebrtcServer& server_;
  const std::string id_;
  const std::shared_ptr<webrtc::WebrtcPeer> peer_;
  const std::shared_ptr<LiteViewerState> state_;
};

}  // namespace

domain::Result<std::unique_ptr<domain::ViewerStream>> AddLiteViewer(
    webrtc::WebrtcServer& server, fanout::FanoutEngine& fanout, const std::string& id, const std::string& channel,
    const std::string& offer_sdp, const domain::AnswerCallback& done, RouteViewer route) {
  auto parsed = sdp::ParseWhepOffer(offer_sdp);
  if (!parsed.ok()) return parsed.status();
  const sdp::WhepOffer offer = parsed.value();
  if (offer.setup == "passive" || offer.setup == "holdconn")
    return domain::InvalidArgument("a=setup:" + offer.setup +
                                   ": the viewer must take the DTLS client role (a=setup:actpass or active)");
  webrtc::PeerOffer po{offer.ice_ufrag, offer.ice_pwd, offer.fingerprint_hash, offer.fingerprint};
  uint32_t ssrc = 0;
  while (ssrc == 0) ssrc = rtp::RandomU32();
  auto state = std::make_shared<LiteViewerState>();
  const int socket = server.socket();
  const int pt = offer.opus_payload_type;
  auto peer = server.Admit(po, [state, &fanout, socket, pt, ssrc, id, route = std::move(route)](
                                   const sockaddr_in& to, const webrtc::SrtpKeys& keys) {
    fanout::ListenerSpec spec;
    spec.destination = to;
    spec.ssrc = ssrc;
    spec.suite = keys.suite;
    spec.master_key = keys.local;
    spec.socket = socket;
    spec.payload_type = pt;
    std::string error;
    auto listener = fanout.AddListener(spec, &error);
    if (!listener) {
      Log()->error("viewer {}: cannot start its stream: {}", id, error);
      return;
    }
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &to.sin_addr, ip, sizeof ip);
    Log()->info("viewer {} connected from {}:{} ({})", id, ip, ntohs(to.sin_port), rtp::SuiteName(keys.suite));
    auto stream = route(std::move(listener));
    std::lock_guard lock(state->mu);
    if (!state->ended) state->stream = std::move(stream);
  });
  sdp::LiteAnswer la;
  la.ice_ufrag = peer->ufrag();
  la.ice_pwd = peer->pwd();
  la.fingerprint = server.fingerprint();
  la.ip = server.candidate_ip();
  la.port = server.port();
  la.ssrc = ssrc;
  la.stream = channel;
  const std::string answer = sdp::BuildLiteAnswer(offer, la);
  auto stream = std::make_unique<LiteViewerStream>(server, id, std::move(peer), std::move(state));
  if (domain::Status s = sdp::CheckWhepAnswer(offer, answer); !s.ok()) return s;
  done(true, answer);
  return std::unique_ptr<domain::ViewerStream>(std::move(stream));
}

}  // namespace tilmash::graph
