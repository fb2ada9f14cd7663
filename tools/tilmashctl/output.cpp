#include "output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "client/convert.h"

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

std::string FloorOnAirText(v1::FloorActive active, v1::FloorSelect select, const std::string& reason) {
  const char* selected = select == v1::FLOOR_SELECT_PRIMARY  ? "primary"
                         : select == v1::FLOOR_SELECT_BACKUP ? "backup"
                                                             : "auto";
  return std::string(active == v1::FLOOR_ACTIVE_BACKUP ? "backup" : "primary") + " (select " + selected + "; " +
         reason + ")";
}

std::string FloorSourceText(const v1::FloorSource& source) {
  if (source.has_tone()) {
    const double level = source.tone().level_dbfs() != 0 ? source.tone().level_dbfs() : -20;
    return "tone " + Fixed(source.tone().frequency_hz()) + " Hz at " + Fixed(level) + " dBFS";
  }
  if (source.has_rtp()) return source.rtp().srtp() ? "RTP/SRTP ingest" : "RTP ingest";
  if (source.has_sound_card())
    return "sound card " + source.sound_card().device() + ", " +
           (source.sound_card().channel() ? "channel " + std::to_string(source.sound_card().channel())
                                          : std::string("all channels mixed"));
  if (source.has_aes67()) {
    const std::string& sdp = source.aes67().sdp();
    std::string name;  // the SDP's s= line, the name the desk gave the stream
    if (auto at = sdp.find("\ns="); at != std::string::npos)
      name = sdp.substr(at + 3, sdp.find_first_of("\r\n", at + 3) - at - 3);
    return "AES67 '" + name + "', " +
           (source.aes67().channel() ? "channel " + std::to_string(source.aes67().channel())
                                     : std::string("all channels summed"));
  }
  return "silence";
}

std::string IngestText(const v1::IngestEndpoint& ingest) {
  std::string text = ingest.endpoint().host() + ":" + std::to_string(ingest.endpoint().port()) + " pt " +
                     std::to_string(ingest.payload_type()) + " ssrc " +
                     (ingest.ssrc() ? std::to_string(ingest.ssrc()) : std::string("latched"));
  if (ingest.has_srtp() && !ingest.srtp().master_key().empty()) {
    const std::string& key = ingest.srtp().master_key();
    text += " " + SuiteText(ingest.srtp().suite()) + " key " + client::Base64(key);
  } else if (ingest.has_srtp()) {
    text += " " + SuiteText(ingest.srtp().suite()) + " (key not shown to this caller)";
  } else {
    text += " plain RTP";
  }
  return text;
}

std::string TimeText(int64_t unix_time_ms) {
  if (unix_time_ms == 0) return "(current)   ";
  const std::time_t seconds = std::time_t(unix_time_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char when[32];
  std::snprintf(when, sizeof when, "%02d:%02d:%02d.%03d", local.tm_hour, local.tm_min, local.tm_sec,
                int(unix_time_ms % 1000));
  return when;
}

std::string DateTimeText(int64_t unix_time_ms) {
  const std::time_t seconds = std::time_t(unix_time_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char when[48];
  std::snprintf(when, sizeof when, "%04d-%02d-%02d %02d:%02d:%02d.%03d", local.tm_year + 1900, local.tm_mon + 1,
                local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec, int(unix_time_ms % 1000));
  return when;
}

const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::ADMIN:
      return "admin";
    case v1::OPERATOR:
      return "operator";
    case v1::CHAIR:
      return "chair";
    case v1::INTERPRETER:
      return "interpreter";
    case v1::DELEGATE:
      return "delegate";
    case v1::VIEWER:
      return "viewer";
    default:
      return "-";
  }
}

std::string ConsoleOutputText(const v1::Console& c) {
  if (c.output_channel().empty()) return "-";
  if (c.output_slot() == v1::OUTPUT_SLOT_UNSPECIFIED) return c.output_channel();
  return c.output_channel() + " (" + client::OutputSlotText(c.output_slot()) + ")";
}

