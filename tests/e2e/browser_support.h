// What the browser tests share: the scripts' directory (with playwright-core) and where their
// screenshots go.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"

namespace tilmash::testing {

// tests/browser of the source tree (not __FILE__: ccache compiles with paths relative to the
// build dir), or "" with a failure when playwright-core is not installed there.
inline std::string BrowserDir() {
  std::string dir = std::string(TILMASH_SOURCE_DIR) + "/tests/browser";
  if (std::filesystem::exists(dir + "/node_modules/playwright-core")) return dir;
  ADD_FAILURE() << "playwright-core is not installed in " << dir << " (tools/setup runs npm ci there)";
  return "";
}

// An absolute path in build/tests/artifacts: the browser scripts run in tests/browser.
inline std::string Artifact(const std::string& name) {
  const std::string dir = std::filesystem::absolute(BinDir() + "/../tests/artifacts").lexically_normal().string();
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A browser script of tests/browser (tech.mjs, booth.mjs) running on its own thread: its JSON
// lines are collected as they come; Do() appends a command to its --cmd file.
class PageScript {
 public:
  // `prefix` goes before node (e.g. "ip netns exec NAME").
  PageScript(const std::string& script, const std::string& args, const std::string& prefix = "")
      : stop_file_(TempName("stop")), cmd_file_(TempName("cmd")) {
    const std::string dir = BrowserDir();
    if (dir.empty()) return;
    const std::string cmd = "cd '" + dir + "' && timeout 150 " + prefix + " node " + script + " --stop '" + stop_file_ +
                            "' --cmd '" + cmd_file_ + "' --seconds 120 " + args + " 2>&1";
    thread_ = std::thread([this, cmd] {
      FILE* p = popen(cmd.c_str(), "r");
      char line[16384];
      while (p && std::fgets(line, sizeof line, p)) {
        std::printf("[ browser  ] %s", line);
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded()) continue;
        std::lock_guard lock(mu_);
        lines_.push_back(std::move(j));
        cv_.notify_all();
      }
      const int rc = p ? pclose(p) : -1;
      std::lock_guard lock(mu_);
      rc_ = rc;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~PageScript() { Stop(); }

  // Appends one command (a JSON object) for the script.
  void Do(const nlohmann::json& command) { std::ofstream(cmd_file_, std::ios::app) << command.dump() << "\n"; }

  // Lines so far: a mark to wait from.
  std::size_t size() {
    std::lock_guard lock(mu_);
    return lines_.size();
  }
  // The first line from `from` on that `match`es, waiting up to `limit`.
  std::optional<nlohmann::json> WaitFor(std::size_t from, const std::function<bool(const nlohmann::json&)>& match,
                                        std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    std::optional<nlohmann::json> found;
    cv_.wait_for(lock, limit, [&] {
      for (std::size_t i = from; i < lines_.size(); ++i)
        if (match(lines_[i])) {
          found = lines_[i];
          return true;
        }
      return done_;
    });
    return found;
  }
  // Ends the script (it takes its screenshot first): its exit code.
  int Stop() {
    if (!thread_.joinable()) return rc_;
    std::ofstream(stop_file_) << "stop\n";
    thread_.join();
    std::filesystem::remove(stop_file_);
    std::filesystem::remove(cmd_file_);
    return rc_;
  }

 private:
  static std::string TempName(const char* what) {
    static std::atomic<int> n{0};
    return "/tmp/tilmash-page-" + std::string(what) + "-" + std::to_string(getpid()) + "-" + std::to_string(NowMs()) +
           "-" + std::to_string(n++);
  }
  const std::string stop_file_, cmd_file_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> lines_;
  bool done_ = false;
  int rc_ = -1;
  std::thread thread_;
};

}  // namespace tilmash::testing
