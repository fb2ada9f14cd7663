// The floor from a sound desk over AES67: GStreamer's own RTP L24/L16 payloaders (gst-launch-1.0,
// a sender the project did not write) play the desk, described by its SDP; listeners of the real
// daemon hear the desk's tone at its level, one channel picked or both mixed; a bad SDP is a
// clear INVALID_ARGUMENT and a port already taken is UNAVAILABLE.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "domain/aes67.h"
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

// A port no other test run uses at the same time (ctest runs two at once, often with
// consecutive process ids): 16 per process.
uint16_t TestPort(int offset) { return uint16_t(20000 + (::getpid() % 2500) * 16 + offset); }

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
  NextLevels(*floor, {700}, 600);  // the new source has started
  const double mixed = NextLevels(*floor, {700}, 500)[0];
  ASSERT_TRUE(SetFloor(session.id(), Aes67(StereoSdp(group, port), 2)).ok());
  NextLevels(*floor, {700}, 600);
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
  GstLaunch desk(
      "audiotestsrc is-live=true freq=1100 volume=0.1 samplesperbuffer=192 ! "
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

// A SAP announcement (RFC 2974) of `sdp`, sent on the loopback interface as a desk would.
void AnnounceOnLoopback(const std::string& sdp, uint16_t hash) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  in_addr lo{};
  inet_pton(AF_INET, "127.0.0.1", &lo);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
  std::string p = {char(0x20), 0, char(hash >> 8), char(hash & 0xff), 127, 0, 0, 1};
  p += std::string("application/sdp") + '\0' + sdp;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9875);
  inet_pton(AF_INET, "239.255.255.255", &to.sin_addr);
  ::sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
}

TEST_F(Aes67Test, ADeskAnnouncedWithSapIsChosenByItsName) {
  const std::string group = "239.69.84." + std::to_string(10 + ::getpid() % 200);
  const uint16_t port = TestPort(4);
  const std::string name = "Plenary desk " + std::to_string(::getpid());
  std::string sdp = StereoSdp(group, port);
  sdp.replace(sdp.find("s=Plenary desk"), std::string("s=Plenary desk").size(), "s=" + name);
  GstLaunch desk(StereoDesk(group, port));
  v1::FloorSource by_name;
  by_name.mutable_aes67()->set_sap_name(name);
  by_name.mutable_aes67()->set_channel(1);
  v1::Session session;
  auto unknown = Create(by_name, &session);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND) << unknown.error_message();
  EXPECT_NE(unknown.error_message().find("sap_name"), std::string::npos) << unknown.error_message();
  AnnounceOnLoopback(sdp, 4242);
  grpc::Status st;
  for (int i = 0; i < 50; ++i) {  // the daemon's SAP listener takes the announcement
    st = Create(by_name, &session);
    if (st.ok()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(session.floor_source().aes67().sap_name(), name);
  EXPECT_NE(session.floor_source().aes67().sdp().find("m=audio " + std::to_string(port)), std::string::npos)
      << "the SDP found under the name is kept with it";
  auto floor = Listen(session.id(), "floor");
  ASSERT_TRUE(floor);
  NextLevels(*floor, {700}, 500);
  const double level = NextLevels(*floor, {700}, 500)[0];
  std::cout << "[ measured ] AES67 desk chosen by its SAP name: 700 Hz at " << level << " dBFS\n";
  EXPECT_NEAR(level, -20, 1.0);
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

// A sound card floor: the real selection and open-check, with "test:HZ" standing in for a card
// (this machine has none); a device that does not exist is UNAVAILABLE in ALSA's words.
TEST_F(Aes67Test, ASoundCardFloorIsHeardAndAMissingOneIsAClearError) {
  v1::FloorSource card;
  card.mutable_sound_card()->set_device("test:880");
  v1::Session session;
  auto st = Create(card, &session);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(session.floor_source().sound_card().device(), "test:880");
  auto floor = Listen(session.id(), "floor");
  ASSERT_TRUE(floor);
  NextLevels(*floor, {880}, 300);
  const double level = NextLevels(*floor, {880}, 500)[0];
  std::cout << "[ measured ] sound card stand-in (test:880) as the floor: " << level << " dBFS at the listener\n";
  EXPECT_NEAR(level, -20, 1.0);

  card.mutable_sound_card()->set_device("hw:7,0");
  auto missing = SetFloor(session.id(), card);
  std::cout << "[ message  ] " << missing.error_message() << "\n";
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAVAILABLE) << missing.error_message();
  EXPECT_NE(missing.error_message().find("sound_card.device 'hw:7,0'"), std::string::npos) << missing.error_message();
  EXPECT_GT(NextLevels(*floor, {880}, 300)[0], -21) << "the floor it had plays on";

  card.mutable_sound_card()->set_device("hw:0;reboot");
  auto bad = SetFloor(session.id(), card);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.error_message();
  EXPECT_NE(bad.error_message().find("sound_card.device"), std::string::npos) << bad.error_message();
}

// A UDP socket bound to a group and port, joined on the interface with address `interface`.
int JoinOnLoopback(const std::string& group, uint16_t port, const std::string& interface = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, group.c_str(), &a.sin_addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  ip_mreq m{};
  m.imr_multiaddr = a.sin_addr;
  inet_pton(AF_INET, interface.c_str(), &m.imr_interface);
  EXPECT_EQ(::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m), 0) << std::strerror(errno);
  return fd;
}

