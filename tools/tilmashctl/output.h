// Human (aligned tables) and JSON output for tilmashctl.
#pragma once
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
const char* MicName(v1::MicState mic);
std::string FloorSourceText(const v1::FloorSource& source);
std::string IngestText(const v1::IngestEndpoint& ingest);  // includes the base64 key: it is the caller's
std::string SuiteText(v1::CryptoSuite suite);

void PrintSession(const v1::Session& session);
void PrintSessionList(const v1::ListSessionsResponse& list);
void PrintStats(const v1::SessionStats& stats);
void PrintEvent(const v1::SessionEvent& event);

}  // namespace tilmash::ctl
