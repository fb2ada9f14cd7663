// The floor from a sound desk over AES67: GStreamer's own RTP L24/L16 payloaders (gst-launch-1.0,
// a sender the project did not write) play the desk, described by its SDP; listeners of the real
// daemon hear the desk's tone at its level, one channel picked or both mixed; a bad SDP is a
// clear INVALID_ARGUMENT and a port already taken is UNAVAILABLE.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "e2e_support.h"

namespace tilmash::testing {
namespace {

// gst-launch-1.0 with `pipeline`, in its own process group, ended with the object.
class GstLaunch {
 public:
  explicit GstLaunch(const std::string& pipeline) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::execlp("sh", "sh", "-c", ("exec gst-launch-1.0 -q " + pipeline + " >/dev/null").c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~GstLaunch() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  GstLaunch(const GstLaunch&) = delete;
  GstLaunch& operator=(const GstLaunch&) = delete;

 private:
  pid_t pid_ = -1;
};

// A port no other test run uses at the same time (ctest runs two at once).
uint16_t TestPort(int offset) { return uint16_t(30000 + (::getpid() % 5000) * 4 + offset); }

// The desk: a 700 Hz tone at -20 dBFS in the left channel only (right silent), stereo L24, 1 ms
// packets, multicast on the loopback interface.
std::string StereoDesk(const std::string& group, uint16_t port) {
  return "audiotestsrc is-live=true freq=700 volume=0.1 samplesperbuffer=48 ! audio/x-raw,channels=1,rate=48000 ! "
         "audiopanorama panorama=-1.0 method=simple ! audioconvert ! audio/x-raw,format=S24BE,channels=2,rate=48000 ! "
         "rtpL24pay pt=98 min-ptime=1000000 max-ptime=1000000 ! udpsink host=" +
         group + " port=" + std::to_string(port) + " multicast-iface=lo auto-multicast=true sync=false async=false";
}

std::string StereoSdp(const std::string& group, uint16_t port) {
  return "v=0\r\no=- 1311738121 1311738121 IN IP4 127.0.0.1\r\ns=Plenary desk\r\nc=IN IP4 " + group +
         "/32\r\nt=0 0\r\nm=audio " + std::to_string(port) +
         " RTP/AVP 98\r\ni=Main mix\r\na=rtpmap:98 L24/48000/2\r\na=recvonly\r\na=ptime:1\r\n"
         "a=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0\r\na=mediaclk:direct=0\r\n";
}

class Aes67Test : public E2eTest {
 protected:
  Aes67Test() : E2eTest({"--aes67-interface", "127.0.0.1"}) {}
  static v1::FloorSource Aes67(const std::string& sdp, uint32_t channel) {
    v1::FloorSource f;
    f.mutable_aes67()->set_sdp(sdp);
    f.mutable_aes67()->set_channel(channel);
    return f;
  }
  grpc::Status Create(const v1::FloorSource& floor, v1::Session* out) {
    grpc::ClientContext ctx;
    v1::CreateSessionRequest req;
    req.set_name("venue");
    req.add_languages("ru");
    *req.mutable_floor_source() = floor;
    return daemon_.sessions().CreateSession(&ctx, req, out);
  }
  grpc::Status SetFloor(const std::string& session, const v1::FloorSource& floor) {
    grpc::ClientContext ctx;
    v1::SetFloorSourceRequest req;
    req.set_session_id(session);
    *req.mutable_source() = floor;
    v1::Session out;
    return daemon_.sessions().SetFloorSource(&ctx, req, &out);
  }
};

TEST_F(Aes67Test, AStereoL24DeskIsHeardPickedOrMixedAtItsLevel) {
  const std::string group = "239.69.83." + std::to_string(10 + ::getpid() % 200);
  const uint16_t port = TestPort(0);
  GstLaunch desk(StereoDesk(group, port));
  v1::Session session;
  auto st = Create(Aes67(StereoSdp(group, port), 1), &session);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto floor = Listen(session.id(), "floor");
  auto ru = Listen(session.id(), "ru");  // auto-floor
  ASSERT_TRUE(floor && ru);
  NextLevels(*floor, {700}, 500);  // the desk is running
  const double left = NextLevels(*floor, {700}, 500)[0], at_ru = NextLevels(*ru, {700}, 500)[0];
  ASSERT_TRUE(SetFloor(session.id(), Aes67(StereoSdp(group, port), 0)).ok());
  NextLevels(*floor, {700}, 300);
  const double mixed = NextLevels(*floor, {700}, 500)[0];
  ASSERT_TRUE(SetFloor(session.id(), Aes67(StereoSdp(group, port), 2)).ok());
  NextLevels(*floor, {700}, 300);
  const double right = NextLevels(*floor, {700}, 500)[0];
  std::cout << "[ measured ] AES67 L24 stereo 1 ms, 700 Hz at -20 dBFS left only: channel 1 " << left
            << " dBFS (ru, auto-floor: " << at_ru << "), both mixed " << mixed << " dBFS, channel 2 " << right
            << " dBFS\n";
  EXPECT_NEAR(left, -20, 1.0) << "channel 1 is the desk's left, at its level";
  EXPECT_NEAR(at_ru, -20, 1.5) << "and reaches the language channels";
  EXPECT_NEAR(mixed, -26, 1.0) << "two channels mixed at equal gain: -6 dB";
  EXPECT_LT(right, -60) << "channel 2 is silent";
}

TEST_F(Aes67Test, AMonoL16UnicastStreamWith4msPacketsIsHeard) {
  const uint16_t port = TestPort(1);
  GstLaunch desk("audiotestsrc is-live=true freq=1100 volume=0.1 samplesperbuffer=192 ! "
                 "audio/x-raw,format=S16BE,channels=1,rate=48000 ! rtpL16pay pt=97 min-ptime=4000000 "
                 "max-ptime=4000000 ! udpsink host=127.0.0.1 port=" +
                 std::to_string(port) + " sync=false async=false");
  const std::string sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Side hall\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
                          std::to_string(port) + " RTP/AVP 97\r\na=rtpmap:97 L16/48000\r\na=ptime:4\r\n";
  v1::Session session;
  auto st = Create(Aes67(sdp, 0), &session);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto floor = Listen(session.id(), "floor");
  ASSERT_TRUE(floor);
  NextLevels(*floor, {1100}, 500);
  const double level = NextLevels(*floor, {1100}, 500)[0];
  std::cout << "[ measured ] AES67 L16 mono 4 ms unicast, 1100 Hz at -20 dBFS: " << level << " dBFS at the listener\n";
  EXPECT_NEAR(level, -20, 1.0);

  // The same port again: taken, and said so.
  v1::Session second;
  auto taken = Create(Aes67(sdp, 0), &second);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::UNAVAILABLE) << taken.error_message();
  EXPECT_NE(taken.error_message().find(std::to_string(port)), std::string::npos) << taken.error_message();
}

TEST_F(Aes67Test, AnSdpTheFloorCannotTakeIsAClearError) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 239.69.83.1\r\nt=0 0\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head, "no m=audio line"},
      {head + "m=audio 5004 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", "encoding PCMU"},
      {head + "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/44100/2\r\n", "clock rate 44100"},
      {head + "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/48000/2\r\na=ptime:20\r\n", "a=ptime:20"},
      {head + "m=audio 0 RTP/AVP 96\r\na=rtpmap:96 L24/48000\r\n", "no valid port"},
      {head + "m=audio 5004 RTP/AVP 96\r\n", "no a=rtpmap"},
  };
  for (const auto& [sdp, says] : cases) {
    v1::Session s;
    auto st = Create(Aes67(sdp, 0), &s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << says;
    EXPECT_NE(st.error_message().find("aes67.sdp"), std::string::npos) << st.error_message();
    EXPECT_NE(st.error_message().find(says), std::string::npos) << st.error_message();
  }
  v1::Session s;
  auto st = Create(Aes67(head + "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/48000/2\r\n", 3), &s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("aes67.channel 3"), std::string::npos) << st.error_message();
}

}  // namespace
}  // namespace tilmash::testing