std::string RelayForText(uint32_t booths) {
  if (booths == 0) return "-";
  return std::to_string(booths) + (booths == 1 ? " booth" : " booths");
}

std::string BroadcastText(bool on_air, bool recorded) {
  return std::string(on_air ? "on air" : "off air") + ", " + (recorded ? "recorded" : "not recorded");
}

namespace {
std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }
std::string MicText(const v1::Console& c) {
  return std::string(client::MicStateText(c.mic())) + (c.link_lost() ? " (link lost)" : "");
}
}  // namespace

void PrintConsole(const v1::Console& c) {
  Table table({"CONSOLE", "BOOTH", "NAME", "MIC", "OUTPUT", "INPUT", "HEARS", "HELD"});
  table.Add({c.id(), c.booth(), c.name(), MicText(c), ConsoleOutputText(c), client::InputText(c.input()),
             OrDash(c.effective_input()), c.held() ? "held" : "-"});
  table.Print();
}

void PrintChannels(const google::protobuf::RepeatedPtrField<v1::Channel>& channels) {
  Table table({"CHANNEL", "DUCK dB", "LIVE CONSOLE", "LISTENERS", "RELAY GEN", "RELAY FOR", "REC"});
  for (const auto& c : channels) {
    table.Add({c.language(), Fixed(c.floor_duck_db()), c.live_console_id().empty() ? "(floor)" : c.live_console_id(),
               std::to_string(c.listener_count()), std::to_string(c.relay_generation()),
               RelayForText(c.used_as_relay_by()), c.recording() ? "rec" : "-"});
  }
  table.Print();
}

void PrintRecordings(const v1::ListRecordingsResponse& r) {
  Table table({"CHANNEL", "START (UTC)", "SECONDS", "BYTES", "STATE", "FILE"});
  for (const auto& f : r.files())
    table.Add({f.language(), f.start_utc(), Fixed(f.duration_s()), std::to_string(f.bytes()),
               f.finished() ? "finished" : "open", f.path()});
  table.Print();
}

void PrintSession(const v1::Session& s) {
  std::cout << "session         " << s.id() << (s.ended() ? "  (ended)" : "") << "\n"
            << "name            " << s.name() << "\n"
            << "floor language  " << (s.floor_language().empty() ? "unknown" : s.floor_language()) << "\n"
            << "floor source    " << FloorSourceText(s.floor_source()) << "\n";
  if (s.has_floor_ingest()) std::cout << "floor ingest    " << IngestText(s.floor_ingest()) << "\n";
  if (s.has_floor_backup_source()) {
    std::cout << "floor backup    " << FloorSourceText(s.floor_backup_source()) << "\n";
    if (s.has_floor_backup_ingest()) std::cout << "backup ingest   " << IngestText(s.floor_backup_ingest()) << "\n";
    std::cout << "floor on air    " << FloorOnAirText(s.floor_active(), s.floor_select(), s.floor_active_reason())
              << (s.floor_primary_lost() ? "  (primary lost)" : "") << "\n";
  }
  std::cout << "interlock mode  " << client::InterlockModeText(s.interlock_mode()) << "\n"
            << "broadcast       " << BroadcastText(s.on_air(), s.recorded()) << "\n";
  std::cout << "\n";
  PrintChannels(s.channels());
  if (s.consoles_size() > 0) {
    std::cout << "\n";
    Table consoles({"CONSOLE", "BOOTH", "NAME", "MIC", "OUTPUT", "INPUT", "HEARS", "HELD", "RETURN SSRC"});
    for (const auto& c : s.consoles())
      consoles.Add({c.id(), c.booth(), c.name(), MicText(c), ConsoleOutputText(c), client::InputText(c.input()),
                    OrDash(c.effective_input()), c.held() ? "held" : "-",
                    c.return_ssrc() ? std::to_string(c.return_ssrc()) : "-"});
    consoles.Print();
  }
}

