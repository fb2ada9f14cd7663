// A node past its fan-out capacity: Subscribe is refused (RESOURCE_EXHAUSTED, naming the
// limit) once the node carries max_listeners streams, in whichever session; a listener whose
// packets were dropped is raised as a ListenerDropped event, at most once a second.
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

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy.multicast_group = "239.255.7.1";
    registry = std::make_unique<SessionRegistry>(SessionPorts{&media, &keys, &events, &clock, &budget},
                                                 kDefaultFloorDuckDb, policy);
    for (auto* s : {&plenary, &panel}) {
      SessionSpec spec;
      spec.languages = {"en", "ru"};
      auto v = registry->Create(spec);
      ASSERT_TRUE(v.ok()) << v.status().message();
      *s = registry->Find(v->id).value();
    }
  }
  Result<ListenerView> Join(Session& s, uint16_t port, const std::string& owner = "badge",
                            Transport t = Transport::kUnicast) {
    ListenerRequest r;
    r.channel = "en";
    r.endpoint = {"127.0.0.1", port};
    r.owner = owner;
    r.transport = t;
    return s.Subscribe(r);
  }
  ListenerBudget budget{3};
  ListenerPolicy policy;
  FakeMedia media;
  FakeKeys keys;
  RecordingEvents events;
  ManualClock clock;
  std::unique_ptr<SessionRegistry> registry;
  std::shared_ptr<Session> plenary, panel;
};

TEST_F(OverloadTest, SubscribePastTheNodesCapacityIsRefusedNamingTheLimit) {
  auto a = Join(*plenary, 40001), b = Join(*plenary, 40002), c = Join(*panel, 40003);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(budget.used(), 3u);
  auto refused = Join(*panel, 40004);
  ASSERT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "max_listeners: this node carries at most 3 listener streams (its fan-out capacity); subscribe on another "
            "node");
  EXPECT_FALSE(media.listener_endpoint.size() > 3) << "no stream was started for it";

  // An app subscribing again to its own address replaces its stream: allowed at the limit.
  auto again = Join(*plenary, 40001);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(budget.used(), 3u);

  // A venue multicast member shares its channel's one group stream: not a listener stream.
  EXPECT_TRUE(Join(*panel, 0, "badge", Transport::kMulticast).ok());

  // A listener leaving (or its session ending) frees its place.
  ASSERT_TRUE(plenary->Unsubscribe(b->id).ok());
  EXPECT_TRUE(Join(*panel, 40004).ok());
  EXPECT_EQ(registry->End(plenary->id()).code(), StatusCode::kOk);
  EXPECT_EQ(budget.used(), 2u);
  EXPECT_TRUE(Join(*panel, 40005).ok());
}

TEST_F(OverloadTest, DroppedPacketsAreRaisedPerListenerAtMostOnceASecond) {
  auto a = Join(*plenary, 40001), b = Join(*plenary, 40002);
  ASSERT_TRUE(a.ok() && b.ok());
  media.alerts_dropped[a->id] = 12;
  registry->Tick();
  auto dropped = events.Of<ListenerDropped>();
  ASSERT_EQ(dropped.size(), 1u) << "only the listener that lost packets";
  EXPECT_EQ(dropped[0].listener, a->id);
  EXPECT_EQ(dropped[0].channel, "en");
  EXPECT_EQ(dropped[0].dropped, 12u);
  EXPECT_EQ(dropped[0].total, 12u);

  clock.now += 250ms;  // the next tick: more drops, reported only after a second
  media.alerts_dropped[a->id] = 5;
  registry->Tick();
  EXPECT_EQ(events.Of<ListenerDropped>().size(), 1u);
  clock.now += 800ms;
  media.alerts_dropped[a->id] = 2;
  registry->Tick();
  dropped = events.Of<ListenerDropped>();
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[1].dropped, 7u);
  EXPECT_EQ(dropped[1].total, 19u);
  clock.now += 2s;
  registry->Tick();
  EXPECT_EQ(events.Of<ListenerDropped>().size(), 2u) << "nothing dropped, nothing raised";
}

}  // namespace
}  // namespace tilmash::domain
