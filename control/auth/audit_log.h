// Append-only audit of operator and chair actions (who, what, when, result): kept in memory
// for the API and appended as JSON lines to a file when one is configured.
#pragma once
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "auth/token.h"

namespace tilmash::auth {

struct AuditEntry {
  std::chrono::system_clock::time_point time;
  std::string subject;
  Role role = Role::kViewer;
  std::string token_id;
  std::string action;
  std::string target;
  std::string result;
};

class AuditLog {
 public:
  static constexpr std::size_t kKept = 100000;
  // path "" keeps the log in memory only. A file that cannot be opened leaves error() set.
  explicit AuditLog(const std::string& path = "");
  ~AuditLog();
  // Why the file could not be opened ("" when it is open or there is none).
  std::string error() const;
  // Closes the file and opens its path again (after logrotate moved it: new entries go to a
  // new file of that name). Returns "" or what went wrong (the old file is kept then).
  std::string Reopen();
  void Append(AuditEntry entry);
  std::vector<AuditEntry> Since(std::chrono::system_clock::time_point since, std::size_t limit) const;

 private:
  mutable std::mutex mu_;
  std::deque<AuditEntry> entries_;
  const std::string path_;
  std::string error_;
  std::FILE* file_ = nullptr;
};

}  // namespace tilmash::auth
