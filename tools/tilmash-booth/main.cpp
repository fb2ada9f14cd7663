// tilmash-booth: an interpreter console (or, with --floor, the sound desk). Joins a booth, streams
// a tone, a WAV or (--device) a sound card's microphone over SRTP to the returned ingest, presses
// the desk's keys (mic, cough, input/output select, handover, messages) on a schedule, optionally
// receives and measures its return feed (what the interpreter hears; with --device played to the
// headphones), and leaves.
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <limits>
#include <mutex>

#include "audio/audio.h"
#include "booth_watch.h"
#include "client/connect.h"
#include "client/convert.h"
#include "client/credentials.h"
#include "client/interrupt.h"
#include "client/rtp_sender.h"
#include "console_actions.h"
#include "return_feed.h"
#include "schedule.h"
#include "sound/sound_device.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace {

namespace v1 = tilmash::v1;
using tilmash::booth::KeyEvent;
using tilmash::client::SetDeadline;
using tilmash::client::StatusText;
using Clock = std::chrono::steady_clock;

constexpr const char* kFooter = R"(
Schedules (seconds after the start; items separated by commas):
  --mic-schedule / --cough-schedule  on@0.5,off@2
  --select-schedule                  input=ru@2,output=B@3,input=auto@5,input=floor@6
  --message-at                       "slow-down@3,call-technician@5,text:chair:need water@6"
                                     (text goes to chair or technician; no commas in it)
  --handover-request-at              2.5 (or 2.5,8): this console, the partner, asks for the channel
--input/--output apply right after joining. --accept-handover/--decline-handover answer every
handover request addressed to this (live) console, as it arrives on WatchBooth.
Every event, refusal (interlock, relay loop, ...) and desk change is printed with its time; a
refused key press does not stop the run.
--device [CARD] makes this a console on real hardware: the microphone is captured from the ALSA
device CARD (default: 'default') and the return feed is played on it, or on --headphones; without
--seconds it runs until interrupted. Stand-ins where there is no card: test:HZ (a tone as the
microphone; as headphones it plays into nothing) and, for --headphones, wav:PATH.
--return / --return-wav ask JoinConsole for a return feed and measure it per period of what the
console heard (its effective input, seconds since joining); the last period's dominant frequency
and level are printed at the end ("return" in --json, every period in "return.periods").
Exit status: 0 all fine; 1 an RPC failed or was refused, or the return feed stayed silent; 2 bad
command line.)";

// Finds (or asks for) the floor's RTP ingest. An existing floor_ingest is reused so a running
// desk is not disturbed; otherwise the floor is switched to plain RTP.
bool FloorIngest(v1::SessionService::Stub& sessions, const std::string& session_id, v1::IngestEndpoint* ingest,
                 std::string* error) {
  v1::Session session;
  {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GetSessionRequest request;
    request.set_session_id(session_id);
    const grpc::Status status = sessions.GetSession(&context, request, &session);
    if (!status.ok()) {
      *error = "GetSession: " + StatusText(status);
      return false;
    }
  }
  if (!session.has_floor_ingest() || session.floor_ingest().endpoint().port() == 0) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::SetFloorSourceRequest request;
    request.set_session_id(session_id);
    request.mutable_source()->mutable_rtp()->set_srtp(false);
    const grpc::Status status = sessions.SetFloorSource(&context, request, &session);
    if (!status.ok()) {
      *error = "SetFloorSource: " + StatusText(status);
      return false;
    }
  }
  if (!session.has_floor_ingest() || session.floor_ingest().endpoint().port() == 0) {
    *error = "the session has no floor_ingest after SetFloorSource(rtp)";
    return false;
  }
  *ingest = session.floor_ingest();
  return true;
}

// Event lines and the JSON event log, written by the main thread and the booth-watch thread.
class EventLog {
 public:
  EventLog(bool json, Clock::time_point start) : json_(json), start_(start) {}
  double Now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  // "  2.000 s  input    ru         -> mic off, output ru (A), hears ru"
  void Add(const char* key, const std::string& value, const std::string& result, nlohmann::json entry) {
    const double at = Now();
    std::lock_guard lock(mutex_);
    entry["at"] = at;
    entry["key"] = key;
    if (!json_) {
      std::printf("%7.3f s  %-8s %-12s -> %s\n", at, key, value.c_str(), result.c_str());
      std::fflush(stdout);
    }
    entries_.push_back(std::move(entry));
  }
  nlohmann::json entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  bool json_;
  Clock::time_point start_;
  mutable std::mutex mutex_;
  nlohmann::json entries_ = nlohmann::json::array();
};

