// tilmashctl: console, mic/cough (BoothService) and listen (ListenerService) commands.
// The other booth features (select, handover, messages, ...) are in desk_commands.cpp.
#include <optional>

#include "client/convert.h"
#include "command.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::ctl {

namespace {

using client::SetDeadline;

struct JoinOptions {
  std::string id, booth, name, return_host = "127.0.0.1";
  uint16_t return_port = 0;
};

int Join(Context& ctx, const JoinOptions& o) {
  v1::JoinConsoleRequest request;
  request.set_session_id(o.id);
  request.set_booth(o.booth);
  request.set_name(o.name);
  if (o.return_port != 0) {
    request.mutable_return_endpoint()->set_host(o.return_host);
    request.mutable_return_endpoint()->set_port(o.return_port);
  }
  grpc::ClientContext context;
  SetDeadline(context);
  v1::JoinConsoleResponse response;
  const auto status = v1::BoothService::NewStub(ctx.channel())->JoinConsole(&context, request, &response);
  return Report<v1::JoinConsoleResponse>(ctx, "JoinConsole", status, response, [](const auto& r) {
    PrintConsole(r.console());
    std::cout << "\ningest  " << IngestText(r.ingest()) << "\n";
    if (r.has_return_feed() && r.return_feed().ssrc() != 0) {
      const v1::ReturnFeed& f = r.return_feed();
      std::cout << "return  from " << f.source().host() << ":" << f.source().port() << " ssrc " << f.ssrc() << " pt "
                << f.payload_type() << " " << SuiteText(f.srtp().suite()) << " roc " << f.srtp().roc() << " key "
                << client::Base64(f.srtp().master_key()) << "\n";
      if (!f.sdp().empty()) std::cout << "\n" << f.sdp() << (f.sdp().back() == '\n' ? "" : "\n");
    }
  });
}

int Leave(Context& ctx, const std::string& id, const std::string& console) {
  v1::LeaveConsoleRequest request;
  request.set_session_id(id);
  request.set_console_id(console);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::LeaveConsoleResponse response;
  const auto status = v1::BoothService::NewStub(ctx.channel())->LeaveConsole(&context, request, &response);
  return Report<v1::LeaveConsoleResponse>(ctx, "LeaveConsole", status, response,
                                          [&](const auto&) { std::cout << "console " << console << " left\n"; });
}

// Shared by `mic` and `cough`: both take on|off and return the console.
struct KeyOptions {
  std::string id, console, state;
};

int Key(Context& ctx, const KeyOptions& o, bool mic) {
  const bool on = o.state == "on";
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Console console;
  auto stub = v1::BoothService::NewStub(ctx.channel());
  grpc::Status status;
  if (mic) {
    v1::SetMicRequest request;
    request.set_session_id(o.id);
    request.set_console_id(o.console);
    request.set_live(on);
    status = stub->SetMic(&context, request, &console);
  } else {
    v1::CoughRequest request;
    request.set_session_id(o.id);
    request.set_console_id(o.console);
    request.set_muted(on);
    status = stub->Cough(&context, request, &console);
  }
  return Report<v1::Console>(ctx, mic ? "SetMic" : "Cough", status, console, PrintConsole);
}

struct SubscribeOptions {
  std::string id, channel, host = "127.0.0.1";
  uint16_t port = 0;
  bool gcm = false;
  std::optional<uint32_t> balance;
};

int Subscribe(Context& ctx, const SubscribeOptions& o) {
  v1::SubscribeRequest request;
  request.set_session_id(o.id);
  request.set_channel(o.channel);
  request.mutable_endpoint()->set_host(o.host);
  request.mutable_endpoint()->set_port(o.port);
  request.set_suite(o.gcm ? v1::AEAD_AES_128_GCM : v1::AES_CM_128_HMAC_SHA1_80);
  if (o.balance) request.set_interpretation_percent(*o.balance);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::SubscribeResponse r;
  const auto status = v1::ListenerService::NewStub(ctx.channel())->Subscribe(&context, request, &r);
  return Report<v1::SubscribeResponse>(ctx, "Subscribe", status, r, [](const v1::SubscribeResponse& r) {
    const std::string& key = r.srtp().master_key();
    std::cout << "listener     " << r.listener_id() << "\n"
              << "ssrc         " << r.ssrc() << "\n"
              << "payload      " << r.payload_type() << " opus/" << r.clock_rate() << ", " << r.frame_ms()
              << " ms frames\n"
              << "source       " << r.source().host() << ":" << r.source().port() << "\n"
              << "balance      " << r.interpretation_percent() << " % interpretation, "
              << 100 - r.interpretation_percent() << " % original\n"
              << "srtp         " << SuiteText(r.srtp().suite()) << " roc " << r.srtp().roc() << " key "
              << client::Base64(key) << "\n\n"
              << r.sdp();
    if (!r.sdp().empty() && r.sdp().back() != '\n') std::cout << "\n";
  });
}

int Switch(Context& ctx, const std::string& id, const std::string& listener, const std::string& channel) {
  v1::SwitchChannelRequest request;
  request.set_session_id(id);
  request.set_listener_id(listener);
  request.set_channel(channel);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::SwitchChannelResponse response;
  const auto status = v1::ListenerService::NewStub(ctx.channel())->SwitchChannel(&context, request, &response);
  return Report<v1::SwitchChannelResponse>(ctx, "SwitchChannel", status, response, [&](const auto&) {
    std::cout << "listener " << listener << " now on " << channel << "\n";
  });
}

int Unsubscribe(Context& ctx, const std::string& id, const std::string& listener) {
  v1::UnsubscribeRequest request;
  request.set_session_id(id);
  request.set_listener_id(listener);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::UnsubscribeResponse response;
  const auto status = v1::ListenerService::NewStub(ctx.channel())->Unsubscribe(&context, request, &response);
  return Report<v1::UnsubscribeResponse>(ctx, "Unsubscribe", status, response,
                                         [&](const auto&) { std::cout << "listener " << listener << " removed\n"; });
}

}  // namespace