void PrintBooth(const v1::Booth& b) {
  std::string takes;
  for (const auto& t : b.takes()) takes += (takes.empty() ? "" : ",") + t;
  std::cout << "booth           " << b.language() << "\n"
            << "retour          B " << OrDash(b.retour_b()) << ", C " << OrDash(b.retour_c()) << "\n"
            << "takes           " << (takes.empty() ? "all floor languages" : takes) << "\n"
            << "interlock mode  " << client::InterlockModeText(b.interlock_mode()) << "\n"
            << "broadcast       " << BroadcastText(b.on_air(), b.recorded()) << "\n"
            << "handover        "
            << (b.handover_from().empty() ? "-" : "pending: " + b.handover_to() + " asks " + b.handover_from()) << "\n";
  auto console_name = [&](const std::string& id) {
    for (const auto& c : b.consoles())
      if (c.id() == id) return id + " (" + c.name() + ")";
    return id;  // a console of another booth sharing this channel
  };
  auto slot = [&](const std::string& language) -> std::string {
    if (language == b.language()) return "A";
    if (language == b.retour_b()) return "B";
    if (language == b.retour_c()) return "C";
    return "-";
  };
  std::cout << "\n";
  Table channels({"SLOT", "CHANNEL", "ENGAGED BY", "LISTENERS", "RELAY GEN", "RELAY FOR"});
  for (const auto& c : b.channels()) {
    channels.Add(
        {slot(c.language()), c.language(), c.live_console_id().empty() ? "(floor)" : console_name(c.live_console_id()),
         std::to_string(c.listener_count()), std::to_string(c.relay_generation()), RelayForText(c.used_as_relay_by())});
  }
  channels.Print();
  std::cout << "\n";
  if (b.consoles_size() == 0) {
    std::cout << "no consoles\n";
  } else {
    Table consoles({"CONSOLE", "NAME", "MIC", "OUTPUT", "INPUT", "HEARS", "HELD", "HANDOVER"});
    for (const auto& c : b.consoles()) {
      std::string handover = "-";
      if (c.id() == b.handover_from()) handover = "asked by " + b.handover_to();
      if (c.id() == b.handover_to()) handover = "asking " + b.handover_from();
      consoles.Add({c.id(), c.name(), MicText(c), ConsoleOutputText(c), client::InputText(c.input()),
                    OrDash(c.effective_input()), c.held() ? "held" : "-", handover});
    }
    consoles.Print();
  }
  if (b.messages_size() > 0) {
    std::cout << "\nmessages\n";
    for (const auto& m : b.messages()) std::cout << TimeText(m.unix_time_ms()) << "  " << MessageText(m) << "\n";
  }
}

std::string MessageText(const v1::Message& m) {
  std::string text = std::string(client::MessageKindText(m.kind())) + " from " + OrDash(m.from());
  if (!m.to().empty()) text += " to " + m.to();
  if (!m.text().empty()) text += ": " + m.text();
  return text;
}

std::string HandoverText(const v1::HandoverEvent& h) {
  return std::string(client::HandoverWhatText(h.what())) + ": " + client::HandoverSentence(h);
}

