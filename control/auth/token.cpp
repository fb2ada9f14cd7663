#include "auth/token.h"

#include <fcntl.h>
#include <jwt.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace tilmash::auth {

namespace {
constexpr const char* kIssuer = "tilmash";

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::string RandomId() {
  uint8_t b[12];
  if (getrandom(b, sizeof b, 0) != sizeof b) throw std::runtime_error("getrandom failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "t-";
  for (uint8_t v : b) {
    id += kHex[v >> 4];
    id += kHex[v & 15];
  }
  return id;
}
}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAdmin:
      return "admin";
    case Role::kOperator:
      return "operator";
    case Role::kChair:
      return "chair";
    case Role::kInterpreter:
      return "interpreter";
    case Role::kDelegate:
      return "delegate";
    case Role::kViewer:
      return "viewer";
    case Role::kEdge:
      return "edge";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, Role r) { return os << RoleName(r); }

bool RoleFromName(const std::string& name, Role* out) {
  for (Role r :
       {Role::kAdmin, Role::kOperator, Role::kChair, Role::kInterpreter, Role::kDelegate, Role::kViewer, Role::kEdge}) {
    if (name == RoleName(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

TokenAuthority::TokenAuthority(std::vector<uint8_t> secret) : secret_(std::move(secret)) {}

std::string TokenAuthority::Mint(Claims& c) const {
  if (c.id.empty()) c.id = RandomId();
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  JwtPtr jwt(raw);
  nlohmann::json grants = {
      {"iss", kIssuer},
      {"jti", c.id},
      {"sub", c.subject},
      {"role", RoleName(c.role)},
      {"exp", std::chrono::duration_cast<std::chrono::seconds>(c.expires.time_since_epoch()).count()},
  };
  if (!c.session.empty()) grants["sid"] = c.session;
  if (!c.booth.empty()) grants["booth"] = c.booth;
  if (!c.channels.empty()) grants["channels"] = c.channels;
  if (c.role == Role::kDelegate || c.role == Role::kViewer) grants["max_streams"] = c.max_streams;
  jwt_add_grants_json(jwt.get(), grants.dump().c_str());
  jwt_set_alg(jwt.get(), JWT_ALG_HS256, secret_.data(), int(secret_.size()));
  char* encoded = jwt_encode_str(jwt.get());
  std::string token = encoded ? encoded : "";
  free(encoded);  // libjwt 1.10 allocates with malloc
  return token;
}

domain::Result<Claims> TokenAuthority::Verify(const std::string& token) const {
  auto bad = [](const std::string& why) { return domain::Status(domain::StatusCode::kInvalidArgument, why); };
  if (token.empty()) return bad("no bearer token");
  if (token.size() > 4096) return bad("token too long");
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), secret_.data(), int(secret_.size())) != 0 || !raw)
    return bad("token is malformed or its signature does not verify");
  JwtPtr jwt(raw);
  // Accept exactly the algorithm we sign with: never "none", never another key type.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return bad("token algorithm is not HS256");
  char* json = jwt_get_grants_json(jwt.get(), nullptr);
  if (!json) return bad("token has no claims");
  nlohmann::json g = nlohmann::json::parse(json, nullptr, false);
  free(json);
  // Claims of the wrong type read as absent: nothing here throws (nlohmann's value() would).
  auto text = [&](const char* name) {
    auto it = g.is_object() ? g.find(name) : g.end();
    return it != g.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!g.is_object() || text("iss") != kIssuer) return bad("token was not issued by tilmash");
  Claims c;
  c.id = text("jti");
  c.subject = text("sub");
  if (!RoleFromName(text("role"), &c.role) || c.id.empty()) return bad("token has no valid role or id");
  auto exp = g.find("exp");
  if (exp == g.end() || !exp->is_number_integer()) return bad("token has no expiry");
  c.expires = std::chrono::system_clock::time_point(std::chrono::seconds(exp->get<int64_t>()));
  if (c.expires <= std::chrono::system_clock::now()) return bad("token expired");
  c.session = text("sid");
  c.booth = text("booth");
  if (auto ch = g.find("channels"); ch != g.end() && ch->is_array())
    for (const auto& name : *ch)
      if (name.is_string()) c.channels.push_back(name.get<std::string>());
  c.max_streams = 1;
  if (auto m = g.find("max_streams"); m != g.end() && m->is_number_unsigned() && m->get<uint64_t>() <= 1000000)
    c.max_streams = uint32_t(m->get<uint64_t>());
  if (IsRevoked(c.id)) return bad("token was revoked");
  return c;
}

domain::Status TokenAuthority::Revoke(const std::string& id) {
  if (ledger_)
    if (domain::Status s = ledger_->Revoked(id); !s.ok())
      return domain::Status(s.code(), "the revocation was not saved, so it took no effect: " + s.message());
  std::lock_guard lock(mu_);
  revoked_.insert(id);
  return domain::Status::Ok();
}

std::vector<std::string> TokenAuthority::RevokedIds() const {
  std::lock_guard lock(mu_);
  return {revoked_.begin(), revoked_.end()};
}

domain::Status TokenAuthority::RecordIssued(const Claims& claims) {
  return ledger_ ? ledger_->Issued(claims) : domain::Status::Ok();
}

void TokenAuthority::UseLedger(TokenLedger* ledger, const std::vector<std::string>& revoked) {
  std::lock_guard lock(mu_);
  ledger_ = ledger;
  revoked_.insert(revoked.begin(), revoked.end());
}

bool TokenAuthority::IsRevoked(const std::string& id) const {
  std::lock_guard lock(mu_);
  return revoked_.count(id) != 0;
}

domain::Result<std::vector<uint8_t>> LoadOrCreateSecret(const std::string& path) {
  std::vector<uint8_t> secret;
  std::ifstream in(path, std::ios::binary);
  if (in) {
    secret.assign(std::istreambuf_iterator<char>(in), {});
    if (secret.size() < 32) return domain::InvalidArgument("token_secret_file " + path + " holds fewer than 32 bytes");
    return secret;
  }
  secret.resize(32);
  if (getrandom(secret.data(), secret.size(), 0) != ssize_t(secret.size())) return domain::Internal("getrandom failed");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return domain::InvalidArgument("token_secret_file " + path + " cannot be created");
  const bool ok = ::write(fd, secret.data(), secret.size()) == ssize_t(secret.size());
  ::close(fd);
  if (!ok) return domain::Internal("token_secret_file " + path + " could not be written");
  return secret;
}

}  // namespace tilmash::auth
