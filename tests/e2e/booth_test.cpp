// Booths end to end, measured on real audio: relay and auto-relay through return feeds,
// relay generations, handover without gap or overlap, WatchBooth latency.
#include "client/stream_receiver.h"
#include "e2e_support.h"

namespace tilmash::testing {
namespace {

using client::StreamReceiver;

class BoothE2eTest : public E2eTest {
 protected:
  struct Desk {
    v1::JoinConsoleResponse join;
    std::unique_ptr<RtpSender> voice;
    std::unique_ptr<StreamReceiver> ear;  // the return feed: what the interpreter hears
    const std::string& id() const { return join.console().id(); }
  };

  Desk JoinWithReturn(const std::string& session, const std::string& booth, double hz) {
    Desk d;
    std::string error;
    d.ear = StreamReceiver::Bind("127.0.0.1", &error);
    EXPECT_TRUE(d.ear) << error;
    grpc::ClientContext ctx;
    v1::JoinConsoleRequest req;
    req.set_session_id(session);
    req.set_booth(booth);
    req.mutable_return_endpoint()->set_host("127.0.0.1");
    req.mutable_return_endpoint()->set_port(d.ear->local_port());
    auto st = daemon_.booths().JoinConsole(&ctx, req, &d.join);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(d.join.has_return_feed());
    EXPECT_TRUE(d.ear->Attach(d.join.return_feed().ssrc(), d.join.return_feed().srtp(), &error)) << error;
    d.voice = Speak(d.join.ingest(), hz);
    return d;
  }

