#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "log/log.h"

namespace tilmash::store {

using domain::Result;
using domain::Status;

namespace {

std::shared_ptr<spdlog::logger> Log() {
  static auto l = log::Get("store");
  return l;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What an operator can do about an SQLite failure.
std::string Hint(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return " (the disk is full)";
    case SQLITE_READONLY:
      return " (the state directory or file is read-only)";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return " (the file is corrupt or not a Tilmash state database: move it away to start empty, or put back a "
             "backup)";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return " (another tilmashd uses this state directory)";
    case SQLITE_IOERR:
      return " (an I/O error: check the disk)";
    case SQLITE_CANTOPEN:
      return " (cannot open it: check the directory's permissions)";
    default:
      return "";
  }
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listeners(session_id TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
                                     PRIMARY KEY(session_id, id));
CREATE TABLE IF NOT EXISTS tokens(id TEXT PRIMARY KEY, subject TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '',
                                  session_id TEXT NOT NULL DEFAULT '', expires_unix INTEGER,
                                  revoked INTEGER NOT NULL DEFAULT 0);
)sql";
constexpr int kSchemaVersion = 1;

}  // namespace

Status SqliteStore::Failed(const std::string& what, int rc) {
  const char* msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return domain::Unavailable("state database " + path_ + ": " + what + ": " + msg + Hint(rc));
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& dir) {
  if (dir.empty()) return domain::InvalidArgument("state_dir is empty (a directory, or none for memory only)");
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || mkdir(dir.c_str(), 0700) != 0)
      return domain::Unavailable("state_dir " + dir + ": cannot create it: " + std::strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    return domain::Unavailable("state_dir " + dir + " is not a directory");
  }
  if (access(dir.c_str(), W_OK) != 0)
    return domain::Unavailable("state_dir " + dir + " is not writable: " + std::strerror(errno));
  std::unique_ptr<SqliteStore> store(new SqliteStore(dir + "/" + kFileName));
  // Created 0600 before SQLite opens it (its WAL and index files take the same mode).
  const int fd = ::open(store->path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return domain::Unavailable("state database " + store->path_ + ": " + std::strerror(errno));
  const bool was_open = fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!was_open) return domain::Unavailable("state database " + store->path_ + ": cannot make it 0600");
  if (Status s = store->Init(); !s.ok()) return s;
  return store;
}

Status SqliteStore::Init() {
  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return Failed("open", rc);
  sqlite3_extended_result_codes(db_, 1);
  auto exec = [&](const char* sql, const char* what) -> Status {
    char* err = nullptr;
    const int r = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    return r == SQLITE_OK ? Status::Ok() : Failed(what, r);
  };
  // A corrupt file (or one that is not a database) refuses to start.
  std::string check;
  rc = sqlite3_exec(
      db_, "PRAGMA quick_check",
      [](void* out, int, char** v, char**) {
        auto* s = static_cast<std::string*>(out);
        if (v[0] && std::strcmp(v[0], "ok") != 0) *s += std::string(s->empty() ? "" : "; ") + v[0];
        return 0;
      },
      &check, nullptr);
  if (rc != SQLITE_OK) return Failed("reading it", rc);
  if (!check.empty())
    return domain::Unavailable("state database " + path_ + " is corrupt (" + check + ")" + Hint(SQLITE_CORRUPT));
  // WAL: a change is one append; synchronous=NORMAL keeps every committed change through a
  // killed process (not through a power cut, which may lose the last changes).
  if (Status s = exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=200;", "setting WAL");
      !s.ok())
    return s;
  // One daemon per state directory: the first write takes the lock and keeps it.
  if (Status s = exec("PRAGMA locking_mode=EXCLUSIVE;", "locking it"); !s.ok()) return s;
  if (Status s = exec(kSchema, "creating its tables"); !s.ok()) return s;
  // Its schema, and a first write: a read-only or full disk is an error now, not at the first change.
  sqlite3_stmt* version = nullptr;
  sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key='schema_version'", -1, &version, nullptr);
  int found = 0;
  if (version && sqlite3_step(version) == SQLITE_ROW) found = sqlite3_column_int(version, 0);
  sqlite3_finalize(version);
  if (found > kSchemaVersion)
    return domain::Unavailable("state database " + path_ + " has schema version " + std::to_string(found) +
                               ", newer than this tilmashd (" + std::to_string(kSchemaVersion) + ")");
  const std::string stamp = "INSERT INTO meta(key, value) VALUES('schema_version', '" + std::to_string(kSchemaVersion) +
                            "'), ('opened_unix_ms', '" + std::to_string(NowMs()) +
                            "') ON CONFLICT(key) DO UPDATE SET value=excluded.value;";
  if (Status s = exec(stamp.c_str(), "writing to it"); !s.ok()) return s;
  struct Prep {
    sqlite3_stmt** stmt;
    const char* sql;
  };
  for (auto [stmt, sql] : {
           Prep{&put_session_,
                "INSERT INTO sessions(id, record) VALUES(?1, ?2) "
                "ON CONFLICT(id) DO UPDATE SET record=excluded.record"},
           Prep{&delete_session_, "DELETE FROM sessions WHERE id=?1"},
           Prep{&delete_session_listeners_, "DELETE FROM listeners WHERE session_id=?1"},
           Prep{&put_listener_,
                "INSERT INTO listeners(session_id, id, record) VALUES(?1, ?2, ?3) "
                "ON CONFLICT(session_id, id) DO UPDATE SET record=excluded.record"},
           Prep{&delete_listener_, "DELETE FROM listeners WHERE session_id=?1 AND id=?2"},
           Prep{&put_token_,
                "INSERT INTO tokens(id, subject, role, session_id, expires_unix) "
                "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING"},
           Prep{&revoke_token_,
                "INSERT INTO tokens(id, revoked) VALUES(?1, 1) "
                "ON CONFLICT(id) DO UPDATE SET revoked=1"},
       }) {
    rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
    if (rc != SQLITE_OK) return Failed("preparing a statement", rc);
  }
  Log()->info("state database {} open", path_);
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* s : {put_session_, delete_session_, delete_session_listeners_, put_listener_, delete_listener_,
                          put_token_, revoke_token_})
    sqlite3_finalize(s);
  if (db_) sqlite3_close(db_);
}

