// Listener lifecycle rules: leases, ICMP-unreachable endings, key rotation (period and packet
// limit) and venue multicast groups whose key is replaced whenever a member leaves.
#include <gtest/gtest.h>

#include "domain/session_registry.h"
#include "fakes.h"

namespace tilmash::domain {
namespace {

using namespace std::chrono_literals;
using testing::FakeKeys;
using testing::FakeMedia;
using testing::ManualClock;
using testing::RecordingEvents;

class ListenerTest : public ::testing::Test {
 protected:
  ListenerTest() {
    policy.lease = 30s;
    policy.key_rotation = 60s;
    policy.key_lead = 1500ms;
    policy.multicast_group = "239.255.7.1";
    policy.multicast_port = 5004;
  }
  // Again after a test changed the policy.
  void SetUp() override {
    registry =
        std::make_unique<SessionRegistry>(SessionPorts{&media, &keys, &events, &clock}, kDefaultFloorDuckDb, policy);
    SessionSpec spec;
    spec.name = "Plenary";
    spec.languages = {"en", "ru"};
    auto v = registry->Create(spec);
    ASSERT_TRUE(v.ok()) << v.status().message();
    s = registry->Find(v->id).value();
  }
  ListenerView Join(const std::string& channel, Transport t = Transport::kUnicast, const std::string& owner = "") {
    ListenerRequest r;
    r.channel = channel;
    r.endpoint = {"127.0.0.1", uint16_t(40000 + ++joined)};
    r.transport = t;
    r.owner = owner;
    auto l = s->Subscribe(r);
    EXPECT_TRUE(l.ok()) << l.status().message();
    return l.value();
  }
  std::vector<std::string> EndedWith(const std::string& reason) {
    std::vector<std::string> ids;
    for (const auto& e : events.Of<ListenerEnded>())
      if (e.reason == reason) ids.push_back(e.listener);
    return ids;
  }
  ListenerPolicy policy;
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  ManualClock clock;
  std::unique_ptr<SessionRegistry> registry;
  std::shared_ptr<Session> s;
  int joined = 0;
};

TEST_F(ListenerTest, ASilentListenerIsEndedWhenItsLeaseRunsOut) {
  auto quiet = Join("en"), alive = Join("en");
  EXPECT_EQ(quiet.lease, 30s);
  clock.now += 20s;
  ASSERT_TRUE(s->KeepAlive(alive.id).ok());
  clock.now += 11s;  // quiet: 31 s without a sign; alive: 11 s
  registry->Tick();
  EXPECT_EQ(EndedWith("lease expired"), std::vector<std::string>{quiet.id});
  EXPECT_FALSE(media.listener_channel.count(quiet.id)) << "its stream stops";
  EXPECT_TRUE(media.listener_channel.count(alive.id));
  EXPECT_EQ(s->View().channels[1].listener_count, 1u);
  EXPECT_EQ(s->KeepAlive(quiet.id).status().code(), StatusCode::kNotFound);
}

TEST_F(ListenerTest, AnOpenKeyStreamHoldsTheLeaseAndTheLeaseRunsFromItsEnd) {
  auto l = Join("en");
  ASSERT_TRUE(s->OpenKeyStream(l.id).ok());
  clock.now += 5min;
  registry->Tick();
  EXPECT_TRUE(EndedWith("lease expired").empty()) << "no KeepAlive needed while the stream is open";
  s->CloseKeyStream(l.id);
  clock.now += 29s;
  registry->Tick();
  EXPECT_TRUE(EndedWith("lease expired").empty());
  clock.now += 2s;
  registry->Tick();
  EXPECT_EQ(EndedWith("lease expired"), std::vector<std::string>{l.id});
}

TEST_F(ListenerTest, ACallAboutAListenerTheServerEndedSaysWhy) {
  auto l = Join("en");
  clock.now += 31s;
  registry->Tick();
  clock.now += 12s;
  const Status st = s->KeepAlive(l.id).status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "listener_id: listener " + l.id + " ended 12 s ago (lease expired)");
  EXPECT_NE(s->Unsubscribe(l.id).message().find("lease expired"), std::string::npos);
  EXPECT_EQ(s->KeepAlive("l-never").status().message(), "listener_id: no listener 'l-never' in session " + s->id());
}

TEST_F(ListenerTest, ASecondSubscribeToTheSameEndpointReplacesItsOwnAndRefusesAnothers) {
  ListenerRequest r;
  r.channel = "en";
  r.endpoint = {"127.0.0.1", 5004};
  r.owner = "t-a";
  auto first = s->Subscribe(r);
  ASSERT_TRUE(first.ok());
  r.channel = "ru";
  auto again = s->Subscribe(r);  // the same app, restarted: its old stream goes
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(media.listener_channel.count(first->id));
  EXPECT_EQ(media.listener_channel[again->id], "ru");
  EXPECT_EQ(EndedWith("replaced by " + again->id + " (subscribed again to the same endpoint)"),
            std::vector<std::string>{first->id});
  r.owner = "t-b";
  const Status taken = s->Subscribe(r).status();
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "endpoint: 127.0.0.1:5004 already receives listener " + again->id + " of another token");
  EXPECT_EQ(s->View().channels[1].listener_count + s->View().channels[2].listener_count, 1u);
}

