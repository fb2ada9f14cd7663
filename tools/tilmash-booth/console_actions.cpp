#include "console_actions.h"

#include <grpcpp/grpcpp.h>

#include "client/connect.h"
#include "client/convert.h"

namespace tilmash::booth {

using client::SetDeadline;

Outcome Perform(v1::BoothService::Stub& booths, const std::string& session_id, const std::string& console_id,
                const KeyEvent& e) {
  grpc::ClientContext context;
  SetDeadline(context);
  Outcome out;
  v1::Console console;
  switch (e.key) {
    case KeyEvent::Key::kMic: {
      v1::SetMicRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console_id);
      request.set_live(e.on);
      out.status = booths.SetMic(&context, request, &console);
      break;
    }
    case KeyEvent::Key::kCough: {
      v1::CoughRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console_id);
      request.set_muted(e.on);
      out.status = booths.Cough(&context, request, &console);
      break;
    }
    case KeyEvent::Key::kInput: {
      v1::SelectInputRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console_id);
      *request.mutable_input() = client::InputFromText(e.value).value_or(v1::InputSelection());
      out.status = booths.SelectInput(&context, request, &console);
      break;
    }
    case KeyEvent::Key::kOutput: {
      v1::SelectOutputRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console_id);
      request.set_slot(client::OutputSlotFromText(e.value).value_or(v1::OUTPUT_SLOT_UNSPECIFIED));
      out.status = booths.SelectOutput(&context, request, &console);
      break;
    }
    case KeyEvent::Key::kHandoverRequest: {
      v1::HandoverRequest request;
      request.set_session_id(session_id);
      request.set_console_id(console_id);
      v1::HandoverResponse response;
      out.status = booths.RequestHandover(&context, request, &response);
      return out;
    }
    case KeyEvent::Key::kMessage: {
      v1::SendMessageRequest request;
      request.set_session_id(session_id);
      v1::Message& m = *request.mutable_message();
      m.set_kind(client::MessageKindFromText(e.value).value_or(v1::MESSAGE_KIND_UNSPECIFIED));
      m.set_from(console_id);
      m.set_to(e.to);
      m.set_text(e.text);
      v1::SendMessageResponse response;
      out.status = booths.SendMessage(&context, request, &response);
      return out;
    }
  }
  if (out.status.ok()) out.console = std::move(console);
  return out;
}

grpc::Status AnswerHandover(v1::BoothService::Stub& booths, const std::string& session_id,
                            const std::string& console_id, bool accept) {
  grpc::ClientContext context;
  SetDeadline(context);
  v1::HandoverRequest request;
  request.set_session_id(session_id);
  request.set_console_id(console_id);
  v1::HandoverResponse response;
  return accept ? booths.AcceptHandover(&context, request, &response)
                : booths.DeclineHandover(&context, request, &response);
}

std::string DeskText(const v1::Console& c) {
  std::string text = std::string("mic ") + client::MicStateText(c.mic()) + ", output " +
                     (c.output_channel().empty() ? "-" : c.output_channel()) + " (" +
                     client::OutputSlotText(c.output_slot()) + "), hears " +
                     (c.effective_input().empty() ? "-" : c.effective_input());
  if (c.input().kind_case() == v1::InputSelection::kAuto) text += " (auto)";
  if (c.held()) text += ", held";
  return text;
}

std::string FailureText(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return "refused: " + client::StatusText(status);
    default:
      return "failed: " + client::StatusText(status);
  }
}

}  // namespace tilmash::booth