// The SDP of the first SAP announcement (RFC 2974) whose s= line is `name`, within `wait`.
std::string SapAnnouncement(int fd, const std::string& name, std::chrono::milliseconds wait, bool* deletion = nullptr) {
  const auto until = std::chrono::steady_clock::now() + wait;
  uint8_t buf[4096];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 8 || (buf[0] >> 5) != 1) continue;  // SAP version 1
    std::size_t at = 8 + std::size_t(buf[1]) * 4;
    const std::string rest(reinterpret_cast<char*>(buf) + at, std::size_t(n) - at);
    const auto type_end = rest.find('\0');
    if (type_end == std::string::npos || rest.substr(0, type_end) != "application/sdp") continue;
    std::string sdp = rest.substr(type_end + 1);
    if (sdp.find("\ns=" + name + "\r\n") == std::string::npos) continue;
    if (deletion) *deletion = (buf[0] & 0x04) != 0;
    return sdp;
  }
  return "";
}

int64_t ClockNs(clockid_t id) {
  timespec t{};
  clock_gettime(id, &t);
  return int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

struct L24Packet {
  std::chrono::steady_clock::time_point at;
  int64_t realtime_ns;  // arrival on CLOCK_REALTIME (the PTP time ptp4l serves in these tests)
  uint16_t sequence;
  uint32_t timestamp;
  uint8_t payload_type;
  std::vector<float> samples;
};

// Raw 32-bit float samples from a file (what ffmpeg's and GStreamer's receivers wrote).
std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> x(bytes.size() / sizeof(float));
  std::memcpy(x.data(), bytes.data(), x.size() * sizeof(float));
  std::remove(path.c_str());
  return x;
}

// Discards what waits in the socket.
void Drain(int fd) {
  uint8_t buf[2048];
  while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) {
  }
}

std::vector<L24Packet> ReceiveL24(int fd, std::size_t count, std::chrono::milliseconds wait) {
  std::vector<L24Packet> out;
  const auto until = std::chrono::steady_clock::now() + wait;
  uint8_t buf[2048];
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 12 || (buf[0] >> 6) != 2) continue;
    L24Packet k{std::chrono::steady_clock::now(),
                ClockNs(CLOCK_REALTIME),
                uint16_t(buf[2] << 8 | buf[3]),
                uint32_t(buf[4]) << 24 | uint32_t(buf[5]) << 16 | uint32_t(buf[6]) << 8 | buf[7],
                uint8_t(buf[1] & 0x7f),
                {}};
    const std::size_t header = 12 + 4 * std::size_t(buf[0] & 0x0f);
    for (std::size_t i = header; i + 3 <= std::size_t(n); i += 3) {
      int32_t v = int32_t(uint32_t(buf[i]) << 24 | uint32_t(buf[i + 1]) << 16 | uint32_t(buf[i + 2]) << 8) >> 8;
      k.samples.push_back(float(v) / 8388608.0f);
    }
    out.push_back(std::move(k));
  }
  return out;
}