TEST_F(ListenerTest, MembersWhoseLeasesRunOutTogetherReKeyTheirGroupOnce) {
  auto stays = Join("en", Transport::kMulticast);
  ASSERT_TRUE(s->OpenKeyStream(stays.id).ok());
  for (int i = 0; i < 5; ++i) Join("en", Transport::kMulticast);
  clock.now += 31s;
  registry->Tick();
  EXPECT_EQ(EndedWith("lease expired").size(), 5u);
  EXPECT_EQ(media.rekeyed.size(), 1u) << "one new group key, not one per member who left";
  EXPECT_EQ(events.Of<KeyChanged>().size(), 1u) << "to the one member left";
}

TEST_F(ListenerTest, NoLeaseMeansNoReaping) {
  policy.lease = 0ms;
  SetUp();
  auto l = Join("en");
  clock.now += 24h;
  registry->Tick();
  EXPECT_TRUE(EndedWith("lease expired").empty());
  EXPECT_TRUE(media.listener_channel.count(l.id));
}

TEST_F(ListenerTest, APortThatStaysUnreachableEndsTheListenerAfterTheGrace) {
  auto gone = Join("ru"), late = Join("ru"), stays = Join("ru");
  for (int i = 0; i < 9; ++i) {  // 2 s of ticks every 250 ms
    media.alerts_unreachable = {gone.id};
    if (i < 2) media.alerts_unreachable.push_back(late.id);  // its receiver opened after 250 ms
    registry->Tick();
    clock.now += 250ms;
    if (i < 8) {
      EXPECT_TRUE(EndedWith("port unreachable").empty()) << "within the grace, tick " << i;
    }
  }
  EXPECT_EQ(EndedWith("port unreachable"), std::vector<std::string>{gone.id});
  EXPECT_TRUE(media.listener_channel.count(late.id)) << "a receiver that opened late keeps its stream";
  EXPECT_TRUE(media.listener_channel.count(stays.id));
}

TEST_F(ListenerTest, KeysAreReplacedOnThePeriodAndAtThePacketLimit) {
  auto a = Join("en"), b = Join("ru");
  clock.now += 30s;
  ASSERT_TRUE(s->KeepAlive(a.id).ok() && s->KeepAlive(b.id).ok());
  media.alerts_key_limit = {b.id};
  registry->Tick();
  ASSERT_EQ(media.rekeyed.size(), 1u) << "only the key at its limit, before the period";
  EXPECT_EQ(media.rekeyed[0].first, b.id);
  EXPECT_NE(media.rekeyed[0].second.master_key, b.srtp.master_key);

  clock.now += 30s;  // a's key is 60 s old
  ASSERT_TRUE(s->KeepAlive(a.id).ok() && s->KeepAlive(b.id).ok());
  registry->Tick();
  ASSERT_EQ(media.rekeyed.size(), 2u);
  EXPECT_EQ(media.rekeyed[1].first, a.id);

  auto changes = events.Of<KeyChanged>();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].listener, b.id);
  EXPECT_EQ(changes[0].reason, "packet limit");
  EXPECT_EQ(changes[1].listener, a.id);
  EXPECT_EQ(changes[1].reason, "period");
  EXPECT_EQ(changes[1].key_id, 1u);
  EXPECT_EQ(changes[1].ssrc, a.ssrc) << "same stream, new key";
  EXPECT_EQ(changes[1].takes_over_in, 1500ms);
  EXPECT_EQ(changes[1].srtp.master_key, media.rekeyed[1].second.master_key);
  auto current = s->OpenKeyStream(a.id);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->key_id, 1u);
  EXPECT_EQ(current->srtp.master_key, changes[1].srtp.master_key);
  s->CloseKeyStream(a.id);
}