nlohmann::json ConsoleJson(const v1::Console& c) {
  return {{"mic", tilmash::client::MicStateText(c.mic())},
          {"output_channel", c.output_channel()},
          {"output_slot", tilmash::client::OutputSlotText(c.output_slot())},
          {"input", tilmash::client::InputText(c.input())},
          {"effective_input", c.effective_input()},
          {"held", c.held()}};
}

// What the desk shows (WatchBooth): the console's own state and indicators, messages to the booth,
// handovers that involve this console; answers handover requests when asked to.
class Desk {
 public:
  Desk(EventLog& log, v1::BoothService::Stub& booths, std::string session_id, std::string console_id,
       std::optional<bool> answer, tilmash::booth::ReturnFeedMonitor* feed, std::atomic<bool>& ok)
      : log_(log),
        booths_(booths),
        session_id_(std::move(session_id)),
        console_id_(std::move(console_id)),
        answer_(answer),
        feed_(feed),
        ok_(ok) {}

  void Handle(const v1::BoothEvent& event) {
    switch (event.kind_case()) {
      case v1::BoothEvent::kState:
        return OnState(event.state());
      case v1::BoothEvent::kMessage: {
        const v1::Message& m = event.message();
        nlohmann::json entry = {{"kind", tilmash::client::MessageKindText(m.kind())},
                                {"from", m.from()},
                                {"to", m.to()},
                                {"text", m.text()}};
        log_.Add("message", tilmash::client::MessageKindText(m.kind()), "from " + m.from() + ": " + m.text(), entry);
        return;
      }
      case v1::BoothEvent::kHandover:
        return OnHandover(event.handover());
      default:
        return;
    }
  }

 private:
  void OnState(const v1::Booth& booth) {
    const bool first = !seen_state_;
    seen_state_ = true;
    for (const v1::Console& c : booth.consoles()) {
      if (c.id() != console_id_) continue;
      uint32_t relay_for = 0;
      for (const v1::Channel& ch : booth.channels())
        if (ch.language() == c.output_channel()) relay_for = ch.used_as_relay_by();
      std::string desk = tilmash::booth::DeskText(c);
      if (relay_for > 0) desk += ", relay for " + std::to_string(relay_for) + " booth(s)";
      if (booth.on_air()) desk += ", ON AIR";
      if (booth.recorded()) desk += ", REC";
      if (desk != last_desk_) {
        last_desk_ = desk;
        nlohmann::json entry = ConsoleJson(c);
        entry["relay_for"] = relay_for;
        entry["on_air"] = booth.on_air();
        entry["recorded"] = booth.recorded();
        log_.Add("desk", "", desk, entry);
        if (feed_ && !c.effective_input().empty()) feed_->Mark(c.effective_input());
      }
    }
    // A request that was pending before the watch started has no REQUESTED event of its own.
    if (first && booth.handover_from() == console_id_ && !booth.handover_to().empty()) Answer(booth.handover_to());
  }

  void OnHandover(const v1::HandoverEvent& h) {
    if (h.from_console_id() != console_id_ && h.to_console_id() != console_id_) return;
    const char* what = tilmash::client::HandoverWhatText(h.what());
    nlohmann::json entry = {{"what", what}, {"from", h.from_console_id()}, {"to", h.to_console_id()}};
    entry["channel"] = h.channel();
    log_.Add("handover", what, tilmash::client::HandoverSentence(h), entry);
    if (h.what() == v1::HandoverEvent::REQUESTED && h.from_console_id() == console_id_) Answer(h.to_console_id());
  }

  void Answer(const std::string& partner) {
    if (!answer_) return;
    const grpc::Status status = tilmash::booth::AnswerHandover(booths_, session_id_, console_id_, *answer_);
    const char* key = *answer_ ? "accept" : "decline";
    nlohmann::json entry = {{"partner", partner}, {"ok", status.ok()}};
    if (!status.ok()) {
      entry["error"] = StatusText(status);
      ok_.store(false);
    }
    log_.Add(key, partner, status.ok() ? "ok" : tilmash::booth::FailureText(status), entry);
  }