// a=mediaclk:direct=0 says an RTP timestamp is the reference clock's time in samples (mod
// 2^32): how far (ms) each packet's timestamp is behind that clock's time at its arrival.
// `clock_ns` gives the clock's time of an arrival.
template <class ClockOf>
std::vector<double> MediaClockLagMs(const std::vector<L24Packet>& packets, ClockOf clock_ns) {
  std::vector<double> lag;
  for (const auto& k : packets) {
    const auto now = uint32_t((unsigned __int128)clock_ns(k) * 48000 / 1'000'000'000);
    lag.push_back(double(int32_t(now - k.timestamp)) / 48.0);
  }
  std::sort(lag.begin(), lag.end());
  return lag;
}

// A packet's first sample was taken at most a packet (plus scheduling) before it arrived, and
// none in the future: a receiver playing samples at timestamp + a few ms of link offset can.
void ExpectOnTheMediaClock(const std::vector<double>& lag_ms) {
  // (Under a sanitizer the mix's own timing wanders by more than a packet.)
  EXPECT_GT(lag_ms[lag_ms.size() / 100], Sanitized() ? -20.0 : -0.5) << "p1: no timestamp ahead of the clock";
  EXPECT_LT(lag_ms[lag_ms.size() / 2], Sanitized() ? 20.0 : 3.0) << "p50";
  EXPECT_LT(lag_ms[lag_ms.size() * 99 / 100], Sanitized() ? 60.0 : 10.0) << "p99";
}

// The sound desk, written here so the test knows when each packet left: L24 mono, 1 ms packets
// paced by the clock, a 700 Hz tone at -20 dBFS switched on (starting at its peak) and off
// every 100 ms; `onsets` gets the send time of every packet that starts the tone.
class PacedDesk {
 public:
  PacedDesk(uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to_.sin_addr);
    thread_ = std::thread([this] { Run(); });
  }
  ~PacedDesk() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::vector<std::chrono::steady_clock::time_point> Onsets() {
    std::lock_guard lock(mu_);
    return onsets_;
  }

 private:
  void Run() {
    auto next = std::chrono::steady_clock::now();
    uint16_t seq = 1000;
    uint32_t ts = 5000;
    uint64_t sample = 0;
    while (!stop_) {
      uint8_t p[12 + 48 * 3] = {0x80, 97};
      p[2] = uint8_t(seq >> 8), p[3] = uint8_t(seq);
      p[4] = uint8_t(ts >> 24), p[5] = uint8_t(ts >> 16), p[6] = uint8_t(ts >> 8), p[7] = uint8_t(ts);
      p[8] = 0x12, p[9] = 0x34, p[10] = 0x56, p[11] = 0x78;
      const bool on = (sample / 4800) % 2 == 1, starts = on && sample % 4800 == 0;
      for (int i = 0; i < 48; ++i) {
        const double t = double((sample + uint64_t(i)) % 4800) / 48000;
        const int32_t v = on ? int32_t(0.1 * 8388607 * std::cos(2 * M_PI * 700 * t)) : 0;
        p[12 + 3 * i] = uint8_t(v >> 16), p[13 + 3 * i] = uint8_t(v >> 8), p[14 + 3 * i] = uint8_t(v);
      }
      std::this_thread::sleep_until(next);
      const auto sent = std::chrono::steady_clock::now();
      ::sendto(fd_, p, sizeof p, 0, reinterpret_cast<sockaddr*>(&to_), sizeof to_);
      if (starts) {
        std::lock_guard lock(mu_);
        onsets_.push_back(sent);
      }
      ++seq, ts += 48, sample += 48;
      next += std::chrono::milliseconds(1);
    }
  }
  int fd_;
  sockaddr_in to_{};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> onsets_;
  std::thread thread_;
};

// A session "venue" with the ru channel whose floor is the PacedDesk's AES67 stream (L24 mono,
// 1 ms, unicast to 127.0.0.1:`desk_port`), given by its SDP.
grpc::Status CreateVenueSession(DaemonProcess& daemon, uint16_t desk_port, v1::Session* session) {
  const std::string desk_sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=desk\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
                               std::to_string(desk_port) + " RTP/AVP 97\r\na=rtpmap:97 L24/48000\r\na=ptime:1\r\n";
  grpc::ClientContext ctx;
  v1::CreateSessionRequest req;
  req.set_name("venue");
  req.add_languages("ru");
  req.mutable_floor_source()->mutable_aes67()->set_sdp(desk_sdp);
  return daemon.sessions().CreateSession(&ctx, req, session);
}

