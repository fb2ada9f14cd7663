// One console's key presses as BoothService calls, and how their results read on a desk.
#pragma once
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "schedule.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::booth {

struct Outcome {
  grpc::Status status;
  std::optional<v1::Console> console;  // when the RPC returns the console
};

// Performs `event` for console `console_id` (mic, cough, input, output, handover request, message).
Outcome Perform(v1::BoothService::Stub& booths, const std::string& session_id, const std::string& console_id,
                const KeyEvent& event);
// AcceptHandover (accept) or DeclineHandover for the live console `console_id`.
grpc::Status AnswerHandover(v1::BoothService::Stub& booths, const std::string& session_id,
                            const std::string& console_id, bool accept);

// "mic live, output ru (A), hears floor" (+ ", held").
std::string DeskText(const v1::Console& console);
// "refused: FAILED_PRECONDITION: ..." for what the server turned down, "failed: ..." otherwise.
std::string FailureText(const grpc::Status& status);

}  // namespace tilmash::booth
