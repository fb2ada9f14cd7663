// One Config with defaults, validated at start-up (CONVENTIONS habit 10).
#pragma once
#include <string>
#include <vector>

namespace tilmash::daemon {

struct DemoSession {
  std::string id = "demo";
  std::string name = "Plenary (demo)";
  std::vector<std::string> languages = {"en", "ru", "kk"};
  std::string floor_language = "en";
};

struct Config {
  std::string grpc_listen = "127.0.0.1:7300";
  std::string media_address = "127.0.0.1";  // ingest ports and the listener streams' source
  int opus_bitrate = 64000;
  int frame_ms = 10;
  int jitter_ms = 10;
  double floor_duck_db = -18.0;
  std::string log_level = "info";  // "info" or "info,mix=debug"
  bool demo = false;
  DemoSession demo_session;
};

// Reads a YAML file over the defaults. Returns false with *error naming the key.
bool LoadConfigFile(const std::string& path, Config* config, std::string* error);
// Checks every value; returns the first problem, naming the key.
std::string Validate(const Config& config);

}  // namespace tilmash::daemon
