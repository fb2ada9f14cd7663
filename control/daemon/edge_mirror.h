// An edge node (tilmashd --edge-of ORIGIN): mirrors sessions of an origin through the origin's
// public gRPC API, with its own token (role edge). For every mirrored session it creates a
// session of the same id, name and channels here (Session.mirror_of says where from), and
// subscribes to each of the origin's channels once, as one listener of the origin; the packets
// are decrypted once (graph::MirrorReceiver) and fanned out to this node's own listeners with
// their own keys, without decoding or re-encoding. Subscribe, SwitchChannel, leases, key
// rotation and revocation are this node's, as on any node. A balance a listener here asks for
// is the origin's mix of it: subscribed once per channel and balance, while listeners use it.
//
// Every second the edge reads the origin's sessions: new ones (of edge_sessions, or all) are
// mirrored, ended ones end here, channels added or removed follow. A channel whose subscription
// the origin forgot (a restart without its state, a lease) is subscribed again by itself; while
// the origin is unreachable the edge's listeners keep their streams and hear a gap.
#pragma once
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/token.h"
#include "client/credentials.h"
#include "domain/session_registry.h"
#include "fanout/port_range.h"
#include "graph/mirror_session.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace tilmash::daemon {

struct EdgeOptions {
  std::string origin;                 // the origin's gRPC HOST:PORT
  client::Credentials credentials;    // the edge's token, the origin's CA (or plaintext on loopback)
  std::vector<std::string> sessions;  // the session ids to mirror; empty: every session of the origin
  std::string media_host;             // where the origin sends the channels (this node's media address)
  std::shared_ptr<fanout::PortAllocator> ports;
};

class EdgeMirror {
 public:
  // `tokens`: this node's; what the origin revoked is revoked here too (every sync).
  EdgeMirror(EdgeOptions options, domain::SessionRegistry& registry, std::shared_ptr<graph::MirrorDirectory> mirrors,
             auth::TokenAuthority& tokens);
  // Stops mirroring: the origin's subscriptions are ended (best effort); the sessions stay in
  // the registry (and the state store) for the next start.
  ~EdgeMirror();
  EdgeMirror(const EdgeMirror&) = delete;
  EdgeMirror& operator=(const EdgeMirror&) = delete;

  // Follows the origin from now on; the sessions the MirrorDirectory already has (restored from
  // the state store before this) are followed as this mirror's own.
  void Start();

 private:
  class ChannelMirror;
  class BalanceFeed;
  struct Retired;
  struct MirroredSession {
    std::map<std::string, std::unique_ptr<ChannelMirror>> channels;
  };
  void Run();   // the sync thread
  void Sync();  // one look at the origin's sessions
  void Mirror(const std::string& id, const std::string& name, const std::string& floor_language,
              const std::vector<std::string>& languages, double frame_ms);
  void Follow(const std::string& id, const std::vector<std::string>& channels);
  void Forget(const std::string& id, const std::string& why);
  void ReportAudiences();    // each channel's audience here, to the origin
  void FollowRevocations();  // the origin's revoked tokens, revoked here and their streams stopped
  // The MirrorDirectory's balance source: a subscription to the origin's mix into `slot`.
  std::unique_ptr<graph::MirrorFeed> StartBalance(const std::string& session, const std::string& channel,
                                                  uint32_t percent, std::shared_ptr<graph::MirrorSlot> slot,
                                                  std::string* error);
  void EndRetired();  // the balances no listener uses any more

  const EdgeOptions options_;
  domain::SessionRegistry& registry_;
  const std::shared_ptr<graph::MirrorDirectory> mirrors_;
  auth::TokenAuthority& tokens_;
  std::shared_ptr<grpc::Channel> channel_;
  std::mutex mu_;  // guards sessions_ (the sync thread's; the destructor reads it)
  std::map<std::string, MirroredSession> sessions_;
  const std::shared_ptr<Retired> retired_;
  bool origin_down_logged_ = false;  // the sync thread's
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tilmash::daemon
