// The words the tools use for the booth enums, both ways.
#include "client/convert.h"

#include <gtest/gtest.h>

namespace tilmash::client {
namespace {

TEST(ConvertTest, InputSelectionWords) {
  EXPECT_EQ(InputFromText("floor")->kind_case(), v1::InputSelection::kFloor);
  EXPECT_EQ(InputFromText("AUTO")->kind_case(), v1::InputSelection::kAuto);
  const auto relay = InputFromText("ru");
  ASSERT_TRUE(relay);
  EXPECT_EQ(relay->channel(), "ru");
  EXPECT_FALSE(InputFromText(""));
  EXPECT_FALSE(InputFromText("ru,en"));
  for (const char* word : {"floor", "auto", "kk"}) EXPECT_EQ(InputText(*InputFromText(word)), word);
  EXPECT_EQ(InputText(v1::InputSelection()), "-");
}

TEST(ConvertTest, OutputSlotInterlockAndMessageWords) {
  EXPECT_EQ(OutputSlotFromText("b"), v1::OUTPUT_B);
  EXPECT_EQ(OutputSlotFromText("C"), v1::OUTPUT_C);
  EXPECT_FALSE(OutputSlotFromText("D"));
  EXPECT_STREQ(OutputSlotText(v1::OUTPUT_A), "A");
  EXPECT_STREQ(OutputSlotText(v1::OUTPUT_SLOT_UNSPECIFIED), "-");

  for (auto mode : {v1::INTERLOCK, v1::OVERRIDE, v1::TOGGLE_OVERRIDE})
    EXPECT_EQ(InterlockModeFromText(InterlockModeText(mode)), mode);
  EXPECT_FALSE(InterlockModeFromText("toggle"));

  for (auto kind : {v1::SLOW_DOWN, v1::CALL_TECHNICIAN, v1::TEXT})
    EXPECT_EQ(MessageKindFromText(MessageKindText(kind)), kind);
  EXPECT_FALSE(MessageKindFromText("shout"));
  EXPECT_STREQ(HandoverWhatText(v1::HandoverEvent::EXPIRED), "expired");
}

TEST(ConvertTest, HandoverSentenceNamesTheLiveConsoleAndThePartner) {
  v1::HandoverEvent h;
  h.set_from_console_id("c-1");
  h.set_to_console_id("c-2");
  h.set_channel("ru");
  h.set_what(v1::HandoverEvent::REQUESTED);
  EXPECT_EQ(HandoverSentence(h), "c-2 asks c-1 for ru");
  h.set_what(v1::HandoverEvent::ACCEPTED);
  EXPECT_EQ(HandoverSentence(h), "c-1 handed ru to c-2");
  h.set_what(v1::HandoverEvent::DECLINED);
  EXPECT_EQ(HandoverSentence(h), "c-1 declined c-2's request for ru");
  h.set_what(v1::HandoverEvent::EXPIRED);
  EXPECT_EQ(HandoverSentence(h), "c-2's request to c-1 for ru expired");
}

}  // namespace
}  // namespace tilmash::client
