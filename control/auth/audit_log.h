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
  // path "" keeps the log in memory only.
  explicit AuditLog(const std::string& path = "");
  ~AuditLog();
  void Append(AuditEntry entry);
  std::vector<AuditEntry> Since(std::chrono::system_clock::time_point since, std::size_t limit) const;

 private:
  mutable std::mutex mu_;
  std::deque<AuditEntry> entries_;
  std::FILE* file_ = nullptr;
};

}  // namespace tilmash::auth
