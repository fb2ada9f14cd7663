// The state store on disk: one SQLite database (Debian's libsqlite3) in the state directory,
// holding what a restart needs to bring every session and listener back. WAL journal, one
// transaction per change, written before the call that made the change answers.
//
// Tables: sessions (one row per session: its record as JSON - channels, floor, booths,
// consoles with their ingest keys, multicast groups), listeners (one row per listener, with
// its key), tokens (issued and revoked token ids) and meta (schema version). Keys are stored in
// the clear: the file is 0600 and the directory 0700 (README: keys at rest).
#pragma once
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/token.h"
#include "domain/ports.h"

namespace tilmash::store {

struct LoadedState {
  std::vector<domain::SessionRecord> sessions;
  std::vector<domain::ListenerRecord> listeners;
  std::vector<std::string> revoked_tokens;  // still unexpired
};

class SqliteStore final : public domain::StateStore, public auth::TokenLedger {
 public:
  static constexpr const char* kFileName = "tilmash.db";

  // Opens (creating) `dir`/tilmash.db, checks it and writes to it once, so a read-only
  // directory, a full disk, a corrupt file or a second daemon on the same directory is an
  // error at start; the message names the file and what is wrong.
  static domain::Result<std::unique_ptr<SqliteStore>> Open(const std::string& dir);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }
  // Everything kept; a row that cannot be read is an error naming it.
  domain::Result<LoadedState> Load();

  domain::Status PutSession(const domain::SessionRecord& session) override;
  domain::Status DeleteSession(const domain::SessionId& session) override;
  domain::Status PutListener(const domain::ListenerRecord& listener) override;
  domain::Status DeleteListener(const domain::SessionId& session, const domain::ListenerId& listener) override;
  domain::Status Issued(const auth::Claims& claims) override;
  domain::Status Revoked(const std::string& token_id) override;

 private:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  domain::Status Init();
  // Runs one prepared statement with text/integer bindings (mu_ held).
  domain::Status Run(sqlite3_stmt* stmt, const std::vector<std::string>& text, const std::vector<int64_t>& ints = {});
  domain::Status Failed(const std::string& what, int rc);

  const std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *put_session_ = nullptr, *delete_session_ = nullptr, *delete_session_listeners_ = nullptr,
               *put_listener_ = nullptr, *delete_listener_ = nullptr, *put_token_ = nullptr, *revoke_token_ = nullptr;
  int64_t last_error_log_ms_ = 0;
};

// JSON of the records (sqlite_store_json.cpp); exposed for the store's tests.
std::string SessionToJson(const domain::SessionRecord& r);
domain::Result<domain::SessionRecord> SessionFromJson(const std::string& json);
std::string ListenerToJson(const domain::ListenerRecord& r);
domain::Result<domain::ListenerRecord> ListenerFromJson(const std::string& json);

}  // namespace tilmash::store
