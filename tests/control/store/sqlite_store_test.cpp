// The SQLite state store on a real file: records come back as they were written, the file is
// 0600, a session's listeners go with it, revoked tokens are kept until they expire, and a
// corrupt file, a second daemon on the same directory or a full disk are errors naming the file.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "store/sqlite_store.h"

namespace tilmash::store {
namespace {

using namespace domain;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char d[] = "/tmp/tilmash-store-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir = std::string(d) + "/state";  // created by Open
  }
  void TearDown() override { std::system(("rm -rf " + dir.substr(0, dir.rfind('/'))).c_str()); }
  std::unique_ptr<SqliteStore> OpenOk() {
    auto s = SqliteStore::Open(dir);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static SessionRecord Session() {
    SessionRecord r;
    r.id = "plenary";
    r.name = "Plenary \"main\" hall";
    r.default_duck_db = -15;
    r.floor_language = "en";
    r.floor_source = RtpSource{true};
    r.floor_ingest =
        IngestInfo{{"10.0.0.5", 40002}, 96, 0, SrtpKeying{CryptoSuite::kAesCm128HmacSha1_80, {1, 2, 255}, 7}};
    r.floor_backup = ToneSource{1000, -30};
    r.floor_select = FloorSelect::kBackup;
    r.channels = {{"ru", -18}, {"kk", 0}};
    r.booths = {{"ru", BoothConfig{std::string("kk"), std::nullopt, {"en", "fr"}}}};
    r.interlock = InterlockMode::kToggleOverride;
    r.on_air = true;
    StoredConsole c;
    c.view.id = "c-1";
    c.view.booth = "ru";
    c.view.mic = MicState::kMuted;
    c.view.output_channel = "kk";
    c.view.output_slot = OutputSlot::kB;
    c.view.input = InputSelection{InputSelection::Kind::kChannel, "kk"};
    c.owner = "tok-9";
    c.ingest = IngestInfo{{"10.0.0.5", 40010}, 96, 99, SrtpKeying{CryptoSuite::kAeadAes128Gcm, {9, 8}, 3}};
    c.return_endpoint = Endpoint{"10.0.0.9", 5000};
    c.return_stream = StoredStream{4242, SrtpKeying{}, 2, StreamAnchor{123, 65537, 777, 20}};
    r.consoles = {c};
    r.held = {{"c-2", "c-1"}};
    r.recordings = {{"floor", 0}, {"ru", 120}};
    r.groups = {StoredGroup{"ru", "g-1", {"239.255.0.1", 5004}, StoredStream{5, SrtpKeying{}, 1, StreamAnchor{}}}};
    r.mirror_of = "origin.example.org:7300";
    return r;
  }
  std::string dir;
};

TEST_F(SqliteStoreTest, WhatIsWrittenComesBackAndTheFileIs0600) {
  {
    auto s = OpenOk();
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->PutSession(Session()).ok());
    ListenerRecord l;
    l.session = "plenary";
    l.view.id = "l-1";
    l.view.owner = "tok-1";
    l.view.channel = "ru";
    l.view.endpoint = {"192.168.1.20", 5002};
    l.view.ssrc = 31337;
    l.view.srtp = SrtpKeying{CryptoSuite::kAesCm128HmacSha1_80, std::vector<uint8_t>(30, 0xAB), 0};
    l.view.key_id = 4;
    l.view.lease = std::chrono::milliseconds(60000);
    l.view.interpretation_percent = 80;
    l.anchor = StreamAnchor{1700000000000, 12, 99, 10};
    ASSERT_TRUE(s->PutListener(l).ok());
    l.view.id = "l-2";
    ASSERT_TRUE(s->PutListener(l).ok());
    ASSERT_TRUE(s->DeleteListener("plenary", "l-2").ok());
    auth::Claims claims;
    claims.id = "tok-revoked";
    claims.expires = std::chrono::system_clock::now() + std::chrono::hours(1);
    ASSERT_TRUE(s->Issued(claims).ok());
    ASSERT_TRUE(s->Revoked("tok-revoked").ok());
    ASSERT_TRUE(s->Revoked("tok-minted-elsewhere").ok());
    claims.id = "tok-expired";
    claims.expires = std::chrono::system_clock::now() - std::chrono::hours(1);
    ASSERT_TRUE(s->Issued(claims).ok());
    ASSERT_TRUE(s->Revoked("tok-expired").ok());
  }
  struct stat st {};
  ASSERT_EQ(stat((dir + "/tilmash.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto s = OpenOk();
  ASSERT_TRUE(s);
  auto loaded = s->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->sessions.size(), 1u);
  const SessionRecord& r = loaded->sessions[0];
  const SessionRecord w = Session();
  EXPECT_EQ(r.name, w.name);
  EXPECT_EQ(r.mirror_of, "origin.example.org:7300") << "an edge's mirrored session says where from";
  EXPECT_DOUBLE_EQ(r.default_duck_db, -15);
  ASSERT_TRUE(r.floor_ingest && r.floor_ingest->srtp);
  EXPECT_EQ(r.floor_ingest->endpoint.port, 40002);
  EXPECT_EQ(r.floor_ingest->srtp->master_key, (std::vector<uint8_t>{1, 2, 255}));
  EXPECT_EQ(r.floor_ingest->srtp->roc, 7u);
  ASSERT_TRUE(std::holds_alternative<ToneSource>(r.floor_backup));
  EXPECT_DOUBLE_EQ(std::get<ToneSource>(r.floor_backup).level_dbfs, -30);
  EXPECT_EQ(r.floor_select, FloorSelect::kBackup);
  ASSERT_EQ(r.channels.size(), 2u);
  EXPECT_EQ(r.channels[1].name, "kk");
  ASSERT_EQ(r.booths.size(), 1u);
  EXPECT_EQ(r.booths[0].second.b, std::optional<std::string>("kk"));
  EXPECT_FALSE(r.booths[0].second.c.has_value());
  EXPECT_EQ(r.booths[0].second.takes, (std::vector<std::string>{"en", "fr"}));
  EXPECT_EQ(r.interlock, InterlockMode::kToggleOverride);
  EXPECT_TRUE(r.on_air);
  ASSERT_EQ(r.consoles.size(), 1u);
  const StoredConsole& c = r.consoles[0];
  EXPECT_EQ(c.view.mic, MicState::kMuted);
  EXPECT_EQ(c.view.output_slot, OutputSlot::kB);
  EXPECT_EQ(c.view.input, (InputSelection{InputSelection::Kind::kChannel, "kk"}));
  EXPECT_EQ(c.ingest.ssrc, 99u);
  EXPECT_EQ(c.ingest.srtp->suite, CryptoSuite::kAeadAes128Gcm);
  ASSERT_TRUE(c.return_stream);
  EXPECT_EQ(c.return_stream->anchor.index, 65537u);
  EXPECT_EQ(c.return_stream->anchor.frame_ms, 20u);
  EXPECT_EQ(r.held, w.held);
  EXPECT_EQ(r.recordings, w.recordings);
  ASSERT_EQ(r.groups.size(), 1u);
  EXPECT_EQ(r.groups[0].group.host, "239.255.0.1");

  ASSERT_EQ(loaded->listeners.size(), 1u);
  const ListenerRecord& l = loaded->listeners[0];
  EXPECT_EQ(l.view.id, "l-1");
  EXPECT_EQ(l.view.ssrc, 31337u);
  EXPECT_EQ(l.view.srtp.master_key, std::vector<uint8_t>(30, 0xAB));
  EXPECT_EQ(l.view.key_id, 4u);
  EXPECT_EQ(l.view.lease, std::chrono::milliseconds(60000));
  EXPECT_EQ(l.view.interpretation_percent, 80u);
  EXPECT_EQ(l.anchor.since_unix_ms, 1700000000000);
  // Revoked and unexpired only (one minted before the ledger: kept, its expiry unknown).
  std::vector<std::string> revoked = loaded->revoked_tokens;
  std::sort(revoked.begin(), revoked.end());
  EXPECT_EQ(revoked, (std::vector<std::string>{"tok-minted-elsewhere", "tok-revoked"}));

  ASSERT_TRUE(s->DeleteSession("plenary").ok());
  loaded = s->Load();
  EXPECT_TRUE(loaded->sessions.empty());
  EXPECT_TRUE(loaded->listeners.empty()) << "a session's listeners go with it";
}

TEST_F(SqliteStoreTest, ASecondDaemonOnTheSameDirectoryIsRefused) {
  auto first = OpenOk();
  ASSERT_TRUE(first);
  auto second = SqliteStore::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(dir + "/tilmash.db"), std::string::npos) << second.status().message();
  EXPECT_NE(second.status().message().find("another tilmashd"), std::string::npos) << second.status().message();
}

TEST_F(SqliteStoreTest, ACorruptFileIsAnErrorNamingIt) {
  {
    auto s = OpenOk();
    ASSERT_TRUE(s);
    for (int i = 0; i < 50; ++i) {
      SessionRecord r = Session();
      r.id = "s" + std::to_string(i);
      ASSERT_TRUE(s->PutSession(r).ok());
    }
  }
  // Overwrite the middle of the file: its pages no longer hold together.
  std::fstream f(dir + "/tilmash.db", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(4096 + 100);
  const std::string junk(8000, '\x5a');
  f.write(junk.data(), std::streamsize(junk.size()));
  f.close();
  std::remove((dir + "/tilmash.db-wal").c_str());
  auto s = SqliteStore::Open(dir);
  std::string message;
  if (s.ok()) {
    auto loaded = s.value()->Load();
    ASSERT_FALSE(loaded.ok()) << "a damaged file must not load as if it were whole";
    message = loaded.status().message();
  } else {
    message = s.status().message();
  }
  EXPECT_NE(message.find(dir + "/tilmash.db"), std::string::npos) << message;
}

TEST_F(SqliteStoreTest, AFullDiskIsAnErrorToTheWriterNamingTheFile) {
  // A child with a small file-size limit: writes past it fail as on a full disk.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    auto opened = SqliteStore::Open(dir);
    if (!opened.ok()) _exit(10);
    auto s = std::move(opened).value();
    rlimit small{64 * 1024, 64 * 1024};
    setrlimit(RLIMIT_FSIZE, &small);
    for (int i = 0; i < 10000; ++i) {
      SessionRecord r = Session();
      r.id = "s" + std::to_string(i);
      r.name = std::string(2000, 'x');
      Status st = s->PutSession(r);
      if (!st.ok()) {
        const bool named = st.message().find(dir + "/tilmash.db") != std::string::npos;
        _exit(named && st.code() == StatusCode::kUnavailable ? 0 : 11);
      }
    }
    _exit(12);  // never failed
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: open failed, 11: the error does not name the file, 12: no error";
}

}  // namespace
}  // namespace tilmash::store
