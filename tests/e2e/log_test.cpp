// --log-format json through the real daemon: every line of its stderr is one JSON object with
// time, level, component, session, message and fields, and the session and fields of a line are
// the ones its sentence names (a session created over gRPC, a console whose link is lost).
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

class JsonLogTest : public E2eTest {
 protected:
  JsonLogTest() : E2eTest({"--log-format", "json", "--log-level", "info"}, /*capture_stderr=*/true) {}

  // Every line so far, parsed; a line that is not a JSON object fails the test.
  std::vector<nlohmann::json> Lines() {
    std::vector<nlohmann::json> out;
    std::istringstream in(daemon_.Stderr());
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
      if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
  }

  // Waits (bounded) for a line that `match` accepts.
  std::optional<nlohmann::json> WaitForLine(const std::function<bool(const nlohmann::json&)>& match) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    do {
      for (auto& j : Lines())
        if (match(j)) return j;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
  }
};

TEST_F(JsonLogTest, EveryLineIsAnObjectWithItsSessionAndFields) {
  const v1::Session session = CreateSession({"ru"}, 440);
  auto created = WaitForLine(
      [&](const nlohmann::json& j) { return j.value("component", "") == "grpc" && j["session"] == session.id(); });
  ASSERT_TRUE(created) << daemon_.Stderr();
  EXPECT_EQ((*created)["fields"]["name"], "e2e");
  EXPECT_EQ((*created)["fields"]["channels"], session.channels_size()) << "a number, not text";

  // A console that speaks and then goes silent (no LeaveConsole): its link-lost line.
  const auto join = Join(session.id(), "ru");
  {
    auto voice = Speak(join.ingest(), 700);
    std::this_thread::sleep_for(300ms);
  }
  auto lost = WaitForLine([&](const nlohmann::json& j) {
    return j["session"] == session.id() && j["fields"].value("console", "") == join.console().id() &&
           j.value("message", "").rfind("link lost", 0) == 0;
  });
  ASSERT_TRUE(lost) << daemon_.Stderr();
  EXPECT_EQ((*lost)["level"], "warning");
  EXPECT_EQ((*lost)["component"], "mix");
  ASSERT_TRUE((*lost)["fields"]["silent_ms"].is_number());
  EXPECT_GE((*lost)["fields"]["silent_ms"].get<int>(), 60) << "the configured link-loss time";

  const std::regex utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  const auto lines = Lines();
  ASSERT_GE(lines.size(), 3u);
  for (const auto& j : lines) {
    for (const char* key : {"time", "level", "component", "session", "message", "fields"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << j.dump();
    EXPECT_TRUE(std::regex_match(j.value("time", ""), utc)) << j.dump();
    EXPECT_TRUE(j["fields"].is_object()) << j.dump();
    EXPECT_TRUE(j["session"].is_null() || j["session"].is_string()) << j.dump();
  }
}

TEST(JsonLogFlag, AnUnknownFormatIsRefusedAtStart) {
  const std::string cmd = BinDir() + "/tilmashd --log-format xml --plaintext --state-dir none 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(WEXITSTATUS(pclose(p)), 2);
  EXPECT_NE(out.find("log_format must be text or json"), std::string::npos) << out;
}

}  // namespace
}  // namespace tilmash::testing