Status SqliteStore::Run(sqlite3_stmt* stmt, const std::vector<std::string>& text, const std::vector<int64_t>& ints) {
  int i = 1;
  for (const auto& t : text) sqlite3_bind_text(stmt, i++, t.data(), int(t.size()), SQLITE_STATIC);
  for (int64_t v : ints) sqlite3_bind_int64(stmt, i++, v);
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (rc == SQLITE_DONE) return Status::Ok();
  Status failed = Failed("write", rc);
  // Every failed write reaches its caller; the log says it at most once a second.
  if (const int64_t now = NowMs(); now - last_error_log_ms_ >= 1000) {
    last_error_log_ms_ = now;
    Log()->error("{}", failed.message());
  }
  return failed;
}

Status SqliteStore::PutSession(const domain::SessionRecord& session) {
  const std::string json = SessionToJson(session);
  std::lock_guard lock(mu_);
  return Run(put_session_, {session.id, json});
}

Status SqliteStore::DeleteSession(const domain::SessionId& session) {
  std::lock_guard lock(mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return Failed("begin", sqlite3_errcode(db_));
  Status s = Run(delete_session_listeners_, {session});
  if (s.ok()) s = Run(delete_session_, {session});
  const int rc = sqlite3_exec(db_, s.ok() ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
  if (s.ok() && rc != SQLITE_OK) return Failed("commit", rc);
  return s;
}

Status SqliteStore::PutListener(const domain::ListenerRecord& listener) {
  const std::string json = ListenerToJson(listener);
  std::lock_guard lock(mu_);
  return Run(put_listener_, {listener.session, listener.view.id, json});
}

Status SqliteStore::DeleteListener(const domain::SessionId& session, const domain::ListenerId& listener) {
  std::lock_guard lock(mu_);
  return Run(delete_listener_, {session, listener});
}

Status SqliteStore::Issued(const auth::Claims& c) {
  const int64_t expires = std::chrono::duration_cast<std::chrono::seconds>(c.expires.time_since_epoch()).count();
  std::lock_guard lock(mu_);
  return Run(put_token_, {c.id, c.subject, auth::RoleName(c.role), c.session}, {expires});
}

Status SqliteStore::Revoked(const std::string& token_id) {
  std::lock_guard lock(mu_);
  return Run(revoke_token_, {token_id});
}

Result<LoadedState> SqliteStore::Load() {
  std::lock_guard lock(mu_);
  LoadedState out;
  auto each = [&](const char* sql, auto&& row) -> Status {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Failed("reading it", rc);
    Status s = Status::Ok();
    while (s.ok() && (rc = sqlite3_step(stmt)) == SQLITE_ROW) s = row(stmt);
    sqlite3_finalize(stmt);
    if (s.ok() && rc != SQLITE_DONE) return Failed("reading it", rc);
    return s;
  };
  auto text = [](sqlite3_stmt* st, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
    return std::string(p ? p : "");
  };
  Status s = each("SELECT id, record FROM sessions ORDER BY rowid", [&](sqlite3_stmt* st) -> Status {
    auto r = SessionFromJson(text(st, 1));
    if (!r.ok())
      return domain::Unavailable("state database " + path_ + ": session " + text(st, 0) +
                                 " cannot be read: " + r.status().message());
    out.sessions.push_back(std::move(r).value());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  s = each("SELECT session_id, id, record FROM listeners ORDER BY rowid", [&](sqlite3_stmt* st) -> Status {
    auto r = ListenerFromJson(text(st, 2));
    if (!r.ok())
      return domain::Unavailable("state database " + path_ + ": listener " + text(st, 1) +
                                 " cannot be read: " + r.status().message());
    out.listeners.push_back(std::move(r).value());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  const int64_t now_s = NowMs() / 1000;
  s = each("SELECT id, expires_unix FROM tokens WHERE revoked=1", [&](sqlite3_stmt* st) -> Status {
    // A revoked token past its expiry is refused anyway; an unknown expiry is kept.
    if (sqlite3_column_type(st, 1) == SQLITE_NULL || sqlite3_column_int64(st, 1) > now_s)
      out.revoked_tokens.push_back(text(st, 0));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace tilmash::store
