#include "metrics/tech_snapshot.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

namespace tilmash::metrics {

namespace {

using nlohmann::json;

template <class E>
std::string Name(E e) {
  std::ostringstream os;
  os << e;
  return os.str();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// dBFS, or null for silence (JSON has no -inf).
json Db(double v) { return std::isfinite(v) ? json(std::round(v * 10) / 10) : json(nullptr); }

const domain::ChannelLevel* LevelOf(const SessionSample& s, const std::string& channel) {
  for (const auto& l : s.stats.levels)
    if (l.channel == channel) return &l;
  return nullptr;
}

const domain::IngestCounters* IngestOf(const SessionSample& s, const std::string& source) {
  for (const auto& i : s.stats.ingest)
    if (i.source == source) return &i;
  return nullptr;
}

// The ingest source a channel carries now: its live console, or the floor source on air.
std::string SourceOf(const SessionSample& s, const domain::ChannelView& c) {
  if (c.name != domain::kFloorChannel && !AutoFloor(s.view, c)) return *c.live_console;
  return s.view.floor_active == domain::FloorActive::kBackup ? "floor-backup" : "floor";
}

json Channel(const SessionSample& s, const domain::ChannelView& c) {
  const bool is_floor = c.name == domain::kFloorChannel;
  json j{
      {"channel", c.name},
      {"live_console", c.live_console ? json(*c.live_console) : json(nullptr)},
      {"auto_floor", !is_floor && AutoFloor(s.view, c)},
      {"relay_generation", c.relay_generation},
      {"audience", {{"srtp", c.unicast_listeners}, {"multicast", c.multicast_listeners}, {"webrtc", c.webrtc_viewers}}},
      {"recording", c.recording}};  // the channel's recorder runs (RecordingService)
  const std::string source = SourceOf(s, c);
  if (const auto* i = IngestOf(s, source))
    j["ingest"] = {{"source", source},
                   {"packets", i->accepted},
                   {"lost", i->lost},
                   {"late", i->late},
                   {"jitter_ms", std::round(i->jitter_s * 1e4) / 10},
                   // The speaker-input monitor of that source (null: silence or no audio yet).
                   {"noise_floor_dbfs", Db(i->noise_floor_dbfs)},
                   {"above_7khz_db", Db(i->above_7khz_db)}};
  else
    j["ingest"] = nullptr;
  const auto* input = IngestOf(s, source);
  const auto* level = LevelOf(s, c.name);
  j["level"] = level && std::isfinite(level->rms_dbfs)
                   ? json{{"rms_dbfs", Db(level->rms_dbfs)}, {"peak_dbfs", Db(level->peak_dbfs)}}
                   : json(nullptr);
  json lost = json::array();
  for (const auto& con : s.view.consoles)
    if (con.link_lost && con.output_channel == c.name) lost.push_back(con.id);
  const bool backup = s.view.floor_active == domain::FloorActive::kBackup;
  j["alarms"] = {{"link_lost", lost},
                 {"floor_backup", backup && (is_floor || source == "floor-backup")},
                 {"clipping", level && level->clipping},
                 {"input_clipping", input && input->clipping},
                 {"narrowband", input && input->narrowband}};
  return j;
}

}  // namespace

std::string TechState(const std::vector<SessionSample>& sessions) {
  json out{{"time_ms", NowMs()}, {"sessions", json::array()}};
  for (const auto& s : sessions) {
    const auto& v = s.view;
    json session{{"id", v.id},
                 {"name", v.name},
                 {"floor_language", v.floor_language},
                 {"recorded", v.recorded},
                 {"floor",
                  {{"active", Name(v.floor_active)},
                   {"select", Name(v.floor_select)},
                   {"primary_lost", v.floor_primary_lost},
                   {"reason", v.floor_active_reason}}},
                 {"consoles", json::array()},
                 {"channels", json::array()}};
    for (const auto& con : v.consoles)
      session["consoles"].push_back({{"id", con.id},
                                     {"booth", con.booth},
                                     {"mic", Name(con.mic)},
                                     {"output", con.output_channel},
                                     {"link_lost", con.link_lost}});
    for (const auto& c : v.channels) session["channels"].push_back(Channel(s, c));
    out["sessions"].push_back(std::move(session));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string TechLevels(const std::vector<SessionSample>& sessions) {
  json levels = json::object();
  for (const auto& s : sessions) {
    json& of = levels[s.view.id] = json::object();
    for (const auto& l : s.stats.levels) of[l.channel] = json::array({Db(l.rms_dbfs), Db(l.peak_dbfs), l.clipping});
  }
  return json{{"time_ms", NowMs()}, {"levels", std::move(levels)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tilmash::metrics
