// tilmash-listen: a test headset, and with --play a real one. Subscribes to one channel, receives
// SRTP/Opus for N seconds (with --play and no --seconds: until interrupted), follows key
// rotations and channel switches, plays it on a sound card if asked, and reports what it heard
// (dominant tone, level, loss, timing); optionally writes a WAV.
#include <grpcpp/support/status.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/credentials.h"
#include "client/interrupt.h"
#include "client/listener_client.h"
#include "sound/sound_device.h"

namespace {

using tilmash::client::ListenerClient;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSettleSamples = tilmash::audio::kRate / 10;  // ignore 100 ms after a (re)start

struct Measurement {
  std::string channel;
  double dominant_hz = 0;
  double level_dbfs = -200;
};

Measurement Measure(const std::string& channel, const std::vector<float>& samples, std::size_t from, std::size_t to) {
  Measurement m{channel};
  from = std::min(from + kSettleSamples, to);
  std::span<const float> part(samples.data() + from, to - from);
  m.dominant_hz = tilmash::audio::DominantFrequency(part);
  m.level_dbfs = tilmash::audio::RmsDb(part);
  return m;
}

nlohmann::json ToJson(const Measurement& m) {
  return {{"channel", m.channel}, {"dominant_hz", m.dominant_hz}, {"level_dbfs", m.level_dbfs}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tilmash test listener: subscribe to a channel, decrypt, decode and measure"};
  ListenerClient::Options options;
  double seconds = 5;
  std::string wav_path, switch_to, play_device;
  double switch_at = -1;
  bool json = false, gcm = false;
  tilmash::client::Credentials credentials;
  app.add_option("--server", options.server, "daemon gRPC address")->capture_default_str();
  tilmash::client::AddCredentialOptions(app, credentials);
  app.footer(tilmash::client::kCredentialsEnvironmentHelp);
  app.add_option("--session", options.session_id, "session id")->required();
  app.add_option("--channel", options.channel, "language tag or 'floor'")->required();
  auto* seconds_opt =
      app.add_option("--seconds", seconds, "how long to listen (with --play and without it: until interrupted)")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
  auto* play_opt = app.add_option("--play", play_device,
                                  "play the channel on this ALSA device (without a name: 'default'); "
                                  "wav:PATH writes what a card would play to a WAV instead")
                       ->expected(0, 1);
  app.add_option("--wav", wav_path, "write what was heard to this 16-bit WAV");
  app.add_option("--switch-to", switch_to, "switch to this channel during the run");
  app.add_option("--switch-at", switch_at, "when to switch, seconds after the start")->check(CLI::NonNegativeNumber);
  app.add_option("--bind", options.bind_host, "local address to receive on")->capture_default_str();
  app.add_flag("--gcm", gcm, "ask for AEAD_AES_128_GCM instead of AES_CM_128_HMAC_SHA1_80");
  app.add_flag("--multicast", options.multicast,
               "join the channel's venue multicast group (on the --bind interface) instead of a unicast stream");
  app.add_option("--balance", options.interpretation_percent,
                 "percent of interpretation, the rest the original (mixed by the daemon; default 100)")
      ->check(CLI::Range(0, 100));
  app.add_flag("--json", json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);
  if (!switch_to.empty() && switch_at < 0) switch_at = seconds / 2;
  if (switch_to.empty() && switch_at >= 0) {
    std::cerr << "error: --switch-at needs --switch-to\n";
    return 2;
  }
  if (gcm) options.suite = tilmash::v1::AEAD_AES_128_GCM;
  const bool play = play_opt->count() > 0;
  if (play && play_device.empty()) play_device = "default";
  // Playing until interrupted: keep the last 10 s for the report, not hours of audio.
  const bool until_interrupted = play && seconds_opt->count() == 0;
  if (until_interrupted && wav_path.empty()) options.history_samples = 10 * tilmash::audio::kRate;
  if (const std::string problem = tilmash::client::CredentialsProblem(credentials); !problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return 2;
  }
  // Subscribe, SwitchChannel and Unsubscribe all go over this one channel.
  options.grpc_channel = tilmash::client::Connect(options.server, credentials);

  tilmash::client::InstallInterruptHandler();
  std::string error;
  // The card is opened first: a missing or busy device fails before subscribing.
  std::unique_ptr<tilmash::sound::Playback> player;
  if (play) {
    player = tilmash::sound::Playback::Open(play_device, &error);
    if (!player) {
      std::cerr << "error: --play: " << error << "\n";
      return 1;
    }
    options.on_pcm = [p = player.get()](const float* pcm, std::size_t n) { p->Write(pcm, n); };
  }
  auto listener = ListenerClient::Start(options, &error);
  if (!listener) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  const auto start = Clock::now();
  auto to_time = [&](double s) {
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  std::optional<std::size_t> switch_sample;
  bool completed = true;
  if (!switch_to.empty() && switch_at < seconds) {
    completed = tilmash::client::SleepUntilOrInterrupted(to_time(switch_at));
    if (completed) {
      const grpc::Status status = listener->SwitchChannel(switch_to);
      if (!status.ok()) {
        std::cerr << "error: SwitchChannel: " << tilmash::client::StatusText(status) << "\n";
        return 1;  // the destructor unsubscribes
      }
      switch_sample = listener->SampleCount();
    }
  }
  if (completed && until_interrupted) {
    std::cerr << "playing " << listener->channel() << " on " << play_device << " until interrupted\n";
    tilmash::client::SleepUntilOrInterrupted(Clock::time_point::max());
  } else if (completed) {
    tilmash::client::SleepUntilOrInterrupted(to_time(seconds));
  }
  const double listened = std::chrono::duration<double>(Clock::now() - start).count();
  listener->Stop();
  std::string play_error;
  if (player) {
    play_error = player->error();
    player->Close();
  }

  const auto samples = listener->Samples();
  const std::size_t first_kept = listener->FirstKeptSample();
  auto kept = [&](std::size_t index) { return std::min(index - std::min(index, first_kept), samples.size()); };
  const auto stats = listener->stats();
  const Measurement final_part = Measure(listener->channel(), samples, kept(switch_sample.value_or(0)), samples.size());
  std::optional<Measurement> before_switch;
  if (switch_sample) before_switch = Measure(options.channel, samples, 0, kept(*switch_sample));
  bool wav_ok = true;
  if (!wav_path.empty()) wav_ok = tilmash::audio::WriteWav(wav_path, samples);

  if (json) {
    nlohmann::json out = ToJson(final_part);
    out["session"] = options.session_id;
    out["listener_id"] = listener->listener_id();
    out["seconds"] = listened;
    out["packets"] = stats.packets;
    out["lost"] = stats.lost;
    out["auth_failures"] = stats.auth_failures;
    out["key_changes"] = stats.key_changes;
    out["transport"] = options.multicast ? "multicast" : "unicast";
    if (!listener->ended_reason().empty()) out["ended"] = listener->ended_reason();
    out["malformed"] = stats.malformed;
    out["wrong_ssrc"] = stats.wrong_ssrc;
    out["decode_errors"] = stats.decode_errors;
    out["mean_interarrival_ms"] = stats.mean_interarrival_ms;
    out["max_interarrival_ms"] = stats.max_interarrival_ms;
    out["samples"] = samples.size();
    out["wav"] = wav_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(wav_path);
    if (player) out["played"] = {{"device", play_device}, {"samples", player->samples_written()}};
    if (before_switch) out["before_switch"] = ToJson(*before_switch);
    std::cout << out.dump() << "\n";
  } else {
    auto line = [](const char* name, const std::string& value) { std::printf("%-22s %s\n", name, value.c_str()); };
    auto num = [](double v, int decimals) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
      return std::string(buf);
    };
    if (before_switch) {
      line("channel (before)", before_switch->channel);
      line("dominant Hz (before)", num(before_switch->dominant_hz, 1));
      line("level dBFS (before)", num(before_switch->level_dbfs, 1));
    }
    line("channel", final_part.channel);
    line("listener", listener->listener_id());
    line("seconds", num(listened, 2));
    line("packets", std::to_string(stats.packets));
    line("lost", std::to_string(stats.lost));
    line("auth failures", std::to_string(stats.auth_failures));
    line("key changes", std::to_string(stats.key_changes));
    if (options.multicast)
      line("group",
           listener->subscription().group().host() + ":" + std::to_string(listener->subscription().group().port()));
    if (!listener->ended_reason().empty()) line("ended", listener->ended_reason());
    if (stats.malformed || stats.wrong_ssrc || stats.decode_errors)
      line("malformed/ssrc/decode", std::to_string(stats.malformed) + "/" + std::to_string(stats.wrong_ssrc) + "/" +
                                        std::to_string(stats.decode_errors));
    line("dominant Hz", num(final_part.dominant_hz, 1));
    line("level dBFS RMS", num(final_part.level_dbfs, 1));
    line("inter-arrival ms",
         "mean " + num(stats.mean_interarrival_ms, 2) + ", max " + num(stats.max_interarrival_ms, 2));
    if (!wav_path.empty()) line("wav", wav_path);
    if (player) line("played", play_device + ", " + num(double(player->samples_written()) / 48000.0, 2) + " s");
  }
  if (!play_error.empty()) {
    std::cerr << "error: --play: " << play_error << "\n";
    return 1;
  }
  if (!wav_ok) {
    std::cerr << "error: cannot write " << wav_path << "\n";
    return 1;
  }
  if (stats.packets == 0) {
    std::cerr << "error: no packets received (auth failures: " << stats.auth_failures << ")\n";
    return 3;
  }
  return 0;
}
