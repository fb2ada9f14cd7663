// ICE connectivity checks (RFC 8445) on libnice's STUN code (its stun/ library, no agent): the
// daemon's lite end answers checks (IceResponder); the load tool's full end sends them
// (IceChecker). Both also sort what arrives on a WebRTC port (RFC 7983).
#pragma once
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tilmash::webrtc {

enum class Datagram { kStun, kDtls, kRtp, kOther };
// By the first byte (RFC 7983): 0-3 STUN, 20-63 DTLS, 128-191 RTP and RTCP.
Datagram Classify(const uint8_t* data, std::size_t size);
// An RTP/RTCP datagram is RTCP when its second byte is a payload type of 192-223 (RFC 5761).
bool IsRtcp(const uint8_t* data, std::size_t size);

struct IceCheck {
  std::string local_ufrag, remote_ufrag;  // USERNAME "local:remote", local being the responder's
  bool use_candidate = false;             // the controlling agent nominated this pair
};

class IceResponder {
 public:
  // The password of a local ufrag; null when no peer has it.
  using Password = std::function<const std::string*(const std::string& local_ufrag)>;
  IceResponder();
  ~IceResponder();
  IceResponder(const IceResponder&) = delete;
  IceResponder& operator=(const IceResponder&) = delete;
  // A binding request from `from`: on a valid check (known ufrag, right MESSAGE-INTEGRITY) the
  // success response (XOR-MAPPED-ADDRESS = from) is written to `reply` and its length returned,
  // with what the check said in `check`. 0 otherwise, with the reason in `error`.
  std::size_t Answer(const uint8_t* in, std::size_t size, const sockaddr_in& from, const Password& password,
                     uint8_t* reply, std::size_t capacity, IceCheck* check, std::string* error);

 private:
  struct Agent;
  std::unique_ptr<Agent> agent_;
};

class IceChecker {
 public:
  // username "remote_ufrag:local_ufrag", password: the remote's (both from the SDP).
  IceChecker(std::string username, std::string password);
  ~IceChecker();
  IceChecker(const IceChecker&) = delete;
  IceChecker& operator=(const IceChecker&) = delete;
  // A binding request of the controlling agent; its length (0 on failure).
  std::size_t Build(bool use_candidate, uint8_t* out, std::size_t capacity);
  // True for a valid success response to one of the requests built here.
  bool IsSuccess(const uint8_t* in, std::size_t size);

 private:
  struct Agent;
  std::unique_ptr<Agent> agent_;
  const std::string username_, password_;
};

}  // namespace tilmash::webrtc