void PrintBoothEvent(const v1::BoothEvent& e) {
  const std::string when = TimeText(e.unix_time_ms());
  switch (e.kind_case()) {
    case v1::BoothEvent::kState: {
      const v1::Booth& b = e.state();
      std::string channels;
      for (const auto& c : b.channels()) {
        channels += (channels.empty() ? "" : ", ") + c.language() + " <- " +
                    (c.live_console_id().empty() ? "floor" : c.live_console_id());
        if (c.used_as_relay_by() > 0) channels += " [relay for " + RelayForText(c.used_as_relay_by()) + "]";
      }
      std::cout << when << "  state    booth " << b.language() << ": " << channels << "; "
                << BroadcastText(b.on_air(), b.recorded());
      if (!b.handover_from().empty())
        std::cout << "; handover pending: " << b.handover_to() << " asks " << b.handover_from();
      std::cout << "\n";
      for (const auto& c : b.consoles()) {
        std::cout << std::string(when.size(), ' ') << "           console " << c.id() << " (" << c.name() << ") mic "
                  << MicText(c) << ", output " << ConsoleOutputText(c) << ", input " << client::InputText(c.input())
                  << ", hears " << OrDash(c.effective_input()) << (c.held() ? ", held" : "") << "\n";
      }
      break;
    }
    case v1::BoothEvent::kMessage:
      std::cout << when << "  message  " << MessageText(e.message()) << "\n";
      break;
    case v1::BoothEvent::kHandover:
      std::cout << when << "  handover " << HandoverText(e.handover()) << "\n";
      break;
    default:
      std::cout << when << "  (unknown event)\n";
      break;
  }
  std::cout.flush();  // watch is read live, often through a pipe
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

void PrintAudit(const v1::ListAuditResponse& audit) {
  Table table({"TIME", "SUBJECT", "ROLE", "ACTION", "TARGET", "RESULT"});
  for (const auto& e : audit.entries())
    table.Add({DateTimeText(e.unix_time_ms()), OrDash(e.subject()), RoleName(e.role()), OrDash(e.action()),
               OrDash(e.target()), OrDash(e.result())});
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
  const std::string when = TimeText(e.unix_time_ms());  // time 0: the state snapshot sent when the watch starts
  std::string what;
  switch (e.kind_case()) {
    case v1::SessionEvent::kChannelSource:
      what =
          "channel " + e.channel_source().language() + " <- " +
          (e.channel_source().live_console_id().empty() ? "floor" : "console " + e.channel_source().live_console_id());
      break;
    case v1::SessionEvent::kMic:
      what = "mic     console " + e.mic().console_id() + " on " + e.mic().channel() + ": " +
             client::MicStateText(e.mic().mic());
      break;
    case v1::SessionEvent::kConsoleLink:
      what = "link    console " + e.console_link().console_id() + " on " + e.console_link().channel() + ": " +
             (e.console_link().link_lost() ? "lost, the channel is on the floor" : "back") + " (mic " +
             client::MicStateText(e.console_link().mic()) + ")";
      break;
    case v1::SessionEvent::kListeners:
      what = "audience " + e.listeners().channel() + ": " + std::to_string(e.listeners().count());
      break;
    case v1::SessionEvent::kEnded:
      what = "session ended";
      break;
    case v1::SessionEvent::kFloor:
      what = "floor   language " + (e.floor().floor_language().empty() ? "unknown" : e.floor().floor_language()) +
             ", source " + FloorSourceText(e.floor().source()) +
             (e.floor().has_backup() ? ", backup " + FloorSourceText(e.floor().backup()) : "");
      break;
    case v1::SessionEvent::kFloorActive:
      what = "floor   on air: " +
             FloorOnAirText(e.floor_active().active(), e.floor_active().select(), e.floor_active().reason()) +
             (e.floor_active().primary_lost() ? " (primary lost)" : "");
      break;
    case v1::SessionEvent::kMessage:
      what = "message " + MessageText(e.message());
      break;
    case v1::SessionEvent::kHandover:
      what = "handover " + HandoverText(e.handover());
      break;
    case v1::SessionEvent::kRecording:
      what = "record  " + e.recording().language() + (e.recording().recording() ? " on" : " off") + " (" +
             e.recording().reason() + ")" + (e.recording().file().empty() ? "" : " " + e.recording().file());
      break;
    case v1::SessionEvent::kInputAlarm: {
      const auto& a = e.input_alarm();
      std::string alarms;
      if (a.clipping()) alarms += " CLIPPING";
      if (a.narrowband()) alarms += " TELEPHONE-BAND";
      what = "input   " + a.source() + (alarms.empty() ? " ok" : alarms) + " (peak " + Fixed(a.peak_dbfs(), 1) +
             " dBFS, level " + Fixed(a.rms_dbfs(), 1) + " dBFS, above 7 kHz " + Fixed(a.above_7khz_db(), 1) + " dB)";
      break;
    }
    default:
      what = "(unknown event)";
      break;
  }
  std::cout << when << "  " << what << std::endl;  // flush: watch is read live, often through a pipe
}

}  // namespace tilmash::ctl
