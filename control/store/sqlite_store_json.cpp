// The records of the state store as JSON (nlohmann-json). Field names are the schema: a
// missing field reads as its default, so a newer daemon reads an older file.
#include <nlohmann/json.hpp>

#include "store/sqlite_store.h"

namespace nlohmann {
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& v) {
    if (v)
      j = *v;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& v) {
    if (j.is_null())
      v.reset();
    else
      v = j.get<T>();
  }
};
}  // namespace nlohmann

namespace tilmash::domain {

using nlohmann::json;

NLOHMANN_JSON_SERIALIZE_ENUM(MicState,
                             {{MicState::kOff, "off"}, {MicState::kLive, "live"}, {MicState::kMuted, "muted"}})
NLOHMANN_JSON_SERIALIZE_ENUM(CryptoSuite, {{CryptoSuite::kAesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80"},
                                           {CryptoSuite::kAeadAes128Gcm, "AEAD_AES_128_GCM"}})
NLOHMANN_JSON_SERIALIZE_ENUM(InterlockMode, {{InterlockMode::kInterlock, "interlock"},
                                             {InterlockMode::kOverride, "override"},
                                             {InterlockMode::kToggleOverride, "toggle-override"}})
NLOHMANN_JSON_SERIALIZE_ENUM(OutputSlot, {{OutputSlot::kA, "A"}, {OutputSlot::kB, "B"}, {OutputSlot::kC, "C"}})
NLOHMANN_JSON_SERIALIZE_ENUM(FloorSelect, {{FloorSelect::kAuto, "auto"},
                                           {FloorSelect::kPrimary, "primary"},
                                           {FloorSelect::kBackup, "backup"}})
NLOHMANN_JSON_SERIALIZE_ENUM(Transport, {{Transport::kUnicast, "unicast"}, {Transport::kMulticast, "multicast"}})
NLOHMANN_JSON_SERIALIZE_ENUM(InputSelection::Kind, {{InputSelection::Kind::kAuto, "auto"},
                                                    {InputSelection::Kind::kFloor, "floor"},
                                                    {InputSelection::Kind::kChannel, "channel"}})

namespace {
std::string Hex(const std::vector<uint8_t>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}
std::vector<uint8_t> Unhex(const std::string& s) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (s.size() % 2) throw std::invalid_argument("odd-length hex key");
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("key is not hex");
    out.push_back(uint8_t(hi << 4 | lo));
  }
  return out;
}
}  // namespace

void to_json(json& j, const SrtpKeying& k) {
  j = json{{"suite", k.suite}, {"master_key", Hex(k.master_key)}, {"roc", k.roc}};
}
void from_json(const json& j, SrtpKeying& k) {
  j.at("suite").get_to(k.suite);
  k.master_key = Unhex(j.at("master_key").get<std::string>());
  k.roc = j.value("roc", 0u);
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Endpoint, host, port)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IngestInfo, endpoint, payload_type, ssrc, srtp)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StreamAnchor, since_unix_ms, index, timestamp, frame_ms, frame_us)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StoredStream, ssrc, key, key_id, anchor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InputSelection, kind, channel)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ConsoleView, id, booth, name, mic, output_channel, output_slot, input,
                                                effective_input, held, return_ssrc)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StoredConsole, view, owner, ingest, return_stream, return_endpoint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StoredGroup, channel, media_id, group, stream)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StoredChannel, name, duck_db)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BoothConfig, b, c, takes)

void to_json(json& j, const FloorSource& f) {
  if (auto* t = std::get_if<ToneSource>(&f))
    j = json{{"kind", "tone"}, {"frequency_hz", t->frequency_hz}, {"level_dbfs", t->level_dbfs}};
  else if (auto* r = std::get_if<RtpSource>(&f))
    j = json{{"kind", "rtp"}, {"srtp", r->srtp}};
  else if (auto* c = std::get_if<SoundCardSource>(&f))
    j = json{{"kind", "sound_card"}, {"device", c->device}, {"channel", c->channel}};
  else if (auto* a = std::get_if<Aes67Source>(&f))
    j = json{{"kind", "aes67"}, {"sdp", a->sdp}, {"channel", a->channel}, {"sap_name", a->sap_name}};
  else
    j = json{{"kind", "none"}};
}
void from_json(const json& j, FloorSource& f) {
  const std::string kind = j.value("kind", "none");
  if (kind == "tone")
    f = ToneSource{j.value("frequency_hz", 440.0), j.value("level_dbfs", -20.0)};
  else if (kind == "rtp")
    f = RtpSource{j.value("srtp", false)};
  else if (kind == "sound_card")
    f = SoundCardSource{j.value("device", std::string()), j.value("channel", 0u)};
  else if (kind == "aes67")
    f = Aes67Source{j.value("sdp", std::string()), j.value("channel", 0u), j.value("sap_name", std::string())};
  else if (kind == "none")
    f = NoSource{};
  else
    throw std::invalid_argument("unknown floor source kind '" + kind + "'");
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SessionRecord, id, name, default_duck_db, floor_language, floor_source,
                                                floor_ingest, floor_backup, floor_backup_ingest, floor_select, channels,
                                                booths, interlock, on_air, recorded, consoles, held, groups, recordings,
                                                loudness_target_lufs, frame_us, jitter_ms, mirror_of)

// The listener's view without what the node decides at start (its send info).
void to_json(json& j, const ListenerRecord& r) {
  const ListenerView& v = r.view;
  j = json{{"session", r.session},
           {"id", v.id},
           {"owner", v.owner},
           {"channel", v.channel},
           {"endpoint", v.endpoint},
           {"ssrc", v.ssrc},
           {"key", v.srtp},
           {"key_id", v.key_id},
           {"transport", v.transport},
           {"lease_ms", v.lease.count()},
           {"interpretation_percent", v.interpretation_percent},
           {"anchor", r.anchor}};
}
void from_json(const json& j, ListenerRecord& r) {
  ListenerView& v = r.view;
  j.at("session").get_to(r.session);
  j.at("id").get_to(v.id);
  v.owner = j.value("owner", "");
  j.at("channel").get_to(v.channel);
  j.at("endpoint").get_to(v.endpoint);
  j.at("ssrc").get_to(v.ssrc);
  j.at("key").get_to(v.srtp);
  v.key_id = j.value("key_id", 0u);
  v.transport = j.value("transport", Transport::kUnicast);
  v.lease = std::chrono::milliseconds(j.value("lease_ms", int64_t(0)));
  v.interpretation_percent = j.value("interpretation_percent", 100u);
  r.anchor = j.value("anchor", StreamAnchor{});
}

}  // namespace tilmash::domain

namespace tilmash::store {

using domain::Result;

std::string SessionToJson(const domain::SessionRecord& r) { return nlohmann::json(r).dump(); }
std::string ListenerToJson(const domain::ListenerRecord& r) { return nlohmann::json(r).dump(); }

Result<domain::SessionRecord> SessionFromJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text).get<domain::SessionRecord>();
  } catch (const std::exception& e) {
    return domain::Internal(e.what());
  }
}

Result<domain::ListenerRecord> ListenerFromJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text).get<domain::ListenerRecord>();
  } catch (const std::exception& e) {
    return domain::Internal(e.what());
  }
}

}  // namespace tilmash::store
