// tilmashctl: every control-plane RPC from the command line, for operators and scripts.
#include "command.h"

int main(int argc, char** argv) {
  CLI::App app{"Tilmash control: sessions, channels, floor, booths, consoles, listeners"};
  app.require_subcommand(1);
  tilmash::ctl::Context ctx;
  app.add_option("--server", ctx.server, "daemon gRPC address")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--json", ctx.json, "print responses as JSON (proto field names)");
  tilmash::client::AddCredentialOptions(app, ctx.credentials);
  app.footer(tilmash::client::kCredentialsEnvironmentHelp);
  // Global options are accepted after the subcommand too: "tilmashctl session list --json".
  app.fallthrough();
  tilmash::ctl::Action action;
  tilmash::ctl::AddSessionCommands(app, ctx, action);
  tilmash::ctl::AddBoothCommands(app, ctx, action);
  tilmash::ctl::AddDeskCommands(app, ctx, action);
  tilmash::ctl::AddTokenCommands(app, ctx, action);
  tilmash::ctl::AddRecordCommands(app, ctx, action);
  tilmash::ctl::AddHealthCommands(app, ctx, action);
  CLI11_PARSE(app, argc, argv);
  if (!action) {
    std::cerr << app.help();
    return 2;
  }
  if (const std::string problem = tilmash::client::CredentialsProblem(ctx.credentials); !problem.empty()) {
    std::cerr << "error: " << problem << "\n";
    return 2;
  }
  return action();
}