class Aes67OutTest : public E2eTest {
 protected:
  static std::string Group() { return "239.69.90." + std::to_string(1 + ::getpid() % 100); }
  Aes67OutTest()
      : E2eTest({"--aes67-interface", "127.0.0.1", "--aes67-out-group", Group(), "--aes67-out-port",
                 std::to_string(TestPort(2))}) {}
};

TEST_F(Aes67OutTest, EveryChannelLeavesAsSapAnnouncedL24WithUnder5msOfService) {
  const uint16_t desk_port = TestPort(3);
  const int sap = JoinOnLoopback("239.255.255.255", 9875);
  v1::Session session;
  {
    auto st = CreateVenueSession(daemon_, desk_port, &session);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  // Both channels are announced at once, each with its own group and AES67's attributes.
  const std::string floor_sdp = SapAnnouncement(sap, "Tilmash " + session.id() + " floor", 5s);
  const std::string ru_sdp = SapAnnouncement(sap, "Tilmash " + session.id() + " ru", 5s);
  ASSERT_FALSE(floor_sdp.empty()) << "no SAP announcement of the floor channel";
  ASSERT_FALSE(ru_sdp.empty()) << "no SAP announcement of the ru channel";
  for (const char* attribute : {"a=ptime:1\r\n", "a=ts-refclk:", "a=mediaclk:direct=", "a=rtpmap:96 L24/48000/1"})
    EXPECT_NE(floor_sdp.find(attribute), std::string::npos) << attribute << " in\n" << floor_sdp;
  auto floor_stream = domain::ParseAes67Sdp(floor_sdp, "sap");
  auto ru_stream = domain::ParseAes67Sdp(ru_sdp, "sap");
  ASSERT_TRUE(floor_stream.ok() && ru_stream.ok()) << floor_stream.status().message() << ru_stream.status().message();
  EXPECT_NE(floor_stream->address, ru_stream->address) << "one group per channel";

  PacedDesk desk(desk_port);
  const int out = JoinOnLoopback(floor_stream->address, floor_stream->port);
  const int ru_out = JoinOnLoopback(ru_stream->address, ru_stream->port);
  ReceiveL24(out, 1500, 3s);  // the desk is running, the out stream's timeline settled
  const auto start = std::chrono::steady_clock::now();
  auto packets = ReceiveL24(out, 2000, 4s);
  ASSERT_GT(packets.size(), 1900u);
  // 1 ms packets, the timestamps continuous, payload type 96 as announced.
  std::size_t steps_wrong = 0;
  for (std::size_t i = 1; i < packets.size(); ++i)
    if (uint16_t(packets[i].sequence - packets[i - 1].sequence) != 1 ||
        packets[i].timestamp - packets[i - 1].timestamp != 48u || packets[i].samples.size() != 48u ||
        packets[i].payload_type != 96)
      ++steps_wrong;
  EXPECT_EQ(steps_wrong, 0u) << "48 samples a packet, sequence +1 and timestamp +48 each";
  // Service latency: the desk's packet starting the tone -> the out packet where it starts.
  std::vector<double> ms;
  const auto onsets = desk.Onsets();
  for (std::size_t i = 1; i < packets.size(); ++i) {
    const float before = std::abs(packets[i - 1].samples.back());
    float first = 0;
    for (float v : packets[i].samples) first = std::max(first, std::abs(v));
    if (before > 0.001f || first < 0.05f) continue;  // not a tone onset
    const auto sent = std::upper_bound(onsets.begin(), onsets.end(), packets[i].at);
    if (sent == onsets.begin()) continue;
    ms.push_back(std::chrono::duration<double, std::milli>(packets[i].at - *std::prev(sent)).count());
  }
  ASSERT_GE(ms.size(), 8u) << "tone onsets seen at the AES67 out";
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2], p99 = ms[std::min(ms.size() - 1, std::size_t(double(ms.size()) * 0.99))];
  // The level of what the venue gets: the desk's -20 dBFS tone, and nothing else.
  std::vector<float> audio;
  for (const auto& k : packets) audio.insert(audio.end(), k.samples.begin(), k.samples.end());
  const double peak = audio::PeakDb(audio);
  std::cout << "[ measured ] AES67 in -> AES67 out (floor channel, 1 ms packets): " << ms.size() << " onsets, p50 "
            << p50 << " ms, p99 " << p99 << " ms, max " << ms.back() << " ms; peak " << peak << " dBFS; "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
  // The median is the path's (the limiter's look-ahead ends in the next packet); the tail is
  // this machine's scheduling while the other test of ctest -j2 runs: the 5 ms p99 target is
  // reported from quiet runs, here only "no mixer frame waited for" is asserted.
  EXPECT_LE(p50, Sanitized() ? 30.0 : 5.0) << "service-added latency, floor packet in -> AES67 packet out";
  EXPECT_LE(p99, Sanitized() ? 60.0 : 15.0) << "no 10 ms frame of buffering anywhere on the path";
  EXPECT_NEAR(peak, -20, 1.0);

  // A language channel is out too: its interpreter (880 Hz at -20 dBFS) over the ducked floor,
  // 1 ms packets with continuous timestamps, and GStreamer's own AES67 receiver (udpsrc !
  // rtpL24depay, a receiver the project did not write) decodes it from the announced group.
  auto console = Join(session.id(), "ru");
  auto voice = Speak(console.ingest(), 880);
  ASSERT_TRUE(SetMic(session.id(), console.console().id(), true).ok());
  // The channel is mixed in 10 ms blocks now, its packets leave ten at a time: the timeline moves
  // back once, within a second, so that the last of each burst is not in the clock's future.
  std::this_thread::sleep_for(1200ms);
  Drain(ru_out);
  auto ru_packets = ReceiveL24(ru_out, 500, 3s);
  ASSERT_GT(ru_packets.size(), 400u);
  std::size_t ru_steps_wrong = 0;
  for (std::size_t i = 1; i < ru_packets.size(); ++i)
    if (ru_packets[i].timestamp - ru_packets[i - 1].timestamp != 48u || ru_packets[i].samples.size() != 48u)
      ++ru_steps_wrong;
  EXPECT_EQ(ru_steps_wrong, 0u);
  const std::string ru_raw = ::testing::TempDir() + "aes67-ru-" + std::to_string(::getpid()) + ".f32";
  const std::string gst = "timeout 20 gst-launch-1.0 -q udpsrc address=" + ru_stream->address +
                          " port=" + std::to_string(ru_stream->port) +
                          " multicast-iface=lo num-buffers=1000 caps=\"application/x-rtp,media=audio,clock-rate=48000,"
                          "encoding-name=L24,channels=1,payload=96\" ! rtpL24depay ! audioconvert ! "
                          "audio/x-raw,format=F32LE,channels=1 ! filesink location=" +
                          ru_raw;
  EXPECT_EQ(std::system(gst.c_str()), 0) << gst;
  const auto ru_audio = ReadF32(ru_raw);
  std::cout << "[ measured ] GStreamer's receiver on the ru channel's group: " << ru_audio.size()
            << " samples, 880 Hz at " << audio::ToneLevelDb(ru_audio, 880) << " dBFS, the floor's 700 Hz at "
            << audio::ToneLevelDb(ru_audio, 700) << " dBFS\n";
  EXPECT_GE(ru_audio.size(), 48000u) << "1000 packets of 48 samples";
  EXPECT_NEAR(audio::DominantFrequency(ru_audio), 880, 5) << "the interpreter on the ru channel";
  EXPECT_NEAR(audio::ToneLevelDb(ru_audio, 880), -20, 3) << "at its level (the leveler's range)";
  EXPECT_LT(audio::ToneLevelDb(ru_audio, 700), audio::ToneLevelDb(ru_audio, 880) - 10) << "the floor ducked under it";

  // The timestamps are the media clock's (a=ts-refclk:local, a=mediaclk:direct=0): this host's
  // monotonic clock, the session's, in samples: no packet's first sample in the future, and
  // the median no more than the path's own delay behind.
  EXPECT_NE(floor_sdp.find("a=ts-refclk:local\r\na=mediaclk:direct=0\r\n"), std::string::npos) << floor_sdp;
  Drain(out);  // what waited in the socket arrived long ago
  const auto settled = ReceiveL24(out, 1000, 3s);
  ASSERT_GT(settled.size(), 900u);
  const auto lag = MediaClockLagMs(settled, [](const L24Packet& k) {
    return int64_t(k.at.time_since_epoch() / std::chrono::nanoseconds(1));  // steady_clock: CLOCK_MONOTONIC
  });
  std::cout << "[ measured ] RTP timestamp behind the local clock at arrival: p1 " << lag[lag.size() / 100]
            << " ms, p50 " << lag[lag.size() / 2] << " ms, p99 " << lag[lag.size() * 99 / 100] << " ms\n";
  ExpectOnTheMediaClock(lag);

  // ffmpeg, a receiver the project did not write, plays the floor from the announced SDP.
  const std::string file = ::testing::TempDir() + "aes67-floor-" + std::to_string(::getpid()) + ".sdp";
  std::ofstream(file) << floor_sdp;
  const std::string wav = ::testing::TempDir() + "aes67-floor-" + std::to_string(::getpid()) + ".f32";
  const std::string cmd =
      "timeout 20 ffmpeg -hide_banner -loglevel error -nostdin -protocol_whitelist file,udp,rtp -i " + file +
      " -t 1 -f f32le -ac 1 -ar 48000 -y " + wav;
  std::thread keep([&] { ReceiveL24(out, 100000, 3s); });  // lo keeps its membership of the group
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  keep.join();
  const auto x = ReadF32(wav);
  std::cout << "[ measured ] ffmpeg from the SAP-announced SDP: " << x.size() << " samples, peak " << audio::PeakDb(x)
            << " dBFS, 700 Hz at " << audio::ToneLevelDb(x, 700) << " dBFS\n";
  EXPECT_GT(x.size(), 24000u);
  EXPECT_NEAR(audio::PeakDb(x), -20, 1.0);

  // The session ends: its streams' deletions are announced.
  {
    grpc::ClientContext ctx;
    v1::EndSessionRequest req;
    req.set_session_id(session.id());
    v1::EndSessionResponse res;
    ASSERT_TRUE(daemon_.sessions().EndSession(&ctx, req, &res).ok());
  }
  bool deletion = false;
  std::string gone;
  for (int i = 0; i < 10 && !deletion; ++i)
    gone = SapAnnouncement(sap, "Tilmash " + session.id() + " floor", 2s, &deletion);
  EXPECT_TRUE(deletion) << "the floor's stream deletion was announced";
  ::close(out);
  ::close(ru_out);
  ::close(sap);
}

