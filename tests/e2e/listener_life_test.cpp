// Listener lifecycle through the real daemon, with real SRTP and Opus: keys rotate with no
// audible seam, a silent listener is reaped at its lease, a closed port ends its listener
// early, and a venue multicast group is re-keyed when a member's token is revoked, without a
// gap for the others and with silence for the one revoked.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

constexpr const char* kGroup = "239.255.91.1";

class ListenerLifeTest : public E2eTest {
 protected:
  ListenerLifeTest()
      : E2eTest({"--key-rotation-s", "1", "--key-lead-ms", "500", "--listener-lease-ms", "1500", "--multicast-group",
                 kGroup, "--multicast-port", "47320"}) {}

  // Session events until `done` says stop or the deadline passes.
  std::vector<v1::SessionEvent> Watch(const std::string& session,
                                      const std::function<bool(const v1::SessionEvent&)>& done,
                                      std::chrono::milliseconds deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::WatchSessionRequest req;
    req.set_session_id(session);
    auto reader = daemon_.sessions().WatchSession(&ctx, req);
    std::vector<v1::SessionEvent> out;
    v1::SessionEvent e;
    while (reader->Read(&e)) {
      out.push_back(e);
      if (done(e)) {
        ctx.TryCancel();
        break;
      }
    }
    reader->Finish();
    return out;
  }

  // The lowest 10 ms level of `hz` over the samples [from, to): a gap or a burst of noise shows here.
  static double WorstFrameDb(const ListenerClient& l, std::size_t from, std::size_t to, double hz) {
    double worst = 0;
    for (std::size_t i = from; i + 480 <= to; i += 480)
      worst = std::min(worst, audio::ToneLevelDb(l.Samples(i, 480), hz));
    return worst;
  }
};

TEST_F(ListenerLifeTest, KeysRotateWithNoSeamAtTheListener) {
  auto session = CreateSession({"ru"}, 523);
  auto l = Listen(session.id(), "ru");
  ASSERT_TRUE(l);
  const std::size_t start = l->SampleCount();
  // 1 s period, 0.5 s lead: three key changes take a little over 3.5 s.
  ASSERT_TRUE(l->WaitForStats([](const auto& s) { return s.key_changes >= 3; }, 8s))
      << "key changes " << l->stats().key_changes << ", KeyUpdates " << l->key_updates() << ", auth failures "
      << l->stats().auth_failures;
  ASSERT_TRUE(l->WaitForSamples(l->SampleCount() + 4800, 2s));
  const auto s = l->stats();
  std::cout << "[ measured ] " << s.key_changes << " key changes in " << s.packets << " packets: lost " << s.lost
            << ", auth failures " << s.auth_failures << ", worst 10 ms frame "
            << WorstFrameDb(*l, start + 4800, l->SampleCount(), 523) << " dBFS\n";
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.auth_failures, 0u) << "every packet decrypts with the key announced for it";
  EXPECT_GT(WorstFrameDb(*l, start + 4800, l->SampleCount(), 523), -26) << "no 10 ms frame without the tone";
}

TEST_F(ListenerLifeTest, ASilentListenerIsReapedAtItsLeaseAndAKeptOneStays) {
  auto session = CreateSession({"ru"}, 440);
  ListenerClient::Options o;
  o.grpc_channel = daemon_.channel();
  o.session_id = session.id();
  o.channel = "ru";
  o.watch_keys = false;  // never renews its lease
  std::string error;
  // Before the Subscribe: the lease starts when the server has it, never earlier.
  const auto subscribed = std::chrono::steady_clock::now();
  auto silent = ListenerClient::Start(o, &error);
  ASSERT_TRUE(silent) << error;
  auto kept = Listen(session.id(), "ru");
  ASSERT_TRUE(kept);
  auto events = Watch(
      session.id(), [&](const v1::SessionEvent& e) { return e.has_listener_ended(); }, 5s);
  const double ended_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - subscribed).count();
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_listener_ended());
  EXPECT_EQ(events.back().listener_ended().listener_id(), silent->listener_id());
  EXPECT_EQ(events.back().listener_ended().reason(), "lease expired");
  std::cout << "[ measured ] silent listener ended " << ended_ms << " ms after Subscribe (lease 1500 ms)\n";
  EXPECT_GE(ended_ms, 1500);
  EXPECT_LT(ended_ms, 2500);
  // The listener that holds WatchKeys open keeps its stream well past the lease.
  std::this_thread::sleep_for(1500ms);
  const uint64_t before = kept->stats().packets;
  EXPECT_TRUE(kept->WaitForStats([&](const auto& s) { return s.packets >= before + 50; }, 2s));
  EXPECT_TRUE(kept->ended_reason().empty()) << kept->ended_reason();
  // A late KeepAlive for the reaped listener is told why it ended, not a bare NOT_FOUND.
  grpc::ClientContext ctx;
  v1::KeepAliveRequest ka;
  ka.set_session_id(session.id());
  ka.set_listener_id(silent->listener_id());
  v1::KeepAliveResponse kar;
  const auto st = daemon_.listeners().KeepAlive(&ctx, ka, &kar);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("(lease expired)"), std::string::npos) << st.error_message();
  silent->Stop(false);
}

