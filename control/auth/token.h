// Signed bearer tokens (JWT, HS256 via libjwt) and the roles they carry. Tokens are minted by
// an operator through the API; the secret never leaves the daemon; revocation is by token id.
#pragma once
#include <chrono>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "domain/status.h"

namespace tilmash::auth {

// kEdge: an edge node mirroring sessions (tilmashd --edge-of): reads sessions and subscribes to
// their channels, any number of streams; bound to a session, only that one.
enum class Role { kAdmin, kOperator, kChair, kInterpreter, kDelegate, kViewer, kEdge };
std::ostream& operator<<(std::ostream& os, Role r);
const char* RoleName(Role r);
bool RoleFromName(const std::string& name, Role* out);

struct Claims {
  std::string id;       // jti: what RevokeToken names
  std::string subject;  // who
  Role role = Role::kViewer;
  std::string session;                // bound session ("" for admin/operator, and an edge of every session)
  std::string booth;                  // interpreter: bound booth
  std::vector<std::string> channels;  // delegate/viewer: allowed channels (empty: all)
  uint32_t max_streams = 1;
  std::chrono::system_clock::time_point expires;
};

// Where issued and revoked token ids are kept across restarts (the state store); written
// before MintToken and RevokeToken answer.
class TokenLedger {
 public:
  virtual ~TokenLedger() = default;
  virtual domain::Status Issued(const Claims& claims) = 0;
  virtual domain::Status Revoked(const std::string& token_id) = 0;
};

class TokenAuthority {
 public:
  // secret: at least 32 random bytes (HS256 key).
  explicit TokenAuthority(std::vector<uint8_t> secret);
  // Fills claims.id when empty. Returns the signed token.
  std::string Mint(Claims& claims) const;
  // kUnavailable is never returned; failures are kInvalidArgument-free: the caller maps every
  // failure to UNAUTHENTICATED. The message says why (malformed, bad signature, expired, revoked).
  domain::Result<Claims> Verify(const std::string& token) const;
  // Writes the revocation to the ledger first: a revocation that cannot be kept is an error
  // and takes no effect (the caller can try again).
  domain::Status Revoke(const std::string& token_id);
  bool IsRevoked(const std::string& token_id) const;
  std::vector<std::string> RevokedIds() const;
  // Records a minted token in the ledger (Ok without one).
  domain::Status RecordIssued(const Claims& claims);
  // At start: the ledger (may be null) and the revocations it kept.
  void UseLedger(TokenLedger* ledger, const std::vector<std::string>& revoked);

 private:
  std::vector<uint8_t> secret_;
  mutable std::mutex mu_;
  std::set<std::string> revoked_;
  TokenLedger* ledger_ = nullptr;
};

// Reads the HS256 secret from `path`, creating it (0600, 32 random bytes) when missing.
domain::Result<std::vector<uint8_t>> LoadOrCreateSecret(const std::string& path);

}  // namespace tilmash::auth
