#include "auth/audit_log.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

namespace tilmash::auth {

AuditLog::AuditLog(const std::string& path) : path_(path) {
  if (path_.empty()) return;
  file_ = std::fopen(path_.c_str(), "a");  // append-only, never truncated
  if (!file_) error_ = "cannot open the audit log " + path_ + ": " + std::strerror(errno);
}

std::string AuditLog::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

std::string AuditLog::Reopen() {
  if (path_.empty()) return "";
  std::FILE* next = std::fopen(path_.c_str(), "a");
  if (!next) return "cannot reopen the audit log " + path_ + ": " + std::strerror(errno);
  std::lock_guard lock(mu_);
  if (file_) std::fclose(file_);
  file_ = next;
  error_.clear();
  return "";
}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

void AuditLog::Append(AuditEntry e) {
  std::lock_guard lock(mu_);
  if (file_) {
    nlohmann::json j = {
        {"time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count()},
        {"subject", e.subject},
        {"role", RoleName(e.role)},
        {"token_id", e.token_id},
        {"action", e.action},
        {"target", e.target},
        {"result", e.result}};
    std::fprintf(file_, "%s\n", j.dump().c_str());
    std::fflush(file_);
  }
  entries_.push_back(std::move(e));
  if (entries_.size() > kKept) entries_.pop_front();
}

std::vector<AuditEntry> AuditLog::Since(std::chrono::system_clock::time_point since, std::size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<AuditEntry> out;
  for (const auto& e : entries_) {
    if (e.time < since) continue;
    out.push_back(e);
    if (out.size() >= limit) break;
  }
  return out;
}

}  // namespace tilmash::auth
