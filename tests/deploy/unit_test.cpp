// deploy/tilmashd.service through systemd's own checks: `systemd-analyze verify` has nothing to
// say about it, and `systemd-analyze security --offline=true` rates its exposure at most 2.5.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "shell.h"

namespace {

const std::string kUnit = std::string(TILMASH_SOURCE_DIR) + "/deploy/tilmashd.service";

using tilmash::testing::Shell;

// The unit as the package installs it, but starting the daemon of this build (verify checks
// that ExecStart's program exists and is executable).
std::string UnitForThisBuild() {
  std::ifstream in(kUnit);
  std::stringstream ss;
  ss << in.rdbuf();
  const char* bin = std::getenv("TILMASH_BIN");
  const std::string text =
      std::regex_replace(ss.str(), std::regex("/usr/bin/tilmashd"), std::string(bin ? bin : "build/bin") + "/tilmashd");
  std::string path = ::testing::TempDir() + "tilmashd.service";
  std::ofstream(path) << text;
  return path;
}

TEST(SystemdUnit, VerifyHasNothingToSay) {
  const auto [out, code] = Shell("systemd-analyze verify " + UnitForThisBuild());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "") << "every line of systemd-analyze verify is a problem";
}

TEST(SystemdUnit, SecurityExposureIsAtMost2_5) {
  const auto [out, code] = Shell("systemd-analyze security --offline=true --no-pager " + UnitForThisBuild());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(Overall exposure level for \S+: ([0-9.]+))"))) << out;
  const double exposure = std::stod(m[1]);
  std::cout << "[ measured ] systemd-analyze security exposure " << exposure << "\n";
  EXPECT_LE(exposure, 2.5);
}

TEST(SystemdUnit, NotifiesRunsAsTilmashAndReloadsWithSighup) {
  std::ifstream in(kUnit);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string unit = ss.str();
  for (const char* line :
       {"Type=notify", "User=tilmash", "StateDirectory=tilmash", "LogsDirectory=tilmash", "RuntimeDirectory=tilmash",
        "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec="})
    EXPECT_NE(unit.find(line), std::string::npos) << line;
}

}  // namespace
