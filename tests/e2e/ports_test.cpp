// --media-ports A-B through the real daemon: every UDP socket it opens (floor and console
// ingests, the listener streams' source) is inside the range, audio flows through them, and a
// range used up refuses the next ingest with RESOURCE_EXHAUSTED naming media_ports, until a
// console leaves and frees its port.
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

constexpr int kRangeSize = 5;

uint16_t RangeStart() {
  static const uint16_t start = FreePortRange(kRangeSize);
  return start;
}

std::string RangeText() { return std::to_string(RangeStart()) + "-" + std::to_string(RangeStart() + kRangeSize - 1); }

class MediaPortsTest : public E2eTest {
 protected:
  MediaPortsTest() : E2eTest({"--media-ports", RangeText()}) {}
  bool InRange(uint32_t port) const { return port >= RangeStart() && port < uint32_t(RangeStart() + kRangeSize); }
};

TEST_F(MediaPortsTest, EveryMediaSocketIsInTheRangeAndAFullRangeIsRefusedByName) {
  ASSERT_NE(RangeStart(), 0);
  const v1::Session session = CreateSession({"ru"}, std::nullopt);  // an RTP floor: one ingest
  EXPECT_TRUE(InRange(session.floor_ingest().endpoint().port())) << session.floor_ingest().endpoint().port();
  const auto a = Join(session.id(), "ru");
  EXPECT_TRUE(InRange(a.ingest().endpoint().port())) << a.ingest().endpoint().port();
  auto voice = Speak(a.ingest(), 700);
  ASSERT_TRUE(SetMic(session.id(), a.console().id(), true).ok());
  auto l = Listen(session.id(), "ru");
  ASSERT_TRUE(l);
  EXPECT_GT(NextLevels(*l, {700}, 300)[0], -30) << "the interpreter reaches the listener through the range";

  const auto b = Join(session.id(), "ru");
  EXPECT_TRUE(InRange(b.ingest().endpoint().port())) << b.ingest().endpoint().port();
  const auto ports = UdpPortsOf(daemon_.pid());
  EXPECT_EQ(ports.size(), std::size_t(kRangeSize)) << "fan-out source, the WebRTC port, floor and two consoles";
  for (uint16_t p : ports) EXPECT_TRUE(InRange(p)) << "UDP port " << p << " outside " << RangeText();

  // The range is used up: the next console is refused, naming the setting.
  grpc::ClientContext ctx;
  v1::JoinConsoleRequest req;
  req.set_session_id(session.id());
  req.set_booth("ru");
  v1::JoinConsoleResponse resp;
  const auto st = daemon_.booths().JoinConsole(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("media_ports " + RangeText()), std::string::npos) << st.error_message();

  // A console that leaves frees its port for the next one.
  {
    grpc::ClientContext leave;
    v1::LeaveConsoleRequest lr;
    lr.set_session_id(session.id());
    lr.set_console_id(b.console().id());
    v1::LeaveConsoleResponse lresp;
    ASSERT_TRUE(daemon_.booths().LeaveConsole(&leave, lr, &lresp).ok());
  }
  std::this_thread::sleep_for(200ms);  // its socket closes on the media thread
  const auto c = Join(session.id(), "ru");
  EXPECT_TRUE(InRange(c.ingest().endpoint().port())) << c.ingest().endpoint().port();
}

TEST(MediaPortsFlag, ABadRangeIsRefusedAtStart) {
  for (const char* bad : {"40000", "500-600", "40010-40000", "40000-70000"}) {
    FILE* p = popen((BinDir() + "/tilmashd --plaintext --state-dir none --media-ports " + bad + " 2>&1").c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    EXPECT_EQ(WEXITSTATUS(pclose(p)), 2) << bad;
    EXPECT_NE(out.find("media_ports must be FIRST-LAST"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace tilmash::testing