// The venue's clock on one machine: a PTP grandmaster (linuxptp's ptp4l with software
// timestamps, domain 7) in a network namespace behind a veth pair. GStreamer's PTP helper sends
// its delay requests where the routing table says, so 224.0.1.129 is routed to the veth - what
// the README tells a venue whose AES67 interface is not the default route's.
class Grandmaster {
 public:
  static constexpr int kDomain = 7;
  Grandmaster() {
    const std::string id = std::to_string(::getpid() % 100000);
    ns_ = "tilmash-ptp-" + id;
    here_ = "tptpa" + id;
    there_ = "tptpb" + id;
    const std::string net = "10.79." + std::to_string(1 + ::getpid() % 250) + ".";
    ip_ = net + "2";
    const std::string setup = "ip netns add " + ns_ + " && ip link add " + here_ + " type veth peer name " + there_ +
                              " && ip link set " + there_ + " netns " + ns_ + " && ip addr add " + ip_ + "/24 dev " +
                              here_ + " && ip link set " + here_ + " up && ip netns exec " + ns_ + " ip addr add " +
                              net + "1/24 dev " + there_ + " && ip netns exec " + ns_ + " ip link set " + there_ +
                              " up && ip route replace 224.0.1.129/32 dev " + here_;
    if (std::system(setup.c_str()) != 0) return;
    // The grandmaster's identity is its interface's MAC as an EUI-64 (IEEE 1588-2008 7.5.2.2.2).
    const std::string mac = Shell("ip netns exec " + ns_ + " cat /sys/class/net/" + there_ + "/address");
    unsigned m[6];
    if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return;
    char gm[32];
    std::snprintf(gm, sizeof gm, "%02X-%02X-%02X-FF-FE-%02X-%02X-%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
    gmid_ = gm;
    log_ = ::testing::TempDir() + "ptp4l-" + id + ".log";
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      // Master at once (priority1 1), announcing 4 times and syncing 8 times a second.
      ::execlp("ip", "ip", "netns", "exec", ns_.c_str(), "ptp4l", "-i", there_.c_str(), "-S", "-m", "--domainNumber",
               std::to_string(kDomain).c_str(), "--priority1", "1", "--announceReceiptTimeout", "2",
               "--logAnnounceInterval", "-2", "--logSyncInterval", "-3", nullptr);
      ::_exit(127);
    }
    ok_ = pid_ > 0;
  }
  ~Grandmaster() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::system(("ip route del 224.0.1.129/32 dev " + here_ + " 2>/dev/null; ip link del " + here_ +
                 " 2>/dev/null; ip netns del " + ns_ + " 2>/dev/null")
                    .c_str());
  }
  static std::string Shell(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, p)) out += buf;
      ::pclose(p);
    }
    return out;
  }
  std::string ptp4l_log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

 protected:
  bool ok_ = false;
  pid_t pid_ = -1;
  std::string ns_, here_, there_, ip_, gmid_, log_;
};