void AddBoothCommands(CLI::App& app, Context& ctx, Action& action) {
  auto* console = app.add_subcommand("console", "interpreter consoles")->require_subcommand(1);
  {
    auto o = std::make_shared<JoinOptions>();
    auto* cmd = console->add_subcommand("join", "join a booth (prints the ingest endpoint and key)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("booth", o->booth, "the booth's A language")->required();
    cmd->add_option("--name", o->name, "console name, e.g. ru-1")->required();
    auto* port = cmd->add_option("--return-port", o->return_port, "ask for a return feed (what the console hears) here")
                     ->check(CLI::Range(1, 65535));
    cmd->add_option("--return-host", o->return_host, "where the return feed goes")->capture_default_str()->needs(port);
    cmd->callback([&, o] { action = [&ctx, o] { return Join(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = console->add_subcommand("leave", "leave a console");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("console", o->second, "console id")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return Leave(ctx, o->first, o->second); }; });
  }
  for (bool mic : {true, false}) {
    auto o = std::make_shared<KeyOptions>();
    auto* cmd = app.add_subcommand(mic ? "mic" : "cough",
                                   mic ? "switch a console's mic" : "hold or release cough (push-to-mute)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("console", o->console, "console id")->required();
    cmd->add_option("state", o->state, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
    cmd->callback([&, o, mic] { action = [&ctx, o, mic] { return Key(ctx, *o, mic); }; });
  }

  auto* listen = app.add_subcommand("listen", "listeners (the daemon sends SRTP to HOST:PORT)")->require_subcommand(1);
  {
    auto o = std::make_shared<SubscribeOptions>();
    auto* cmd = listen->add_subcommand("subscribe", "subscribe an endpoint to a channel; prints keys and an SDP");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("channel", o->channel, "language tag or 'floor'")->required();
    cmd->add_option("--host", o->host, "where to send")->capture_default_str();
    cmd->add_option("--port", o->port, "UDP port")->required()->check(CLI::Range(1, 65535));
    cmd->add_flag("--gcm", o->gcm, "AEAD_AES_128_GCM instead of AES_CM_128_HMAC_SHA1_80");
    cmd->add_option("--balance", o->balance,
                    "percent of interpretation, the rest the original (mixed server-side; default 100)")
        ->check(CLI::Range(0, 100));
    cmd->callback([&, o] { action = [&ctx, o] { return Subscribe(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<std::tuple<std::string, std::string, std::string>>();
    auto* cmd = listen->add_subcommand("switch", "switch a listener to another channel");
    cmd->add_option("id", std::get<0>(*o), "session id")->required();
    cmd->add_option("listener", std::get<1>(*o), "listener id")->required();
    cmd->add_option("channel", std::get<2>(*o), "language tag or 'floor'")->required();
    cmd->callback(
        [&, o] { action = [&ctx, o] { return Switch(ctx, std::get<0>(*o), std::get<1>(*o), std::get<2>(*o)); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = listen->add_subcommand("unsubscribe", "stop sending to a listener");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("listener", o->second, "listener id")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return Unsubscribe(ctx, o->first, o->second); }; });
  }
}

}  // namespace tilmash::ctl
