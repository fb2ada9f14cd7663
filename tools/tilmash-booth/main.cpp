// tilmash-booth: an interpreter console (or, with --floor, the sound desk) without hardware.
// Joins a booth, streams a tone or a WAV over SRTP to the returned ingest, presses the mic and
// cough keys on a schedule, and leaves.
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/convert.h"
#include "client/interrupt.h"
#include "client/rtp_sender.h"
#include "schedule.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace {

namespace v1 = tilmash::v1;
using tilmash::booth::KeyEvent;
using tilmash::client::SetDeadline;
using tilmash::client::StatusText;
using Clock = std::chrono::steady_clock;

const char* MicName(v1::MicState mic) {
  switch (mic) {
    case v1::MIC_OFF:
      return "off";
    case v1::MIC_LIVE:
      return "live";
    case v1::MIC_MUTED:
      return "muted";
    default:
      return "unspecified";
  }
}

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tilmash test console: join a booth and stream a tone or WAV over SRTP (or feed the floor)"};
  std::string server = tilmash::client::kDefaultServer, session_id, booth, name, wav_path, mic_schedule, cough_schedule;
  double tone_hz = 880, level_db = -20, seconds = 10;
  bool json = false, floor = false;
  app.add_option("--server", server, "daemon gRPC address")->capture_default_str();
  app.add_option("--session", session_id, "session id")->required();
  app.add_option("--booth", booth, "the booth's A language (console mode)");
  app.add_option("--name", name, "console name shown to the technician, e.g. ru-1");
  auto* tone_opt = app.add_option("--tone", tone_hz, "tone frequency in Hz")->capture_default_str();
  app.add_option("--wav", wav_path, "16-bit WAV to stream instead of a tone (resampled to 48 kHz, looped)")
      ->excludes(tone_opt);
  app.add_option("--level-db", level_db, "tone level in dBFS")->capture_default_str();
  app.add_option("--seconds", seconds, "how long to stream")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--mic-schedule", mic_schedule, "e.g. on@0.5,off@2.0,on@3 (seconds after the start)");
  app.add_option("--cough-schedule", cough_schedule, "e.g. on@1.0,off@1.5");
  app.add_flag("--floor", floor, "act as the sound desk: stream to the session's floor ingest");
  app.add_flag("--json", json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  std::vector<KeyEvent> events;
  std::string error;
  if (!tilmash::booth::ParseSchedule(mic_schedule, KeyEvent::Key::kMic, &events, &error) ||
      !tilmash::booth::ParseSchedule(cough_schedule, KeyEvent::Key::kCough, &events, &error)) {
    std::cerr << "error: " << error << "\n";
    return 2;
  }
  tilmash::booth::SortByTime(events);
  if (floor && !events.empty()) {
    std::cerr << "error: --mic-schedule/--cough-schedule need a console, not --floor\n";
    return 2;
  }
  if (!floor && booth.empty()) {
    std::cerr << "error: --booth is required (or use --floor)\n";
    return 2;
  }
  if (name.empty()) name = floor ? "desk" : booth + "-test";

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
  auto channel = tilmash::client::Connect(server);
  auto sessions = v1::SessionService::NewStub(channel);
  auto booths = v1::BoothService::NewStub(channel);

  v1::IngestEndpoint ingest;
  v1::Console console;
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
    v1::JoinConsoleResponse response;
    const grpc::Status status = booths->JoinConsole(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "error: JoinConsole: " << StatusText(status) << "\n";
      return 1;
    }
    console = response.console();
    ingest = response.ingest();
  }

  tilmash::client::RtpSender sender(tilmash::client::IngestFromProto(ingest));
  if (wav.empty())
    sender.SetTone(tone_hz, level_db);
  else
    sender.SetSamples(std::move(wav), /*loop=*/true);
  const auto& so = sender.options();
  if (!json) {
    if (!floor)
      std::printf("joined console %s (booth %s, name %s)\n", console.id().c_str(), booth.c_str(), name.c_str());
    char tone_text[64];
    std::snprintf(tone_text, sizeof tone_text, "%.1f Hz at %.1f dBFS", tone_hz, level_db);
    std::printf("streaming %s to %s:%u ssrc %u pt %u %s for %.1f s\n", wav_path.empty() ? tone_text : wav_path.c_str(),
                so.host.c_str(), unsigned(so.port), so.ssrc, unsigned(so.payload_type),
                so.suite ? tilmash::rtp::SuiteName(*so.suite) : "plain RTP", seconds);
  }
  bool ok = sender.Start(&error);
  if (!ok) std::cerr << "error: " << error << "\n";

  nlohmann::json event_log = nlohmann::json::array();
  const auto start = Clock::now();
  auto at = [&](double s) {
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  bool interrupted = false;
  for (const KeyEvent& e : events) {
    if (!ok || e.at_seconds >= seconds) break;
    if (!tilmash::client::SleepUntilOrInterrupted(at(e.at_seconds))) {
      interrupted = true;
      break;
    }
    grpc::ClientContext context;
    SetDeadline(context);
    v1::Console result;
    grpc::Status status;
    if (e.key == KeyEvent::Key::kMic) {
      v1::SetMicRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console.id());
      request.set_live(e.on);
      status = booths->SetMic(&context, request, &result);
    } else {
      v1::CoughRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console.id());
      request.set_muted(e.on);
      status = booths->Cough(&context, request, &result);
    }
    const double when = std::chrono::duration<double>(Clock::now() - start).count();
    nlohmann::json entry = {{"at", when}, {"key", tilmash::booth::KeyName(e.key)}, {"on", e.on}, {"ok", status.ok()}};
    if (status.ok())
      entry["mic"] = MicName(result.mic());
    else
      entry["error"] = StatusText(status);
    if (!json) {
      std::printf("%7.3f s  %-5s %-3s -> %s\n", when, tilmash::booth::KeyName(e.key), e.on ? "on" : "off",
                  status.ok() ? (std::string("mic ") + MicName(result.mic())).c_str() : StatusText(status).c_str());
    }
    // A refused key press (interlock) is reported, and the schedule goes on like a real console.
    if (!status.ok()) ok = false;
    event_log.push_back(std::move(entry));
  }
  if (!interrupted && sender.running()) tilmash::client::SleepUntilOrInterrupted(at(seconds));
  sender.Stop();
  const double streamed = std::chrono::duration<double>(Clock::now() - start).count();

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
                          {"source", wav_path.empty() ? nlohmann::json{{"tone_hz", tone_hz}, {"level_dbfs", level_db}}
                                                      : nlohmann::json{{"wav", wav_path}}},
                          {"seconds", streamed},
                          {"packets_sent", stats.packets_sent},
                          {"send_errors", stats.send_errors},
                          {"events", event_log},
                          {"ok", ok}};
    if (!leave_error.empty()) out["error"] = leave_error;
    std::cout << out.dump() << "\n";
  } else {
    std::printf("sent %llu packets (%llu errors) in %.2f s%s\n", (unsigned long long)stats.packets_sent,
                (unsigned long long)stats.send_errors, streamed, floor ? "" : ", left the console");
  }
  return ok ? 0 : 1;
}
