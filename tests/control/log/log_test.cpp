// The JSON line of a log message: its session from "session ID: ", its key=value words as
// fields (numbers as numbers, quoted values whole), and text that is not UTF-8 never breaks it.
#include "log/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tilmash::log {
namespace {

nlohmann::json Line(std::string_view text) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796140800123));
  return nlohmann::json::parse(JsonLine(t, "warning", "mix", text));
}

TEST(JsonLogLine, SessionMessageAndFields) {
  const auto j = Line("session plenary-1: link lost, its channel goes to the floor console=c2 silent_ms=61");
  EXPECT_EQ(j["time"], "2026-12-01T16:00:00.123Z");
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["component"], "mix");
  EXPECT_EQ(j["session"], "plenary-1");
  EXPECT_EQ(j["message"], "link lost, its channel goes to the floor console=c2 silent_ms=61");
  EXPECT_EQ(j["fields"]["console"], "c2");
  EXPECT_EQ(j["fields"]["silent_ms"], 61);
  EXPECT_EQ(j["fields"].size(), 2u);
}

TEST(JsonLogLine, QuotedValuesNumbersAndPunctuation) {
  const auto j = Line("session s: created name='Plenary Hall A' channels=4, level=-20.5; (port=5004) done.");
  EXPECT_EQ(j["fields"]["name"], "Plenary Hall A");
  EXPECT_EQ(j["fields"]["channels"], 4);
  EXPECT_DOUBLE_EQ(j["fields"]["level"].get<double>(), -20.5);
  EXPECT_EQ(j["fields"]["port"], 5004) << "inside parentheses too";
}

TEST(JsonLogLine, WithoutASessionItIsNullAndTheTextStaysWhole) {
  const auto j = Line("HTTP on 127.0.0.1:8080 (page, WHEP)");
  EXPECT_TRUE(j["session"].is_null());
  EXPECT_EQ(j["message"], "HTTP on 127.0.0.1:8080 (page, WHEP)");
  EXPECT_TRUE(j["fields"].empty());
  EXPECT_TRUE(Line("session with spaces in it: x")["session"].is_null()) << "not the \"session ID: \" form";
  EXPECT_TRUE(Line("Mix=Up A=b =c")["fields"].empty()) << "keys are lower-case words";
}

TEST(JsonLogLine, BytesThatAreNotUtf8AreReplacedNotThrown) {
  const auto j = Line("request for '\xff\xfe' failed");
  EXPECT_NE(j["message"].get<std::string>().find("request for"), std::string::npos);
}

TEST(JsonLogFormat, OnlyTextAndJson) {
  std::string error;
  EXPECT_FALSE(SetFormat("xml", &error));
  EXPECT_NE(error.find("xml"), std::string::npos);
  EXPECT_TRUE(SetFormat("json", &error));
  EXPECT_TRUE(SetFormat("text", &error));
}

}  // namespace
}  // namespace tilmash::log
