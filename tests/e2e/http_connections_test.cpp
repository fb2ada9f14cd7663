// The HTTP side's connections over their life: keep-alive clients that go away leave nothing
// behind in the daemon (no CLOSE-WAIT socket, no file descriptor), and one that stays is served
// request after request on its one connection. Raw sockets, so that the test decides exactly
// when a connection opens, idles and closes.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "e2e_support.h"
#include "http_client.h"

namespace tilmash::testing {
namespace {

// A keep-alive HTTP/1.1 client on one TCP connection.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};  // a server that does not answer fails the test, it does not hang it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~KeepAliveClient() { Close(); }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // GET `path` and read the whole response: its status, or 0 when the connection failed.
  // `headers`: more request header lines, each ending in CRLF.
  int Get(const std::string& path, const std::string& headers = "") {
    if (!connected_) return 0;
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
    if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) return 0;
    std::string in;
    size_t head_end = std::string::npos;
    size_t body_length = 0;
    char buf[4096];
    while (head_end == std::string::npos || in.size() < head_end + 4 + body_length) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      in.append(buf, size_t(n));
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        const auto cl = in.find("Content-Length: ");
        if (cl == std::string::npos || cl > head_end) return 0;  // /healthz has a length
        body_length = std::stoul(in.substr(cl + 16));
        keep_alive_ = in.find("Connection: close") == std::string::npos;
      }
    }
    if (in.rfind("HTTP/1.1 ", 0) != 0) return 0;
    return std::stoi(in.substr(9, 3));
  }
  bool keep_alive() const { return keep_alive_; }

  // Sends `request` as is and reads until `until` has come: what came, or "" on a failure.
  std::string SendAndReadUntil(const std::string& request, const std::string& until) {
    if (!connected_ || send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) return "";
    std::string in;
    char buf[4096];
    while (in.find(until) == std::string::npos) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return "";
      in.append(buf, size_t(n));
    }
    return in;
  }

 private:
  int fd_;
  bool connected_ = false;
  bool keep_alive_ = false;
};

// The daemon's TCP sockets on its HTTP port in state CLOSE_WAIT (08 in /proc/net/tcp): a peer
// closed and the daemon has not closed its side.
int CloseWaitOnPort(pid_t pid, int port) {
  std::ifstream tcp("/proc/" + std::to_string(pid) + "/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  int n = 0;
  while (std::getline(tcp, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = local.find(':');
    if (colon != std::string::npos && std::stoi(local.substr(colon + 1), nullptr, 16) == port && state == "08") ++n;
  }
  return n;
}

int OpenFds(pid_t pid) {
  int n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n - 2;  // "." and ".."
}

// Polls until `done` or `limit` has passed; whether it got there.
template <class F>
bool Within(std::chrono::milliseconds limit, F done) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class HttpConnectionsTest : public E2eTest {};

TEST_F(HttpConnectionsTest, KeepAliveClientsThatLeaveLeaveNoSocketBehind) {
  const pid_t pid = daemon_.pid();
  const int port = daemon_.http_port();
  {  // one request first (on a connection the server closes): whatever the HTTP side opens once
     // is in the baseline
    KeepAliveClient warm(port);
    ASSERT_EQ(warm.Get("/healthz", "Connection: close\r\n"), 200);
  }
  ASSERT_TRUE(Within(3s, [&] { return CloseWaitOnPort(pid, port) == 0; }));
  const int baseline = OpenFds(pid);

  constexpr int kClients = 50;
  for (int i = 0; i < kClients; ++i) {
    KeepAliveClient c(port);
    ASSERT_EQ(c.Get("/healthz"), 200) << "client " << i;
    EXPECT_TRUE(c.keep_alive()) << "the server keeps HTTP/1.1 connections open";
  }  // each closes here, idle between requests, as a player or a scraper that goes away

  int close_wait = -1, fds = -1;
  const bool clean = Within(3s, [&] {
    close_wait = CloseWaitOnPort(pid, port);
    fds = OpenFds(pid);
    return close_wait == 0 && fds <= baseline;
  });
  EXPECT_TRUE(clean) << kClients << " clients closed; the daemon still holds " << close_wait
                     << " sockets in CLOSE-WAIT and " << fds << " fds (" << baseline << " before)";
}

TEST_F(HttpConnectionsTest, OneKeepAliveConnectionServesRequestAfterRequestThenIsReleased) {
  const pid_t pid = daemon_.pid();
  const int port = daemon_.http_port();
  KeepAliveClient player(port);
  // An HLS player: a request, a pause, the next request, on the same connection; others come
  // and go meanwhile.
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(player.Get("/healthz"), 200) << "request " << i << " on the one connection";
    EXPECT_TRUE(player.keep_alive());
    KeepAliveClient passer_by(port);
    EXPECT_EQ(passer_by.Get("/healthz"), 200);
    passer_by.Close();
    std::this_thread::sleep_for(50ms);  // the pause between a player's requests, not a wait
  }
  EXPECT_TRUE(Within(3s, [&] { return CloseWaitOnPort(pid, port) == 0; })) << "the passers-by left sockets behind";
  EXPECT_EQ(player.Get("/healthz"), 200) << "the player's connection outlived the others";
  player.Close();
  EXPECT_TRUE(Within(3s, [&] { return CloseWaitOnPort(pid, port) == 0; })) << "the player's socket stayed";
}

// The technician's event stream is one long response, not an idle connection: it stays open
// while others come and go, and when its page goes the stream and its socket go too.
TEST_F(HttpConnectionsTest, AnEventStreamLivesOnAndEndsWithItsPage) {
  const pid_t pid = daemon_.pid();
  const int port = daemon_.http_port();
  auto tech_streams = [&] {
    const auto m = Http(daemon_.http_url() + "metrics", "GET", "", "", daemon_.admin_token()).body;
    const auto at = m.find("\ntilmash_tech_streams ");
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + 22));
  };
  KeepAliveClient page(port);
  const std::string head = page.SendAndReadUntil(
      "GET /tech/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + daemon_.admin_token() + "\r\n\r\n",
      "event: state");
  ASSERT_NE(head.find("200 OK"), std::string::npos) << head;
  for (int i = 0; i < 10; ++i) {
    KeepAliveClient passer_by(port);
    EXPECT_EQ(passer_by.Get("/healthz"), 200);
  }
  EXPECT_TRUE(Within(3s, [&] { return CloseWaitOnPort(pid, port) == 0; }));
  EXPECT_EQ(tech_streams(), 1) << "the stream outlives the connections around it";
  page.Close();
  EXPECT_TRUE(Within(3s, [&] { return tech_streams() == 0 && CloseWaitOnPort(pid, port) == 0; }))
      << tech_streams() << " streams, " << CloseWaitOnPort(pid, port) << " sockets in CLOSE-WAIT";
}

}  // namespace
}  // namespace tilmash::testing