TEST_F(ListenerTest, MulticastMembersShareTheirChannelsGroup) {
  auto a = Join("en", Transport::kMulticast), b = Join("en", Transport::kMulticast);
  auto r = Join("ru", Transport::kMulticast);
  EXPECT_EQ(a.endpoint, (Endpoint{"239.255.7.1", 5004}));
  EXPECT_EQ(b.endpoint, a.endpoint);
  EXPECT_EQ(b.ssrc, a.ssrc);
  EXPECT_EQ(b.srtp.master_key, a.srtp.master_key);
  EXPECT_EQ(r.endpoint, (Endpoint{"239.255.7.2", 5004})) << "one group per channel";
  EXPECT_NE(r.srtp.master_key, a.srtp.master_key);
  // One stream per group in the media, none per member.
  int groups = 0;
  for (const auto& [id, ep] : media.listener_endpoint) groups += ep.host.rfind("239.255.7.", 0) == 0;
  EXPECT_EQ(groups, 2);
  EXPECT_FALSE(media.listener_channel.count(a.id));
  EXPECT_EQ(s->View().channels[1].listener_count, 2u);
  EXPECT_EQ(s->SwitchChannel(a.id, "ru").code(), StatusCode::kFailedPrecondition);
}

TEST_F(ListenerTest, AMemberLeavingReKeysTheGroupForTheOthersOnly) {
  auto a = Join("en", Transport::kMulticast, "tok-a"), b = Join("en", Transport::kMulticast, "tok-b"),
       c = Join("en", Transport::kMulticast, "tok-c");
  EXPECT_EQ(s->StopOwnedBy("tok-a"), 1u);  // a's token is revoked
  auto changes = events.Of<KeyChanged>();
  ASSERT_EQ(changes.size(), 2u);
  for (const auto& k : changes) {
    EXPECT_NE(k.listener, a.id) << "the revoked member never sees the new key";
    EXPECT_EQ(k.reason, "member left");
    EXPECT_EQ(k.key_id, 1u);
    EXPECT_NE(k.srtp.master_key, a.srtp.master_key);
    EXPECT_EQ(k.ssrc, a.ssrc);
  }
  ASSERT_EQ(media.rekeyed.size(), 1u) << "one group stream re-keyed";
  EXPECT_EQ(media.rekeyed[0].second.master_key, changes[0].srtp.master_key);
  EXPECT_EQ(EndedWith("token revoked"), std::vector<std::string>{a.id});

  ASSERT_TRUE(s->Unsubscribe(b.id).ok());
  EXPECT_EQ(events.Of<KeyChanged>().size(), 3u);
  EXPECT_EQ(events.Of<KeyChanged>().back().listener, c.id);
  ASSERT_TRUE(s->Unsubscribe(c.id).ok());
  int groups = 0;
  for (const auto& [id, ch] : media.listener_channel) groups += id.rfind("g-", 0) == 0;
  EXPECT_EQ(groups, 0) << "the last member's departure stops the group stream";
  EXPECT_EQ(s->View().channels[1].listener_count, 0u);
}

