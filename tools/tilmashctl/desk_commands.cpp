// tilmashctl: the booth features of an ISO 20109 desk (BoothService): booth configuration and
// view, output/input select, handover, messages, interlock mode, broadcast indicators, WatchBooth.
#include "client/convert.h"
#include "command.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::ctl {

namespace {

using client::SetDeadline;

std::unique_ptr<v1::BoothService::Stub> Booths(Context& ctx) { return v1::BoothService::NewStub(ctx.channel()); }

// Turns a word the CLI accepted (IsMember / a validator) into its enum.
template <class T>
T Must(const std::optional<T>& value) {
  return value.value();  // the command-line check already refused anything else
}

int GetBooth(Context& ctx, const std::string& id, const std::string& booth) {
  v1::GetBoothRequest request;
  request.set_session_id(id);
  request.set_booth(booth);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Booth response;
  const auto status = Booths(ctx)->GetBooth(&context, request, &response);
  return Report<v1::Booth>(ctx, "GetBooth", status, response, PrintBooth);
}

struct ConfigureOptions {
  std::string id, booth, retour_b, retour_c;
  std::vector<std::string> takes;
};

int ConfigureBooth(Context& ctx, const ConfigureOptions& o) {
  v1::ConfigureBoothRequest request;
  request.set_session_id(o.id);
  request.set_booth(o.booth);
  request.set_retour_b(o.retour_b);
  request.set_retour_c(o.retour_c);
  for (const auto& t : o.takes) request.add_takes(t);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Booth response;
  const auto status = Booths(ctx)->ConfigureBooth(&context, request, &response);
  return Report<v1::Booth>(ctx, "ConfigureBooth", status, response, PrintBooth);
}

int WatchBooth(Context& ctx, const std::string& id, const std::string& booth) {
  v1::WatchBoothRequest request;
  request.set_session_id(id);
  request.set_booth(booth);
  auto stub = Booths(ctx);
  return ReadStream<v1::BoothEvent>(
      ctx, "WatchBooth", [&](grpc::ClientContext* context) { return stub->WatchBooth(context, request); },
      PrintBoothEvent);
}

struct SelectOptions {
  std::string id, console, value;
};

int SelectOutput(Context& ctx, const SelectOptions& o) {
  v1::SelectOutputRequest request;
  request.set_session_id(o.id);
  request.set_console_id(o.console);
  request.set_slot(Must(client::OutputSlotFromText(o.value)));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Console console;
  const auto status = Booths(ctx)->SelectOutput(&context, request, &console);
  return Report<v1::Console>(ctx, "SelectOutput", status, console, PrintConsole);
}

int SelectInput(Context& ctx, const SelectOptions& o) {
  v1::SelectInputRequest request;
  request.set_session_id(o.id);
  request.set_console_id(o.console);
  *request.mutable_input() = Must(client::InputFromText(o.value));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Console console;
  const auto status = Booths(ctx)->SelectInput(&context, request, &console);
  return Report<v1::Console>(ctx, "SelectInput", status, console, PrintConsole);
}

enum class HandoverStep { kRequest, kAccept, kDecline };

int Handover(Context& ctx, HandoverStep step, const std::string& id, const std::string& console) {
  v1::HandoverRequest request;
  request.set_session_id(id);
  request.set_console_id(console);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::HandoverResponse response;
  auto stub = Booths(ctx);
  grpc::Status status;
  const char* rpc = "";
  const char* done = "";
  switch (step) {
    case HandoverStep::kRequest:
      status = stub->RequestHandover(&context, request, &response);
      rpc = "RequestHandover";
      done = "asked for the channel (the live console has 10 s to answer)";
      break;
    case HandoverStep::kAccept:
      status = stub->AcceptHandover(&context, request, &response);
      rpc = "AcceptHandover";
      done = "handed the channel over";
      break;
    case HandoverStep::kDecline:
      status = stub->DeclineHandover(&context, request, &response);
      rpc = "DeclineHandover";
      done = "declined the handover";
      break;
  }
  return Report<v1::HandoverResponse>(ctx, rpc, status, response,
                                      [&](const auto&) { std::cout << "console " << console << " " << done << "\n"; });
}

struct MessageOptions {
  std::string id, kind, from, to, text;
};

int SendMessage(Context& ctx, const MessageOptions& o) {
  v1::SendMessageRequest request;
  request.set_session_id(o.id);
  v1::Message& m = *request.mutable_message();
  m.set_kind(Must(client::MessageKindFromText(o.kind)));
  m.set_from(o.from);
  m.set_to(o.to);
  m.set_text(o.text);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::SendMessageResponse response;
  const auto status = Booths(ctx)->SendMessage(&context, request, &response);
  return Report<v1::SendMessageResponse>(ctx, "SendMessage", status, response,
                                         [&](const auto&) { std::cout << "sent " << MessageText(m) << "\n"; });
}

int Interlock(Context& ctx, const std::string& id, const std::string& mode) {
  v1::SetInterlockModeRequest request;
  request.set_session_id(id);
  request.set_mode(Must(client::InterlockModeFromText(mode)));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Booths(ctx)->SetInterlockMode(&context, request, &session);
  return Report<v1::Session>(ctx, "SetInterlockMode", status, session, [](const v1::Session& s) {
    std::cout << "session " << s.id() << ": interlock mode " << client::InterlockModeText(s.interlock_mode()) << "\n";
  });
}

struct BroadcastOptions {
  std::string id;
  bool on_air = false, recorded = false;
};

int Broadcast(Context& ctx, const BroadcastOptions& o) {
  v1::SetBroadcastStateRequest request;
  request.set_session_id(o.id);
  request.set_on_air(o.on_air);
  request.set_recorded(o.recorded);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Booths(ctx)->SetBroadcastState(&context, request, &session);
  return Report<v1::Session>(ctx, "SetBroadcastState", status, session, [](const v1::Session& s) {
    std::cout << "session " << s.id() << ": " << BroadcastText(s.on_air(), s.recorded()) << "\n";
  });
}

// CLI11 validators from the client's word lists, so a typo fails before any RPC.
CLI::Validator WordCheck(const char* what, bool (*valid)(const std::string&)) {
  return CLI::Validator(
      [what, valid](std::string& value) { return valid(value) ? std::string() : std::string("not ") + what; }, what);
}

}  // namespace

