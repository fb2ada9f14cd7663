#include "output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "domain/sdp.h"

namespace tilmash::ctl {

void Table::Print() const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

void PrintJson(const google::protobuf::Message& message) { std::cout << ToJson(message) << "\n"; }

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

const char* MicName(v1::MicState mic) {
  switch (mic) {
    case v1::MIC_OFF:
      return "off";
    case v1::MIC_LIVE:
      return "live";
    case v1::MIC_MUTED:
      return "muted";
    default:
      return "-";
  }
}

std::string SuiteText(v1::CryptoSuite suite) {
  switch (suite) {
    case v1::AES_CM_128_HMAC_SHA1_80:
      return "AES_CM_128_HMAC_SHA1_80";
    case v1::AEAD_AES_128_GCM:
      return "AEAD_AES_128_GCM";
    default:
      return "default";
  }
}

std::string FloorSourceText(const v1::FloorSource& source) {
  if (source.has_tone()) {
    const double level = source.tone().level_dbfs() != 0 ? source.tone().level_dbfs() : -20;
    return "tone " + Fixed(source.tone().frequency_hz()) + " Hz at " + Fixed(level) + " dBFS";
  }
  if (source.has_rtp()) return source.rtp().srtp() ? "RTP/SRTP ingest" : "RTP ingest";
  return "silence";
}

std::string IngestText(const v1::IngestEndpoint& ingest) {
  std::string text = ingest.endpoint().host() + ":" + std::to_string(ingest.endpoint().port()) + " pt " +
                     std::to_string(ingest.payload_type()) + " ssrc " +
                     (ingest.ssrc() ? std::to_string(ingest.ssrc()) : std::string("latched"));
  if (ingest.has_srtp() && !ingest.srtp().master_key().empty()) {
    const std::string& key = ingest.srtp().master_key();
    text += " " + SuiteText(ingest.srtp().suite()) + " key " + domain::Base64Encode(key);
  } else {
    text += " plain RTP";
  }
  return text;
}

void PrintSession(const v1::Session& s) {
  std::cout << "session         " << s.id() << (s.ended() ? "  (ended)" : "") << "\n"
            << "name            " << s.name() << "\n"
            << "floor language  " << (s.floor_language().empty() ? "unknown" : s.floor_language()) << "\n"
            << "floor source    " << FloorSourceText(s.floor_source()) << "\n";
  if (s.has_floor_ingest()) std::cout << "floor ingest    " << IngestText(s.floor_ingest()) << "\n";
  std::cout << "\n";
  Table channels({"CHANNEL", "DUCK dB", "LIVE CONSOLE", "LISTENERS", "RELAY GEN"});
  for (const auto& c : s.channels()) {
    channels.Add({c.language(), Fixed(c.floor_duck_db()), c.live_console_id().empty() ? "(floor)" : c.live_console_id(),
                  std::to_string(c.listener_count()), std::to_string(c.relay_generation())});
  }
  channels.Print();
  if (s.consoles_size() > 0) {
    std::cout << "\n";
    Table consoles({"CONSOLE", "BOOTH", "NAME", "MIC", "OUTPUT"});
    for (const auto& c : s.consoles())
      consoles.Add({c.id(), c.booth(), c.name(), MicName(c.mic()), c.output_channel()});
    consoles.Print();
  }
}

void PrintSessionList(const v1::ListSessionsResponse& list) {
  Table table({"ID", "NAME", "FLOOR", "CHANNELS", "CONSOLES", "LISTENERS", "STATE"});
  for (const auto& s : list.sessions()) {
    uint32_t listeners = 0;
    std::string languages;
    for (const auto& c : s.channels()) {
      listeners += c.listener_count();
      languages += (languages.empty() ? "" : ",") + c.language();
    }
    table.Add({s.id(), s.name(), s.floor_language().empty() ? "?" : s.floor_language(), languages,
               std::to_string(s.consoles_size()), std::to_string(listeners), s.ended() ? "ended" : "running"});
  }
  table.Print();
}

void PrintStats(const v1::SessionStats& stats) {
  Table table({"SOURCE", "ACCEPTED", "MALFORMED", "OVERSIZED", "UNKNOWN SSRC", "WRONG PT", "SRTP AUTH"});
  for (const auto& i : stats.ingest()) {
    table.Add({i.source(), std::to_string(i.packets_accepted()), std::to_string(i.dropped_malformed()),
               std::to_string(i.dropped_oversized()), std::to_string(i.dropped_unknown_ssrc()),
               std::to_string(i.dropped_wrong_payload_type()), std::to_string(i.dropped_srtp_auth())});
  }
  table.Print();
  std::cout << "\nlistener packets sent  " << stats.listener_packets_sent() << "\n"
            << "listener send errors   " << stats.listener_send_errors() << "\n";
}

void PrintEvent(const v1::SessionEvent& e) {
  char when[32] = "(current)   ";  // time 0: the state snapshot sent when the watch starts
  if (e.unix_time_ms() != 0) {
    const std::time_t seconds = std::time_t(e.unix_time_ms() / 1000);
    std::tm local{};
    localtime_r(&seconds, &local);
    std::snprintf(when, sizeof when, "%02d:%02d:%02d.%03d", local.tm_hour, local.tm_min, local.tm_sec,
                  int(e.unix_time_ms() % 1000));
  }
  std::string what;
  switch (e.kind_case()) {
    case v1::SessionEvent::kChannelSource:
      what =
          "channel " + e.channel_source().language() + " <- " +
          (e.channel_source().live_console_id().empty() ? "floor" : "console " + e.channel_source().live_console_id());
      break;
    case v1::SessionEvent::kMic:
      what = "mic     console " + e.mic().console_id() + " on " + e.mic().channel() + ": " + MicName(e.mic().mic());
      break;
    case v1::SessionEvent::kListeners:
      what = "audience " + e.listeners().channel() + ": " + std::to_string(e.listeners().count());
      break;
    case v1::SessionEvent::kEnded:
      what = "session ended";
      break;
    case v1::SessionEvent::kFloor:
      what = "floor   language " + (e.floor().floor_language().empty() ? "unknown" : e.floor().floor_language()) +
             ", source " + FloorSourceText(e.floor().source());
      break;
    default:
      what = "(unknown event)";
      break;
  }
  std::cout << when << "  " << what << std::endl;  // flush: watch is read live, often through a pipe
}

}  // namespace tilmash::ctl
