#include "graph/aes67_input.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "graph/graph_parts.h"

namespace tilmash::graph {

using domain::Result;

domain::Result<gst::GObjectPtr<GSocket>> BindAes67(const domain::Aes67Stream& stream, const std::string& interface) {
  const std::string where = stream.address + ":" + std::to_string(stream.port);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return domain::Internal("AES67 socket: " + std::string(std::strerror(errno)));
  auto fail = [&](const std::string& what) -> domain::Status {
    const std::string text = "AES67 stream " + where + ": " + what + ": " + std::strerror(errno);
    ::close(fd);
    return domain::Unavailable(text);
  };
  const int on = 1, rcvbuf = 1 << 20;
  // A multicast group may have other receivers on this host (a recorder, a monitor).
  if (stream.multicast) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(stream.port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (stream.multicast) inet_pton(AF_INET, stream.address.c_str(), &a.sin_addr);  // checked by the parser
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  if (stream.multicast) {
    in_addr iface{};
    iface.s_addr = htonl(INADDR_ANY);
    if (!interface.empty() && inet_pton(AF_INET, interface.c_str(), &iface) != 1) {
      errno = EINVAL;
      return fail("interface " + interface);
    }
    if (!stream.source.empty()) {
      ip_mreq_source m{};
      m.imr_multiaddr = a.sin_addr;
      m.imr_interface = iface;
      if (inet_pton(AF_INET, stream.source.c_str(), &m.imr_sourceaddr) != 1) {
        errno = EINVAL;
        return fail("source-filter " + stream.source);
      }
      if (::setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof m) != 0)
        return fail("join (source-specific)");
    } else {
      ip_mreq m{};
      m.imr_multiaddr = a.sin_addr;
      m.imr_interface = iface;
      if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return fail("join");
    }
  }
  gst::ErrorPtr err;
  auto socket = gst::GObjectPtr<GSocket>::Adopt(g_socket_new_from_fd(fd, err.out()));
  if (!socket) {
    ::close(fd);
    return domain::Internal("AES67 socket: " + err.message());
  }
  return socket;
}

unsigned Aes67JitterMs(const domain::Aes67Stream& stream, unsigned floor_ms) {
  return std::max(std::max(floor_ms, 1u), (3 * stream.ptime_us + 999) / 1000);
}

domain::Result<std::vector<gst::ElementPtr>> BuildAes67Input(const domain::Aes67Stream& stream, uint32_t channel,
                                                             GSocket* socket, unsigned jitter_floor_ms) {
  std::string missing;
  auto src = parts::Make("udpsrc", &missing);
  auto jb = parts::Make("rtpjitterbuffer", &missing);
  auto depay = parts::Make(stream.bits == 16 ? "rtpL16depay" : "rtpL24depay", &missing);
  auto conv = parts::Make("audioconvert", &missing);
  if (!missing.empty()) return parts::Missing(missing);
  const std::string caps_text =
      "application/x-rtp,media=audio,clock-rate=48000,encoding-name=" + std::string(stream.bits == 16 ? "L16" : "L24") +
      ",channels=" + std::to_string(stream.channels) + ",payload=" + std::to_string(stream.payload_type);
  gst::CapsPtr caps(gst_caps_from_string(caps_text.c_str()));
  g_object_set(src.get(), "socket", socket, "close-socket", FALSE, "caps", caps.get(), "do-timestamp", TRUE,
               "buffer-size", 1 << 20, nullptr);
  // In-order packets pass at once; a missing one is waited for this long, then it is a gap
  // event the depayloader turns into silence of its length.
  g_object_set(jb.get(), "latency", Aes67JitterMs(stream, jitter_floor_ms), "do-lost", TRUE, nullptr);
  parts::SetMonoMix(conv.get(), stream.channels, channel);  // one output channel from N
  return std::vector<gst::ElementPtr>{src, jb, depay, conv, parts::MakeCapsFilter(parts::kRawCaps)};
}

}  // namespace tilmash::graph
