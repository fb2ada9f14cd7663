// tilmash-booth's schedules: what a console does when.
#include "schedule.h"

#include <gtest/gtest.h>

namespace tilmash::booth {
namespace {

using Key = KeyEvent::Key;

TEST(BoothScheduleTest, MicAndCoughKeys) {
  std::vector<KeyEvent> events;
  std::string error;
  ASSERT_TRUE(ParseSchedule("on@0.5,off@2", Key::kMic, &events, &error)) << error;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_DOUBLE_EQ(events[0].at_seconds, 0.5);
  EXPECT_TRUE(events[0].on);
  EXPECT_FALSE(events[1].on);
  EXPECT_FALSE(ParseSchedule("live@1", Key::kMic, &events, &error));
  EXPECT_FALSE(ParseSchedule("on@-1", Key::kMic, &events, &error));
  EXPECT_FALSE(ParseSchedule("on@x", Key::kCough, &events, &error));
  EXPECT_NE(error.find("on@x"), std::string::npos) << error;
}

TEST(BoothScheduleTest, SelectScheduleTakesInputsAndOutputSlots) {
  std::vector<KeyEvent> events;
  std::string error;
  ASSERT_TRUE(ParseSelectSchedule("input=ru@2,output=b@3,input=auto@4,input=floor@5", &events, &error)) << error;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].key, Key::kInput);
  EXPECT_EQ(events[0].value, "ru");
  EXPECT_EQ(events[1].key, Key::kOutput);
  EXPECT_EQ(events[1].value, "B");
  EXPECT_DOUBLE_EQ(events[1].at_seconds, 3);
  EXPECT_EQ(events[2].value, "auto");
  for (const char* bad : {"input@2", "output=D@3", "volume=3@1", "input=ru", "input=@1"}) {
    EXPECT_FALSE(ParseSelectSchedule(bad, &events, &error)) << bad;
    EXPECT_NE(error.find("input=floor|auto|LANG"), std::string::npos) << error;
  }
}

TEST(BoothScheduleTest, MessagesWithTextMayContainAtSigns) {
  std::vector<KeyEvent> events;
  std::string error;
  ASSERT_TRUE(ParseMessageSchedule("slow-down@3,call-technician@5,text:chair:mail me@home@6", &events, &error))
      << error;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].value, "slow-down");
  EXPECT_EQ(events[1].value, "call-technician");
  EXPECT_EQ(events[2].value, "text");
  EXPECT_EQ(events[2].to, "chair");
  EXPECT_EQ(events[2].text, "mail me@home");
  EXPECT_DOUBLE_EQ(events[2].at_seconds, 6);
  for (const char* bad : {"shout@1", "text:booth:ru:hi@1", "text:chair:@1", "slow-down"})
    EXPECT_FALSE(ParseMessageSchedule(bad, &events, &error)) << bad;
}

TEST(BoothScheduleTest, SortKeepsCommandLineOrderAtTheSameInstant) {
  std::vector<KeyEvent> events;
  std::string error;
  ASSERT_TRUE(ParseSelectSchedule("input=ru@1", &events, &error));
  ASSERT_TRUE(ParseSchedule("on@1,off@0.5", Key::kMic, &events, &error));
  SortByTime(events);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].key, Key::kMic);
  EXPECT_FALSE(events[0].on);
  EXPECT_EQ(events[1].key, Key::kInput);
  EXPECT_EQ(events[2].key, Key::kMic);
  EXPECT_STREQ(KeyName(Key::kHandoverRequest), "handover");
}

}  // namespace
}  // namespace tilmash::booth