  void Configure(const std::string& session, const std::string& booth, const std::vector<std::string>& takes,
                 const std::string& retour_b = "") {
    grpc::ClientContext ctx;
    v1::ConfigureBoothRequest req;
    req.set_session_id(session);
    req.set_booth(booth);
    req.set_retour_b(retour_b);
    for (auto& t : takes) req.add_takes(t);
    v1::Booth b;
    auto st = daemon_.booths().ConfigureBooth(&ctx, req, &b);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  grpc::Status SelectInput(const std::string& session, const std::string& console, const std::string& channel) {
    grpc::ClientContext ctx;
    v1::SelectInputRequest req;
    req.set_session_id(session);
    req.set_console_id(console);
    req.mutable_input()->set_channel(channel);
    v1::Console c;
    return daemon_.booths().SelectInput(&ctx, req, &c);
  }

  template <class Receiver>
  static std::vector<double> Next(Receiver& r, const std::vector<double>& hz, int ms = 200) {
    const std::size_t start = r.SampleCount();
    const std::size_t n = std::size_t(ms) * 48;
    EXPECT_TRUE(r.WaitForSamples(start + n, 5s)) << "no audio arrived";
    auto x = r.Samples(start, n);
    std::vector<double> out;
    for (double f : hz) out.push_back(audio::ToneLevelDb(x, f));
    return out;
  }
};

constexpr double kKkFloor = 440, kRu = 880, kUz = 1320, kKy = 1760;

TEST_F(BoothE2eTest, RelayThroughTheRuPivotReachesTheUzListenerWithGenerations012) {
  auto session = CreateSession({"ru", "uz", "ky"}, kKkFloor);
  Configure(session.id(), "ru", {"kk", "en"});
  Configure(session.id(), "uz", {"ru"});
  Configure(session.id(), "ky", {"ru"});
  {
    grpc::ClientContext ctx;
    v1::SetFloorLanguageRequest req;
    req.set_session_id(session.id());
    req.set_language("kk");
    v1::Session s;
    ASSERT_TRUE(daemon_.sessions().SetFloorLanguage(&ctx, req, &s).ok());
  }
  auto ru = JoinWithReturn(session.id(), "ru", kRu);
  auto uz = JoinWithReturn(session.id(), "uz", kUz);  // input: auto
  auto ky = JoinWithReturn(session.id(), "ky", kKy);
  ASSERT_TRUE(SelectInput(session.id(), ky.id(), "uz").ok()) << "ky relays uz by hand";
  ASSERT_TRUE(SetMic(session.id(), ru.id(), true).ok());
  ASSERT_TRUE(SetMic(session.id(), uz.id(), true).ok());
  ASSERT_TRUE(SetMic(session.id(), ky.id(), true).ok());
  auto uz_listener = Listen(session.id(), "uz");
  ASSERT_TRUE(uz_listener);
  Next(*uz.ear, {kRu}, 100);  // settle

  auto ru_hears = Next(*ru.ear, {kKkFloor, kRu});
  EXPECT_GT(ru_hears[0], -26) << "the ru interpreter hears the kk floor";
  auto uz_hears = Next(*uz.ear, {kKkFloor, kRu});
  EXPECT_GT(uz_hears[1], -24) << "the uz booth on auto hears the ru pivot";
  EXPECT_LT(uz_hears[0], uz_hears[1] - 15) << "...with the floor ducked under it";
  auto ky_hears = Next(*ky.ear, {kRu, kUz});
  EXPECT_GT(ky_hears[1], -24) << "ky hears the uz channel";
  auto delegate = Next(*uz_listener, {kKkFloor, kRu, kUz});
  EXPECT_GT(delegate[2], -24) << "the uz delegate hears the uz interpreter";
  EXPECT_LT(delegate[1], delegate[2] - 30) << "the pivot does not leak into uz";

  auto s = GetSession(session.id());
  std::map<std::string, const v1::Channel*> ch;
  for (const auto& c : s.channels()) ch[c.language()] = &c;
  EXPECT_EQ(ch["ru"]->relay_generation(), 0);
  EXPECT_EQ(ch["uz"]->relay_generation(), 1);
  EXPECT_EQ(ch["ky"]->relay_generation(), 2);
  EXPECT_EQ(ch["ru"]->used_as_relay_by(), 1u);
  EXPECT_EQ(ch["uz"]->used_as_relay_by(), 1u);
  for (const auto& c : s.consoles())
    if (c.id() == uz.id()) {
      EXPECT_EQ(c.effective_input(), "ru");
    }
}

TEST_F(BoothE2eTest, HandoverHasNoGapAndNoOverlapAtTheListener) {
  auto session = CreateSession({"ru"}, kKkFloor);
  auto a = JoinWithReturn(session.id(), "ru", kRu);
  auto b = JoinWithReturn(session.id(), "ru", kUz);
  ASSERT_TRUE(SetMic(session.id(), a.id(), true).ok());
  auto l = Listen(session.id(), "ru");
  ASSERT_TRUE(l);
  Next(*l, {kRu}, 200);
  {
    grpc::ClientContext ctx;
    v1::HandoverRequest req;
    req.set_session_id(session.id());
    req.set_console_id(b.id());
    v1::HandoverResponse r;
    ASSERT_TRUE(daemon_.booths().RequestHandover(&ctx, req, &r).ok());
  }
  const std::size_t from = l->SampleCount();
  {
    grpc::ClientContext ctx;
    v1::HandoverRequest req;
    req.set_session_id(session.id());
    req.set_console_id(a.id());
    v1::HandoverResponse r;
    ASSERT_TRUE(daemon_.booths().AcceptHandover(&ctx, req, &r).ok());
  }
  ASSERT_TRUE(l->WaitForSamples(from + 48 * 400, 5s));
  auto x = l->Samples(from, 48 * 400);
  int both = 0, longest_gap = 0, gap = 0, a_frames = 0, b_frames = 0;
  for (std::size_t i = 0; i + 480 <= x.size(); i += 480) {
    std::span<const float> f(x.data() + i, 480);
    const double la = audio::ToneLevelDb(f, kRu), lb = audio::ToneLevelDb(f, kUz);
    both += la > -23 && lb > -23;  // both interpreters at (nearly) full level in one frame
    const bool silent = la < -30 && lb < -30;
    gap = silent ? gap + 1 : 0;
    longest_gap = std::max(longest_gap, gap);
    a_frames += la > -23;
    b_frames += lb > -23;
  }
  // Both ramps cross at one running time, but audiomixer places each console's samples where
  // its stream continues (timestamps within its 40 ms alignment threshold are not followed), so
  // two consoles can sit up to a frame apart in the mix: one 10 ms frame of overlap is what the
  // console path's timestamps allow today (docs/latency.md); more is a defect.
  EXPECT_LE(both, 1) << "never both interpreters at once for more than one frame";
  std::cout << "[ measured ] handover: " << both << " frame(s) with both at full level, longest silence " << longest_gap
            << " frame(s); " << a_frames << " frames of the first interpreter, " << b_frames << " of the partner\n";
  EXPECT_LE(longest_gap, Sanitized() ? 10 : 1) << "no silence longer than one frame";
  EXPECT_GT(b_frames, 30) << "the partner took over";
  EXPECT_EQ(l->stats().lost, 0u);
}

// The console's link drops (its packets are lost on the way, its mic stays live) and comes back:
// per 10 ms frame at a real SRTP listener, the channel is never long without the interpreter or
// the floor at full level.
TEST_F(BoothE2eTest, ALostConsoleLinkPutsTheFloorOnItsChannelAndTheVoiceComesBack) {
  auto session = CreateSession({"ru"}, kKkFloor);
  auto a = JoinWithReturn(session.id(), "ru", kRu);
  ASSERT_TRUE(SetMic(session.id(), a.id(), true).ok());
  auto l = Listen(session.id(), "ru");
  ASSERT_TRUE(l);
  Next(*l, {kRu}, 300);
  auto console_of = [&](const v1::Session& s) {
    for (const auto& c : s.consoles())
      if (c.id() == a.id()) return c;
    return v1::Console();
  };
  EXPECT_FALSE(console_of(GetSession(session.id())).link_lost());

  // Frame by frame over `ms` from sample `from`: the longest run of frames where neither the
  // interpreter nor the floor is at full level, and how many frames each was at full level.
  struct Run {
    int longest_gap = 0, voice = 0, floor = 0, last_voice = -1, first_floor = -1;
  };
  auto measure = [&](std::size_t from, int ms) {
    EXPECT_TRUE(l->WaitForSamples(from + 48 * std::size_t(ms), 5s));
    auto x = l->Samples(from, 48 * std::size_t(ms));
    Run r;
    int gap = 0, frame = 0;
    for (std::size_t i = 0; i + 480 <= x.size(); i += 480, ++frame) {
      std::span<const float> f(x.data() + i, 480);
      const bool voice = audio::ToneLevelDb(f, kRu) > -23, floor = audio::ToneLevelDb(f, kKkFloor) > -23;
      gap = voice || floor ? 0 : gap + 1;
      r.longest_gap = std::max(r.longest_gap, gap);
      r.voice += voice;
      r.floor += floor;
      if (voice) r.last_voice = frame;
      if (floor && r.first_floor < 0) r.first_floor = frame;
    }
    return r;
  };

  const std::size_t down_at = l->SampleCount();
  a.voice->SetLinkDown(true);
  const Run down = measure(down_at, 800);
  const v1::Console lost = console_of(GetSession(session.id()));
  EXPECT_TRUE(lost.link_lost()) << "the console shows its lost link";
  EXPECT_EQ(lost.mic(), v1::MIC_LIVE) << "and its mic stays live";

  const std::size_t up_at = l->SampleCount();
  a.voice->SetLinkDown(false);
  const Run up = measure(up_at, 600);
  EXPECT_FALSE(console_of(GetSession(session.id())).link_lost());

  std::cout << "[ measured ] link lost: " << down.longest_gap * 10 << " ms with neither the interpreter nor the floor "
            << "at full level (last voice frame " << down.last_voice << ", floor at full level from frame "
            << down.first_floor << "); link back: " << up.longest_gap * 10 << " ms\n";
  EXPECT_LE(down.longest_gap * 10, Sanitized() ? 400 : 100);
  EXPECT_GT(down.floor, 50) << "the floor carries the channel while the link is lost";
  EXPECT_LE(up.longest_gap * 10, Sanitized() ? 400 : 100);
  EXPECT_GT(up.voice, 40) << "the interpreter is back";
  // Ducked again under the voice: the last 200 ms have the floor below full level.
  auto tail = Next(*l, {kRu, kKkFloor}, 200);
  EXPECT_GT(tail[0], -23);
  EXPECT_LT(tail[1], -30);
}

TEST_F(BoothE2eTest, WatchBoothShowsAMicChangeWithin50ms) {
  auto session = CreateSession({"ru"}, kKkFloor);
  auto console = Join(session.id(), "ru");
  grpc::ClientContext ctx;
  v1::WatchBoothRequest req;
  req.set_session_id(session.id());
  req.set_booth("ru");
  auto reader = daemon_.booths().WatchBooth(&ctx, req);
  v1::BoothEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  ASSERT_TRUE(ev.has_state());
  std::vector<double> delays;
  for (int i = 0; i < 10; ++i) {
    const bool live = i % 2 == 0;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(SetMic(session.id(), console.console().id(), live).ok());
    bool seen = false;
    while (!seen && reader->Read(&ev))
      if (ev.has_state())
        for (const auto& c : ev.state().consoles())
          seen = seen || (c.id() == console.console().id() && (c.mic() == v1::MIC_LIVE) == live);
    ASSERT_TRUE(seen);
    delays.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(delays.begin(), delays.end());
  std::cout << "[ measured ] RPC -> WatchBooth update: median " << delays[5] << " ms, max " << delays.back() << " ms\n";
  EXPECT_LT(delays.back(), Sanitized() ? 500.0 : 50.0);
  ctx.TryCancel();
}

TEST_F(BoothE2eTest, A20dBBurstStaysUnderMinus1dBFSOnEveryFeed) {
  auto session = CreateSession({"ru", "en"}, std::nullopt);
  auto desk = Speak(session.floor_ingest(), 1000, -20);
  auto ru = JoinWithReturn(session.id(), "ru", kRu);
  ASSERT_TRUE(SetMic(session.id(), ru.id(), true).ok());
  auto floor = Listen(session.id(), "floor");
  auto en = Listen(session.id(), "en");   // auto-floor
  auto rul = Listen(session.id(), "ru");  // interpreter + ducked floor
  ASSERT_TRUE(floor && en && rul);
  Next(*en, {1000}, 200);
  const double before = Next(*en, {1000}, 200)[0];
  desk->SetTone(1000, 0);     // the floor jumps by +20 dB, to full scale
  ru.voice->SetTone(kRu, 0);  // and the interpreter shouts into the mic
  Next(*en, {1000}, 100);
  struct Feed {
    const char* name;
    std::function<std::vector<float>(int)> next;
  };
  auto take = [](auto& r, int ms) {
    const std::size_t start = r.SampleCount();
    EXPECT_TRUE(r.WaitForSamples(start + std::size_t(ms) * 48, 5s));
    return r.Samples(start, std::size_t(ms) * 48);
  };
  std::vector<Feed> feeds = {{"floor listener", [&](int ms) { return take(*floor, ms); }},
                             {"en listener (auto-floor)", [&](int ms) { return take(*en, ms); }},
                             {"ru listener (interpreter)", [&](int ms) { return take(*rul, ms); }},
                             {"ru console return feed", [&](int ms) { return take(*ru.ear, ms); }}};
  for (auto& f : feeds) {
    auto x = f.next(1000);
    const double peak = audio::PeakDb(x);
    std::cout << "[ measured ] " << f.name << ": peak " << peak << " dBFS during the burst\n";
    EXPECT_LE(peak, -1.0) << f.name;
    EXPECT_GT(peak, -12.0) << f.name << " still carries the burst (limited, not muted)";
  }
  EXPECT_LT(before, -18) << "before the burst the floor was at -20 dBFS";
}

}  // namespace
}  // namespace tilmash::testing
