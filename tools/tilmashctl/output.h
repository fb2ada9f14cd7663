// Human (aligned tables) and JSON output for tilmashctl.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tilmash/v1/tilmash.pb.h"

namespace google::protobuf {
class Message;
}

namespace tilmash::ctl {

// Left-aligned columns, widths from the content.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One line of JSON, proto field names (snake_case), zero values included.
void PrintJson(const google::protobuf::Message& message);
std::string ToJson(const google::protobuf::Message& message);

std::string Fixed(double value, int decimals = 1);
std::string FloorSourceText(const v1::FloorSource& source);
std::string FloorOnAirText(v1::FloorActive active, v1::FloorSelect select, const std::string& reason);
std::string IngestText(const v1::IngestEndpoint& ingest);  // includes the base64 key: it is the caller's
std::string SuiteText(v1::CryptoSuite suite);

// "12:00:01.123" local time; "(current)" for time 0 (the snapshot a watch starts with).
std::string TimeText(int64_t unix_time_ms);
// "2025-01-31 12:00:01.123" local time (audit entries span days).
std::string DateTimeText(int64_t unix_time_ms);
const char* RoleName(v1::Role role);                        // "admin", ..., "-" for unspecified
std::string ConsoleOutputText(const v1::Console& console);  // "ru (A)"
std::string RelayForText(uint32_t booths);                  // "2 booths", "-" for none
std::string BroadcastText(bool on_air, bool recorded);      // "on air, recorded"

void PrintConsole(const v1::Console& console);
void PrintChannels(const google::protobuf::RepeatedPtrField<v1::Channel>& channels);
void PrintSession(const v1::Session& session);
void PrintRecordings(const v1::ListRecordingsResponse& recordings);
void PrintBooth(const v1::Booth& booth);  // the desk view: channels, consoles, handover, messages
void PrintBoothEvent(const v1::BoothEvent& event);
std::string MessageText(const v1::Message& message);       // "text from chair to booth:ru: ..."
std::string HandoverText(const v1::HandoverEvent& event);  // "requested: c-2 asks c-1 for ru"
void PrintSessionList(const v1::ListSessionsResponse& list);
void PrintStats(const v1::SessionStats& stats);
void PrintEvent(const v1::SessionEvent& event);
void PrintAudit(const v1::ListAuditResponse& audit);  // TIME SUBJECT ROLE ACTION TARGET RESULT

}  // namespace tilmash::ctl