// Bases are built in order: the grandmaster runs before the daemon starts and waits for it.
class Aes67PtpTest : public Grandmaster, public E2eTest {
 protected:
  static std::string Group() { return "239.69.91." + std::to_string(1 + ::getpid() % 100); }
  Aes67PtpTest()
      : E2eTest({"--ptp-domain", std::to_string(kDomain), "--aes67-interface", ip_, "--aes67-out-group", Group(),
                 "--aes67-out-port", std::to_string(TestPort(5)), "--log-level", "info"},
                /*capture_stderr=*/true) {}
};

// --ptp-domain 7 with a grandmaster on the AES67 interface: the daemon syncs to it before any
// session, the SAP-announced SDP names it (a=ts-refclk:ptp=IEEE1588-2008:<its EUI-64>:7), and
// every packet's RTP timestamp is the grandmaster's time in samples (ptp4l serves this host's
// CLOCK_REALTIME; the sessions' own clock would be CLOCK_MONOTONIC, decades away).
TEST_F(Aes67PtpTest, TheStreamsCarryTheGrandmastersTimeAndNameIt) {
  ASSERT_TRUE(ok_) << "the grandmaster's namespace or ptp4l did not start (root, iproute2, linuxptp)";
  const std::string log = daemon_.Stderr(), synced = "PTP domain 7: synced to grandmaster " + gmid_ + " in ";
  const auto at = log.find(synced);
  ASSERT_NE(at, std::string::npos) << log << "\nptp4l:\n" << ptp4l_log();
  std::cout << "[ measured ] the daemon synced to ptp4l's grandmaster in "
            << std::atoi(log.c_str() + at + synced.size()) << " ms (ptp4l started just before it)\n";
  const uint16_t desk_port = TestPort(6);
  const int sap = JoinOnLoopback("239.255.255.255", 9875, ip_);
  v1::Session session;
  {
    auto st = CreateVenueSession(daemon_, desk_port, &session);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  const std::string sdp = SapAnnouncement(sap, "Tilmash " + session.id() + " floor", 5s);
  ASSERT_FALSE(sdp.empty()) << "no SAP announcement on " << ip_;
  EXPECT_NE(sdp.find("\r\na=ts-refclk:ptp=IEEE1588-2008:" + gmid_ + ":7\r\na=mediaclk:direct=0\r\n"), std::string::npos)
      << sdp;
  auto stream = domain::ParseAes67Sdp(sdp, "sap");
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  PacedDesk desk(desk_port);
  const int out = JoinOnLoopback(stream->address, stream->port, ip_);
  ReceiveL24(out, 1500, 3s);  // the desk is running, the timeline settled
  Drain(out);
  const auto packets = ReceiveL24(out, 1000, 3s);
  ASSERT_GT(packets.size(), 900u);
  const auto lag = MediaClockLagMs(packets, [](const L24Packet& k) { return k.realtime_ns; });
  std::cout << "[ measured ] PTP domain 7 (ptp4l in a namespace): RTP timestamp behind the grandmaster's time at "
               "arrival: p1 "
            << lag[lag.size() / 100] << " ms, p50 " << lag[lag.size() / 2] << " ms, p99 " << lag[lag.size() * 99 / 100]
            << " ms\n";
  ExpectOnTheMediaClock(lag);
  std::vector<float> audio;
  for (const auto& k : packets) audio.insert(audio.end(), k.samples.begin(), k.samples.end());
  EXPECT_NEAR(audio::PeakDb(audio), -20, 1.0) << "the desk's tone, on PTP time";
  ::close(out);
  ::close(sap);
}

}  // namespace
}  // namespace tilmash::testing