void AddDeskCommands(CLI::App& app, Context& ctx, Action& action) {
  const auto slot_check =
      WordCheck("A|B|C", [](const std::string& v) { return client::OutputSlotFromText(v).has_value(); });
  const auto input_check =
      WordCheck("floor|auto|LANG", [](const std::string& v) { return client::InputFromText(v).has_value(); });
  const auto mode_check = WordCheck("interlock|override|toggle-override",
                                    [](const std::string& v) { return client::InterlockModeFromText(v).has_value(); });
  const auto kind_check = WordCheck("slow-down|call-technician|text",
                                    [](const std::string& v) { return client::MessageKindFromText(v).has_value(); });

  auto* booth = app.add_subcommand("booth", "booths: configuration, desk view, events")->require_subcommand(1);
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = booth->add_subcommand("get", "the desk view: A/B/C channels, consoles, handover, messages");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("booth", o->second, "the booth's A language")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return GetBooth(ctx, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<ConfigureOptions>();
    auto* cmd = booth->add_subcommand(
        "configure", "set retour channels and the floor languages the booth takes (replaces the whole configuration)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("booth", o->booth, "the booth's A language")->required();
    cmd->add_option("--retour-b", o->retour_b, "B channel (retour); omitted = none");
    cmd->add_option("--retour-c", o->retour_c, "C channel; omitted = none");
    cmd->add_option("--takes", o->takes, "floor languages it interprets from, e.g. en,kk; omitted = all")
        ->delimiter(',');
    cmd->callback([&, o] { action = [&ctx, o] { return ConfigureBooth(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = booth->add_subcommand("watch", "print the booth's state, messages and handovers until Ctrl-C");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("booth", o->second, "the booth's A language")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return WatchBooth(ctx, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<SelectOptions>();
    auto* cmd = app.add_subcommand("output", "outgoing channel select of a console: A, B or C");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("console", o->console, "console id")->required();
    cmd->add_option("slot", o->value, "A, B or C")->required()->check(slot_check);
    cmd->callback([&, o] { action = [&ctx, o] { return SelectOutput(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<SelectOptions>();
    auto* cmd = app.add_subcommand("input", "incoming select of a console: floor, auto (auto-relay) or a channel");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("console", o->console, "console id")->required();
    cmd->add_option("input", o->value, "floor, auto or a language (relay)")->required()->check(input_check);
    cmd->callback([&, o] { action = [&ctx, o] { return SelectInput(ctx, *o); }; });
  }
  auto* handover =
      app.add_subcommand("handover", "hand a channel from the live console to its partner")->require_subcommand(1);
  for (auto [name, step, help] :
       {std::tuple{"request", HandoverStep::kRequest, "the partner (CONSOLE) asks the live console for the channel"},
        std::tuple{"accept", HandoverStep::kAccept, "the live console (CONSOLE) accepts the pending request"},
        std::tuple{"decline", HandoverStep::kDecline, "the live console (CONSOLE) declines the pending request"}}) {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = handover->add_subcommand(name, help);
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("console", o->second, "console id")->required();
    const HandoverStep s = step;
    cmd->callback([&, o, s] { action = [&ctx, o, s] { return Handover(ctx, s, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<MessageOptions>();
    auto* cmd = app.add_subcommand("message", "send a desk message (slow-down, call-technician, text)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("--kind", o->kind, "slow-down, call-technician or text")->required()->check(kind_check);
    cmd->add_option("--from", o->from, "a console id, or chair/technician (text only)")->required();
    cmd->add_option("--to", o->to, "text: chair, technician or booth:LANG (the server addresses the others)");
    cmd->add_option("--text", o->text, "the text (at most 500 characters)");
    cmd->callback([&, o] {
      if (client::MessageKindFromText(o->kind) == v1::TEXT && (o->to.empty() || o->text.empty()))
        throw CLI::ValidationError("message", "--kind text needs --to and --text");
      action = [&ctx, o] { return SendMessage(ctx, *o); };
    });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = app.add_subcommand("interlock", "what a second mic on an engaged channel does");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("mode", o->second, "interlock, override or toggle-override")->required()->check(mode_check);
    cmd->callback([&, o] { action = [&ctx, o] { return Interlock(ctx, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<BroadcastOptions>();
    auto* cmd = app.add_subcommand("broadcast", "set the on-air / recorded indicators (an omitted flag turns it off)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_flag("--on-air", o->on_air, "audio leaves the room");
    cmd->add_flag("--recorded", o->recorded, "the session is being recorded");
    cmd->callback([&, o] { action = [&ctx, o] { return Broadcast(ctx, *o); }; });
  }
}

}  // namespace tilmash::ctl