  EventLog& log_;
  v1::BoothService::Stub& booths_;
  std::string session_id_, console_id_;
  std::optional<bool> answer_;  // true: accept, false: decline, unset: leave requests alone
  tilmash::booth::ReturnFeedMonitor* feed_;
  std::atomic<bool>& ok_;
  bool seen_state_ = false;
  std::string last_desk_;
};

std::string Num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tilmash test console: join a booth and stream a tone or WAV over SRTP (or feed the floor)"};
  app.footer(std::string(kFooter) + "\n\n" + tilmash::client::kCredentialsEnvironmentHelp);
  std::string server = tilmash::client::kDefaultServer, session_id, booth, name, wav_path, mic_schedule, cough_schedule;
  std::string input, output, select_schedule, message_schedule, return_wav, return_bind = "127.0.0.1";
  std::string device, headphones;
  std::vector<double> handover_at;
  double tone_hz = 880, level_db = -20, seconds = 10;
  bool json = false, floor = false, want_return = false, accept_handover = false, decline_handover = false;
  tilmash::client::Credentials credentials;
  app.add_option("--server", server, "daemon gRPC address")->capture_default_str();
  tilmash::client::AddCredentialOptions(app, credentials);
  app.add_option("--session", session_id, "session id")->required();
  app.add_option("--booth", booth, "the booth's A language (console mode)");
  app.add_option("--name", name, "console name shown to the technician, e.g. ru-1");
  auto* tone_opt = app.add_option("--tone", tone_hz, "tone frequency in Hz")->capture_default_str();
  auto* wav_opt =
      app.add_option("--wav", wav_path, "16-bit WAV to stream instead of a tone (resampled to 48 kHz, looped)")
          ->excludes(tone_opt);
  app.add_option("--level-db", level_db, "tone level in dBFS")->capture_default_str();
  auto* seconds_opt = app.add_option("--seconds", seconds,
                                     "how long to stream (with --device and without it: until "
                                     "interrupted)")
                          ->capture_default_str()
                          ->check(CLI::PositiveNumber);
  auto* device_opt = app.add_option("--device", device,
                                    "capture the microphone from this ALSA device and play the return feed on it "
                                    "(without a name: 'default'; test:HZ stands in with a tone)")
                         ->expected(0, 1)
                         ->excludes(tone_opt)
                         ->excludes(wav_opt);
  app.add_option("--headphones", headphones, "play the return feed on this device instead (wav:PATH writes it)")
      ->needs(device_opt);
  app.add_option("--mic-schedule", mic_schedule, "e.g. on@0.5,off@2.0,on@3 (seconds after the start)");
  app.add_option("--cough-schedule", cough_schedule, "e.g. on@1.0,off@1.5");
  app.add_option("--input", input, "incoming select right after joining: floor, auto or a language (relay)");
  app.add_option("--output", output, "outgoing select right after joining: A, B or C");
  app.add_option("--select-schedule", select_schedule, "input/output changes, e.g. input=ru@2,output=B@3");
  app.add_option("--handover-request-at", handover_at, "ask the live console for the channel at these seconds")
      ->delimiter(',');
  auto* accept_opt = app.add_flag("--accept-handover", accept_handover, "accept handover requests to this console");
  app.add_flag("--decline-handover", decline_handover, "decline handover requests to this console")
      ->excludes(accept_opt);
  app.add_option("--message-at", message_schedule, "e.g. slow-down@3,call-technician@5,text:chair:hello@6");
  app.add_flag("--return", want_return, "ask for a return feed and measure what the console hears");
  app.add_option("--return-wav", return_wav, "with a return feed: write what the console heard to this WAV");
  app.add_option("--return-bind", return_bind, "local address for the return feed")->capture_default_str();
  app.add_flag("--floor", floor, "act as the sound desk: stream to the session's floor ingest");
  app.add_flag("--json", json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);
  if (!return_wav.empty()) want_return = true;
  const bool use_device = device_opt->count() > 0;
  if (use_device && device.empty()) device = "default";
  if (headphones.empty()) headphones = device;
  // A console on hardware hears its return feed, unless it is the sound desk (--floor).
  if (use_device && !floor) want_return = true;
  const bool until_interrupted = use_device && seconds_opt->count() == 0;
  if (until_interrupted) seconds = std::numeric_limits<double>::infinity();

  std::vector<KeyEvent> events;
  std::string error;
  if (!input.empty()) {
    if (!tilmash::client::InputFromText(input)) {
      std::cerr << "error: --input must be floor, auto or a language tag\n";
      return 2;
    }
    events.push_back({.at_seconds = 0, .key = KeyEvent::Key::kInput, .value = input});
  }
  if (!output.empty()) {
    const auto slot = tilmash::client::OutputSlotFromText(output);
    if (!slot) {
      std::cerr << "error: --output must be A, B or C\n";
      return 2;
    }
    events.push_back({.at_seconds = 0, .key = KeyEvent::Key::kOutput, .value = tilmash::client::OutputSlotText(*slot)});
  }
  for (double at : handover_at) {
    if (at < 0) {
      std::cerr << "error: --handover-request-at takes seconds >= 0\n";
      return 2;
    }
    events.push_back({.at_seconds = at, .key = KeyEvent::Key::kHandoverRequest});
  }
  if (!tilmash::booth::ParseSchedule(mic_schedule, KeyEvent::Key::kMic, &events, &error) ||
      !tilmash::booth::ParseSchedule(cough_schedule, KeyEvent::Key::kCough, &events, &error) ||
      !tilmash::booth::ParseSelectSchedule(select_schedule, &events, &error) ||
      !tilmash::booth::ParseMessageSchedule(message_schedule, &events, &error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  tilmash::booth::SortByTime(events);
  if (floor && (!events.empty() || want_return || accept_handover || decline_handover)) {
    std::cerr << "error: schedules, --input/--output, handovers, messages and return feeds need a console, not "
                 "--floor\n";
    return 2;
  }
  if (!floor && booth.empty()) {
    std::cerr << "error: --booth is required (or use --floor)\n";
    return 2;
  }
  if (name.empty()) name = floor ? "desk" : booth + "-test";
  if (const std::string problem = tilmash::client::CredentialsProblem(credentials); !problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return 2;
  }

  std::vector<float> wav;
  if (!wav_path.empty()) {
    int rate = 0;
    auto pcm = tilmash::audio::ReadWav(wav_path, &rate, &error);
    if (!pcm) {
      std::cerr << "error: " << error << "\n";
      return 2;
    }
    wav = tilmash::audio::Resample(*pcm, rate, tilmash::audio::kRate);
  }

  tilmash::client::InstallInterruptHandler();
  // The card is opened before joining: a missing or busy device fails before anything changes.
  std::unique_ptr<tilmash::sound::Capture> mic;
  std::unique_ptr<tilmash::sound::Playback> ears;
  if (use_device) {
    mic = tilmash::sound::Capture::Open(device, &error);
    if (!mic) {
      std::cerr << "error: --device: " << error << "\n";
      return 1;
    }
    if (!floor) {
      ears = tilmash::sound::Playback::Open(headphones, &error);
      if (!ears) {
        std::cerr << "error: " << (headphones == device ? "--device" : "--headphones") << ": " << error << "\n";
        return 1;
      }
    }
  }
  // Every call (sessions, booth keys, WatchBooth) goes over this one channel and its credentials.
  auto channel = tilmash::client::Connect(server, credentials);
  auto sessions = v1::SessionService::NewStub(channel);
  auto booths = v1::BoothService::NewStub(channel);

  std::unique_ptr<tilmash::booth::ReturnFeedMonitor> feed;
  if (want_return) {
    feed = tilmash::booth::ReturnFeedMonitor::Bind(return_bind, &error);
    if (!feed) {
      std::cerr << "error: return feed: " << error << "\n";
      return 1;
    }
    if (ears) feed->receiver().SetPcmSink([p = ears.get()](const float* pcm, std::size_t n) { p->Write(pcm, n); });
    // Running for hours: keep the last minute for the report (unless it is to be written out).
    if (until_interrupted && return_wav.empty()) feed->receiver().SetHistoryLimit(60 * tilmash::audio::kRate);
  }

  std::atomic<bool> ok{true};
  v1::IngestEndpoint ingest;
  v1::Console console;
  std::string return_error;
  if (floor) {
    if (!FloorIngest(*sessions, session_id, &ingest, &error)) {
      std::cerr << "error: " << error << "\n";
      return 1;
    }
  } else {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::JoinConsoleRequest request;
    request.set_session_id(session_id);
    request.set_booth(booth);
    request.set_name(name);
    if (feed) *request.mutable_return_endpoint() = feed->endpoint();
    v1::JoinConsoleResponse response;
    const grpc::Status status = booths->JoinConsole(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "error: JoinConsole: " << StatusText(status) << "\n";
      return 1;
    }
    console = response.console();
    ingest = response.ingest();
    if (feed) {
      if (!response.has_return_feed() || response.return_feed().ssrc() == 0)
        return_error = "JoinConsole returned no return feed";
      else if (!feed->Attach(response.return_feed(), &error))
        return_error = "return feed: " + error;
      if (!return_error.empty()) {
        std::cerr << "error: " << return_error << "\n";
        ok = false;
        feed.reset();
      } else {
        feed->Mark(console.effective_input().empty() ? "-" : console.effective_input());
      }
    }
  }

  tilmash::client::RtpSender sender(tilmash::client::IngestFromProto(ingest));
  if (mic)
    sender.SetLive([m = mic.get()](float* out, std::size_t n) { m->Read(out, n); });
  else if (wav.empty())
    sender.SetTone(tone_hz, level_db);
  else
    sender.SetSamples(std::move(wav), /*loop=*/true);
  const auto& so = sender.options();
  if (!json) {
    if (!floor) {
      std::printf("joined console %s (booth %s, name %s): %s\n", console.id().c_str(), booth.c_str(), name.c_str(),
                  tilmash::booth::DeskText(console).c_str());
      if (feed) {
        const auto& rf = feed->feed();
        std::printf("return feed ssrc %u pt %u %s from %s:%u to %s:%u\n", rf.ssrc(), rf.payload_type(),
                    rf.srtp().master_key().empty()
                        ? "plain RTP"
                        : tilmash::rtp::SuiteName(tilmash::client::SuiteFromProto(rf.srtp().suite())),
                    rf.source().host().c_str(), rf.source().port(), feed->endpoint().host().c_str(),
                    feed->endpoint().port());
      }
    }
    char tone_text[64];
    std::snprintf(tone_text, sizeof tone_text, "%.1f Hz at %.1f dBFS", tone_hz, level_db);
    const std::string what = mic ? "device " + device : wav_path.empty() ? std::string(tone_text) : wav_path;
    char how_long[64];
    if (until_interrupted)
      std::snprintf(how_long, sizeof how_long, "until interrupted");
    else
      std::snprintf(how_long, sizeof how_long, "for %.1f s", seconds);
    std::printf("streaming %s to %s:%u ssrc %u pt %u %s %s\n", what.c_str(), so.host.c_str(), unsigned(so.port),
                so.ssrc, unsigned(so.payload_type), so.suite ? tilmash::rtp::SuiteName(*so.suite) : "plain RTP",
                how_long);
    if (ears) std::printf("return feed to headphones on %s\n", headphones.c_str());
    std::fflush(stdout);
  }

  const auto start = Clock::now();
  EventLog log(json, start);
  std::optional<bool> answer;
  if (accept_handover) answer = true;
  if (decline_handover) answer = false;
  std::unique_ptr<Desk> desk;
  std::unique_ptr<tilmash::booth::BoothWatch> watch;
  if (!floor) {
    desk = std::make_unique<Desk>(log, *booths, session_id, console.id(), answer, feed.get(), ok);
    watch = std::make_unique<tilmash::booth::BoothWatch>(channel, session_id, booth,
                                                         [&desk](const v1::BoothEvent& e) { desk->Handle(e); });
  }

  if (!sender.Start(&error)) {
    std::cerr << "error: " << error << "\n";
    ok = false;
  }
  auto at = [&](double s) {
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  bool interrupted = false;
  for (const KeyEvent& e : events) {
    if (!sender.running() || e.at_seconds >= seconds) break;
    if (!tilmash::client::SleepUntilOrInterrupted(at(e.at_seconds))) {
      interrupted = true;
      break;
    }
    const tilmash::booth::Outcome result = tilmash::booth::Perform(*booths, session_id, console.id(), e);
    nlohmann::json entry = {{"ok", result.status.ok()}};
    std::string value = e.value;
    if (e.key == KeyEvent::Key::kMic || e.key == KeyEvent::Key::kCough) {
      entry["on"] = e.on;
      value = e.on ? "on" : "off";
    } else if (e.key == KeyEvent::Key::kMessage) {
      entry["value"] = e.value;
      if (!e.to.empty()) value += " to " + e.to;
      if (!e.text.empty()) entry["text"] = e.text;
    } else if (!e.value.empty()) {
      entry["value"] = e.value;
    }
    std::string outcome = "ok";
    if (result.console) {
      entry.update(ConsoleJson(*result.console));
      outcome = tilmash::booth::DeskText(*result.console);
      if (feed && !result.console->effective_input().empty()) feed->Mark(result.console->effective_input());
    }
    if (!result.status.ok()) {
      entry["error"] = StatusText(result.status);
      outcome = tilmash::booth::FailureText(result.status);
      // A refused key press (interlock, relay loop) is reported and the schedule goes on, like a
      // real console; the exit status still says something was refused.
      ok = false;
    }
    log.Add(tilmash::booth::KeyName(e.key), value, outcome, std::move(entry));
  }
  if (!interrupted && sender.running() && until_interrupted) {
    tilmash::client::SleepUntilOrInterrupted(Clock::time_point::max());
  } else if (!interrupted && sender.running()) {
    tilmash::client::SleepUntilOrInterrupted(at(seconds));
  }
  sender.Stop();
  std::string device_error;
  nlohmann::json device_json = nullptr;
  if (mic) {
    device_error = mic->error();
    const auto ms = mic->stats();
    device_json = {{"device", device},
                   {"captured_samples", ms.samples_in},
                   {"underrun_samples", ms.underrun_samples},
                   {"overrun_samples", ms.overrun_samples}};
  }
  const double streamed = std::chrono::duration<double>(Clock::now() - start).count();
  std::string watch_error;
  if (watch) {
    watch->Stop();
    watch_error = watch->error();
    if (!watch_error.empty() && answer) {  // without the watch nobody answers handovers
      std::cerr << "error: WatchBooth: " << watch_error << "\n";
      ok = false;
    }
  }

  std::string leave_error;
  if (!floor) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::LeaveConsoleRequest request;
    request.set_session_id(session_id);
    request.set_console_id(console.id());
    v1::LeaveConsoleResponse response;
    const grpc::Status status = booths->LeaveConsole(&context, request, &response);
    if (!status.ok()) {
      leave_error = "LeaveConsole: " + StatusText(status);
      std::cerr << "error: " << leave_error << "\n";
      ok = false;
    }
  }

  // The return feed: measured per period of what the console heard; the last period is the result.
  nlohmann::json return_json = nullptr;
  if (feed) {
    const auto periods = feed->Finish();
    if (ears) {
      if (device_error.empty()) device_error = ears->error();
      ears->Close();
      device_json["headphones"] = headphones;
      device_json["played_samples"] = ears->samples_written();
    }
    const auto rstats = feed->receiver().stats();
    bool wav_ok = true;
    if (!return_wav.empty()) wav_ok = tilmash::audio::WriteWav(return_wav, feed->receiver().Samples());
    nlohmann::json pj = nlohmann::json::array();
    for (const auto& p : periods)
      pj.push_back({{"input", p.input},
                    {"from_s", p.from_s},
                    {"to_s", p.to_s},
                    {"packets", p.packets},
                    {"dominant_hz", p.dominant_hz},
                    {"level_dbfs", p.level_dbfs}});
    const tilmash::booth::ReturnFeedMonitor::Period last =
        periods.empty() ? tilmash::booth::ReturnFeedMonitor::Period{} : periods.back();
    return_json = {{"ssrc", feed->feed().ssrc()},
                   {"packets", rstats.packets},
                   {"lost", rstats.lost},
                   {"auth_failures", rstats.auth_failures},
                   {"late", rstats.late},
                   {"wrong_ssrc", rstats.wrong_ssrc},
                   {"malformed", rstats.malformed},
                   {"decode_errors", rstats.decode_errors},
                   {"samples", feed->receiver().SampleCount()},
                   {"effective_input", last.input},
                   {"dominant_hz", last.dominant_hz},
                   {"level_dbfs", last.level_dbfs},
                   {"periods", pj},
                   {"wav", return_wav.empty() ? nlohmann::json(nullptr) : nlohmann::json(return_wav)}};
    if (!json) {
      std::printf("return feed: %llu packets, %llu lost, %llu auth failures", (unsigned long long)rstats.packets,
                  (unsigned long long)rstats.lost, (unsigned long long)rstats.auth_failures);
      if (rstats.late || rstats.wrong_ssrc || rstats.malformed || rstats.decode_errors)
        std::printf(", %llu late/%llu other ssrc/%llu malformed/%llu undecodable", (unsigned long long)rstats.late,
                    (unsigned long long)rstats.wrong_ssrc, (unsigned long long)rstats.malformed,
                    (unsigned long long)rstats.decode_errors);
      std::printf("\n");
      for (const auto& p : periods) {
        if (p.packets == 0)
          std::printf("  %7.3f - %7.3f s  hears %-8s no audio\n", p.from_s, p.to_s, p.input.c_str());
        else
          std::printf("  %7.3f - %7.3f s  hears %-8s %8s Hz  %6s dBFS  (%llu packets)\n", p.from_s, p.to_s,
                      p.input.c_str(), Num(p.dominant_hz).c_str(), Num(p.level_dbfs).c_str(),
                      (unsigned long long)p.packets);
      }
      std::printf("return dominant Hz %s, level %s dBFS RMS (last period: %s)\n", Num(last.dominant_hz).c_str(),
                  Num(last.level_dbfs).c_str(), last.input.c_str());
      if (!return_wav.empty()) std::printf("return wav %s\n", return_wav.c_str());
    }
    if (!wav_ok) {
      std::cerr << "error: cannot write " << return_wav << "\n";
      ok = false;
    }
    if (rstats.packets == 0) {
      std::cerr << "error: no return-feed packets received (auth failures: " << rstats.auth_failures << ")\n";
      ok = false;
    }
  } else if (!return_error.empty()) {
    return_json = {{"error", return_error}};
  }

  if (!device_error.empty()) {
    std::cerr << "error: device: " << device_error << "\n";
    ok = false;
  }
  if (mic && !json) {
    const auto ms = mic->stats();
    std::printf("device %s: captured %.2f s, %.3f s underrun, %.3f s overrun\n", device.c_str(),
                double(ms.samples_in) / 48000.0, double(ms.underrun_samples) / 48000.0,
                double(ms.overrun_samples) / 48000.0);
  }
  const auto stats = sender.stats();
  if (json) {
    nlohmann::json out = {{"mode", floor ? "floor" : "console"},
                          {"session", session_id},
                          {"console_id", console.id()},
                          {"booth", booth},
                          {"name", name},
                          {"ingest",
                           {{"host", so.host},
                            {"port", so.port},
                            {"ssrc", so.ssrc},
                            {"payload_type", so.payload_type},
                            {"suite", so.suite ? tilmash::rtp::SuiteName(*so.suite) : "none"}}},
                          {"source", mic                ? nlohmann::json{{"device", device}}
                                     : wav_path.empty() ? nlohmann::json{{"tone_hz", tone_hz}, {"level_dbfs", level_db}}
                                                        : nlohmann::json{{"wav", wav_path}}},
                          {"device", device_json},
                          {"seconds", streamed},
                          {"packets_sent", stats.packets_sent},
                          {"send_errors", stats.send_errors},
                          {"events", log.entries()},
                          {"return", return_json},
                          {"ok", ok.load()}};
    if (!leave_error.empty()) out["error"] = leave_error;
    if (!watch_error.empty()) out["watch_error"] = watch_error;
    std::cout << out.dump() << "\n";
  } else {
    std::printf("sent %llu packets (%llu errors) in %.2f s%s\n", (unsigned long long)stats.packets_sent,
                (unsigned long long)stats.send_errors, streamed, floor ? "" : ", left the console");
  }
  return ok ? 0 : 1;
}