TEST_F(ListenerLifeTest, AClosedPortEndsItsListenerLongBeforeTheLease) {
  auto session = CreateSession({"ru"}, 440);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // nobody listens there now: every packet gets ICMP port unreachable
  grpc::ClientContext ctx;
  v1::SubscribeRequest req;
  req.set_session_id(session.id());
  req.set_channel("ru");
  req.mutable_endpoint()->set_host("127.0.0.1");
  req.mutable_endpoint()->set_port(ntohs(a.sin_port));
  v1::SubscribeResponse sub;
  ASSERT_TRUE(daemon_.listeners().Subscribe(&ctx, req, &sub).ok());
  const auto subscribed = std::chrono::steady_clock::now();
  // Keep the lease alive, so only the ICMP errors can end it.
  std::atomic<bool> stop{false};
  std::thread keep([&] {
    while (!stop) {
      grpc::ClientContext c;
      v1::KeepAliveRequest k;
      k.set_session_id(session.id());
      k.set_listener_id(sub.listener_id());
      v1::KeepAliveResponse r;
      daemon_.listeners().KeepAlive(&c, k, &r);
      std::this_thread::sleep_for(200ms);
    }
  });
  auto events = Watch(
      session.id(), [&](const v1::SessionEvent& e) { return e.has_listener_ended(); }, 6s);
  stop = true;
  keep.join();
  const double ended_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - subscribed).count();
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().has_listener_ended());
  EXPECT_EQ(events.back().listener_ended().reason(), "port unreachable");
  std::cout << "[ measured ] listener on a closed port ended " << ended_ms << " ms after Subscribe (grace 2000 ms)\n";
  EXPECT_LT(ended_ms, 3500);
}

TEST_F(ListenerLifeTest, RevokingAMulticastMemberReKeysTheGroupWithoutAGapForTheOthers) {
  auto session = CreateSession({"kk"}, 660);
  std::vector<v1::MintTokenResponse> tokens;
  std::vector<std::unique_ptr<ListenerClient>> members;
  for (int i = 0; i < 3; ++i) {
    tokens.push_back(Mint(v1::DELEGATE, session.id()));
    ListenerClient::Options o;
    o.grpc_channel = daemon_.ChannelWith(tokens.back().token());
    o.session_id = session.id();
    o.channel = "kk";
    o.multicast = true;
    std::string error;
    members.push_back(ListenerClient::Start(o, &error));
    ASSERT_TRUE(members.back()) << error;
    EXPECT_EQ(members.back()->subscription().group().host(), kGroup);
    EXPECT_EQ(members.back()->subscription().ssrc(), members[0]->subscription().ssrc()) << "one stream per group";
  }
  for (auto& m : members) EXPECT_GT(NextLevels(*m, {660})[0], -26);
  // Key rotation by period happens too; count from here.
  const uint32_t before_b = members[1]->stats().key_id;
  const std::size_t from_b = members[1]->SampleCount();
  grpc::ClientContext ctx;
  v1::RevokeTokenRequest req;
  req.set_token_id(tokens[0].token_id());
  v1::RevokeTokenResponse r;
  ASSERT_TRUE(daemon_.tokens().RevokeToken(&ctx, req, &r).ok());
  const auto revoked = std::chrono::steady_clock::now();
  EXPECT_EQ(r.streams_stopped(), 1u);
  // The others move to the new key (it takes over 500 ms after the revocation).
  for (int i = 1; i < 3; ++i)
    EXPECT_TRUE(members[i]->WaitForStats([&](const auto& s) { return s.key_id > before_b; }, 3s)) << "member " << i;
  ASSERT_TRUE(members[1]->WaitForSamples(members[1]->SampleCount() + 9600, 3s));
  // The revoked member still receives the group's packets but can decrypt none after the switch.
  auto arrivals = members[0]->Arrivals();
  ASSERT_FALSE(arrivals.empty());
  const double last_ms = std::chrono::duration<double, std::milli>(arrivals.back().arrival - revoked).count();
  const auto revoked_stats = members[0]->stats();
  for (int i = 1; i < 3; ++i) {
    const auto s = members[i]->stats();
    EXPECT_EQ(s.lost, 0u) << "member " << i;
    EXPECT_EQ(s.auth_failures, 0u) << "member " << i;
  }
  const double worst = WorstFrameDb(*members[1], from_b, members[1]->SampleCount(), 660);
  std::cout << "[ measured ] revoked member's last decrypted packet " << last_ms << " ms after RevokeToken; it then"
            << " failed authentication " << revoked_stats.auth_failures << " times; the others: worst 10 ms frame "
            << worst << " dBFS, 0 lost\n";
  EXPECT_LT(last_ms, 1000.0) << "revocation silences a multicast member within 1 s";
  EXPECT_GT(revoked_stats.auth_failures, 10u) << "it still gets the packets, and cannot read them";
  EXPECT_GT(worst, -26) << "no gap for the members who stay";
  members[0]->Stop(false);
}

}  // namespace
}  // namespace tilmash::testing