TEST_F(ListenerTest, GroupKeysRotateOnThePeriodForEveryMember) {
  auto a = Join("ru", Transport::kMulticast), b = Join("ru", Transport::kMulticast);
  clock.now += 61s;
  ASSERT_TRUE(s->KeepAlive(a.id).ok() && s->KeepAlive(b.id).ok());
  registry->Tick();
  auto changes = events.Of<KeyChanged>();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].srtp.master_key, changes[1].srtp.master_key);
  EXPECT_EQ(changes[0].reason, "period");
}

TEST_F(ListenerTest, AUnicastStreamIsNeverSentToAGroupOrBroadcastAddress) {
  for (const std::string host : {"239.255.7.1", "224.0.0.1", "239.1.0.9", "255.255.255.255"}) {
    ListenerRequest r;
    r.channel = "en";
    r.endpoint = {host, 5004};
    auto l = s->Subscribe(r);
    ASSERT_FALSE(l.ok()) << host;
    EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(l.status().message().find("endpoint.host " + host), std::string::npos) << l.status().message();
    ConsoleRequest c;
    c.booth = "ru";
    c.return_endpoint = Endpoint{host, 7000};
    auto joined = s->JoinConsole(c);
    ASSERT_FALSE(joined.ok()) << host;
    EXPECT_NE(joined.status().message().find("return_endpoint.host"), std::string::npos);
  }
  EXPECT_TRUE(media.listener_endpoint.empty());
  EXPECT_TRUE(media.console_outputs.empty());
  EXPECT_EQ(Join("en").endpoint.host, "127.0.0.1");
}

TEST_F(ListenerTest, ABalanceIsMixedOnlyWhenAskedForInFivePercentSteps) {
  auto at = [&](std::optional<uint32_t> percent, Transport t = Transport::kUnicast) {
    ListenerRequest r;
    r.channel = "ru";
    r.endpoint = {"127.0.0.1", uint16_t(41000 + ++joined)};
    r.transport = t;
    r.interpretation_percent = percent;
    return s->Subscribe(r);
  };
  auto plain = at(std::nullopt), full = at(100), some = at(42), none = at(0);
  ASSERT_TRUE(plain.ok() && full.ok() && some.ok() && none.ok());
  EXPECT_EQ(plain->interpretation_percent, 100u);
  EXPECT_EQ(some->interpretation_percent, 40u);
  EXPECT_EQ(none->interpretation_percent, 0u);
  // The channel's own stream for everybody else: the media side mixes only for 40 % and 0 %.
  EXPECT_EQ(media.listener_balance, (std::map<ListenerId, uint32_t>{{some->id, 40}, {none->id, 0}}));
  ASSERT_TRUE(s->SwitchChannel(some->id, "en").ok());
  EXPECT_EQ(media.listener_balance.at(some->id), 40u) << "the balance stays across a switch";

  auto too_much = at(101);
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_much.status().message().find("interpretation_percent"), std::string::npos);
  auto group = at(50, Transport::kMulticast);
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.status().message().find("interpretation_percent"), std::string::npos);
  EXPECT_TRUE(at(100, Transport::kMulticast).ok()) << "a group member may state the default";
  ASSERT_TRUE(s->Unsubscribe(none->id).ok());
  EXPECT_EQ(media.listener_balance.count(none->id), 0u);
}

TEST_F(ListenerTest, MulticastNeedsAConfiguredGroup) {
  policy.multicast_group = "";
  SetUp();
  ListenerRequest r;
  r.channel = "en";
  r.transport = Transport::kMulticast;
  auto l = s->Subscribe(r);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(l.status().message().find("transport"), std::string::npos);
}

TEST_F(ListenerTest, RemovingAChannelEndsItsGroupAndMovesUnicastToTheFloor) {
  auto m = Join("ru", Transport::kMulticast), u = Join("ru");
  ASSERT_TRUE(s->RemoveChannel("ru").ok());
  EXPECT_EQ(EndedWith("channel removed"), std::vector<std::string>{m.id});
  EXPECT_EQ(media.listener_channel[u.id], "floor");
  EXPECT_EQ(s->View().channels[0].listener_count, 1u);
}

}  // namespace
}  // namespace tilmash::domain
