// What the browser tests share: the scripts' directory (with playwright-core) and where their
// screenshots go.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

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

}  // namespace tilmash::testing
