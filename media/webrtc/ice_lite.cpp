#include "webrtc/ice_lite.h"

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include <cstring>
#include <random>

namespace tilmash::webrtc {

namespace {

// Comprehension-required attributes a check may carry (the optional ones, >= 0x8000, such as
// Chrome's network info, are skipped by libnice anyway).
const uint16_t kKnownAttributes[] = {STUN_ATTRIBUTE_USERNAME,
                                     STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
                                     STUN_ATTRIBUTE_ERROR_CODE,
                                     STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
                                     STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                                     STUN_ATTRIBUTE_PRIORITY,
                                     STUN_ATTRIBUTE_USE_CANDIDATE,
                                     STUN_ATTRIBUTE_ICE_CONTROLLED,
                                     STUN_ATTRIBUTE_ICE_CONTROLLING,
                                     STUN_ATTRIBUTE_FINGERPRINT,
                                     0};

void Init(StunAgent* agent) {
  stun_agent_init(agent, kKnownAttributes, STUN_COMPATIBILITY_RFC5389,
                  StunAgentUsageFlags(STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT));
}

struct Lookup {
  const IceResponder::Password* password = nullptr;
  IceCheck* check = nullptr;
  bool known = false;
};

bool ValidateRequest(StunAgent*, StunMessage*, uint8_t* username, uint16_t length, uint8_t** password,
                     std::size_t* password_length, void* data) {
  auto* l = static_cast<Lookup*>(data);
  const std::string user(reinterpret_cast<const char*>(username), length);
  const auto colon = user.find(':');
  if (colon == std::string::npos) return false;
  l->check->local_ufrag = user.substr(0, colon);
  l->check->remote_ufrag = user.substr(colon + 1);
  const std::string* pwd = (*l->password)(l->check->local_ufrag);
  if (!pwd) return false;
  l->known = true;
  *password = reinterpret_cast<uint8_t*>(const_cast<char*>(pwd->data()));
  *password_length = pwd->size();
  return true;
}

bool ValidateResponse(StunAgent*, StunMessage*, uint8_t*, uint16_t, uint8_t** password, std::size_t* password_length,
                      void* data) {
  const auto* pwd = static_cast<const std::string*>(data);
  *password = reinterpret_cast<uint8_t*>(const_cast<char*>(pwd->data()));
  *password_length = pwd->size();
  return true;
}

}  // namespace

Datagram Classify(const uint8_t* data, std::size_t size) {
  if (size == 0) return Datagram::kOther;
  const uint8_t b = data[0];
  if (b <= 3) return Datagram::kStun;
  if (b >= 20 && b <= 63) return Datagram::kDtls;
  if (b >= 128 && b <= 191) return Datagram::kRtp;
  return Datagram::kOther;
}

bool IsRtcp(const uint8_t* data, std::size_t size) { return size >= 8 && data[1] >= 192 && data[1] <= 223; }

struct IceResponder::Agent {
  StunAgent stun;
};

IceResponder::IceResponder() : agent_(std::make_unique<Agent>()) { Init(&agent_->stun); }
IceResponder::~IceResponder() = default;

std::size_t IceResponder::Answer(const uint8_t* in, std::size_t size, const sockaddr_in& from, const Password& password,
                                 uint8_t* reply, std::size_t capacity, IceCheck* check, std::string* error) {
  StunMessage request{};
  Lookup lookup{&password, check, false};
  const StunValidationStatus v = stun_agent_validate(&agent_->stun, &request, in, size, ValidateRequest, &lookup);
  if (v != STUN_VALIDATION_SUCCESS) {
    if (error) {
      switch (v) {
        case STUN_VALIDATION_UNAUTHORIZED:
        case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
          *error = lookup.known ? "bad MESSAGE-INTEGRITY" : "unknown ICE username";
          break;
        case STUN_VALIDATION_NOT_STUN:
        case STUN_VALIDATION_INCOMPLETE_STUN:
          *error = "not a STUN message";
          break;
        default:
          *error = "invalid STUN request (" + std::to_string(int(v)) + ")";
      }
    }
    return 0;
  }
  if (stun_message_get_class(&request) != STUN_REQUEST || stun_message_get_method(&request) != STUN_BINDING) {
    if (error) *error = "not a binding request";
    return 0;
  }
  sockaddr_storage src{};
  std::memcpy(&src, &from, sizeof from);
  StunMessage response{};
  std::size_t length = capacity;
  bool controlling = false;  // a lite agent is always controlled
  const StunUsageIceReturn r =
      stun_usage_ice_conncheck_create_reply(&agent_->stun, &request, &response, reply, &length, &src, sizeof from,
                                            &controlling, 0, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  if (r != STUN_USAGE_ICE_RETURN_SUCCESS) {
    if (error) *error = "cannot answer the check (" + std::to_string(int(r)) + ")";
    return 0;
  }
  check->use_candidate = stun_usage_ice_conncheck_use_candidate(&request);
  return length;
}

struct IceChecker::Agent {
  StunAgent stun;
  uint64_t tie = 0;
};

IceChecker::IceChecker(std::string username, std::string password)
    : agent_(std::make_unique<Agent>()), username_(std::move(username)), password_(std::move(password)) {
  Init(&agent_->stun);
  agent_->tie = std::random_device{}() | uint64_t(std::random_device{}()) << 32;
}
IceChecker::~IceChecker() = default;

std::size_t IceChecker::Build(bool use_candidate, uint8_t* out, std::size_t capacity) {
  StunMessage msg{};
  // A host candidate's priority (RFC 8445 5.1.2.1: type preference 126, one component).
  const uint32_t priority = (126u << 24) | (65535u << 8) | 255u;
  return stun_usage_ice_conncheck_create(
      &agent_->stun, &msg, out, capacity, reinterpret_cast<const uint8_t*>(username_.data()), username_.size(),
      reinterpret_cast<const uint8_t*>(password_.data()), password_.size(), use_candidate, true, priority, agent_->tie,
      nullptr, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
}

bool IceChecker::IsSuccess(const uint8_t* in, std::size_t size) {
  StunMessage msg{};
  const auto v =
      stun_agent_validate(&agent_->stun, &msg, in, size, ValidateResponse, const_cast<std::string*>(&password_));
  if (v != STUN_VALIDATION_SUCCESS) return false;
  sockaddr_storage mapped{};
  socklen_t len = sizeof mapped;
  return stun_usage_ice_conncheck_process(&msg, &mapped, &len, STUN_USAGE_ICE_COMPATIBILITY_RFC5245) ==
         STUN_USAGE_ICE_RETURN_SUCCESS;
}

}  // namespace tilmash::webrtc
