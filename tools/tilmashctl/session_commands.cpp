// tilmashctl: session, channel, floor and watch commands (SessionService).
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "command.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::ctl {

namespace {

using client::SetDeadline;

std::unique_ptr<v1::SessionService::Stub> Sessions(Context& ctx) { return v1::SessionService::NewStub(ctx.channel()); }

// "unknown" is easier to type than an empty argument.
std::string LanguageArg(const std::string& language) { return language == "unknown" ? "" : language; }

struct CreateOptions {
  std::string id, name, floor_language;
  std::vector<std::string> languages;
  double floor_tone = 0, level_db = 0;
  std::optional<double> duck_db;
  std::optional<double> frame_ms;
  std::optional<uint32_t> jitter_ms;
  bool floor_rtp = false, floor_srtp = false;
  std::string floor_aes67_sdp;   // a file with the sound desk's SDP
  std::string floor_aes67_name;  // or the name its SAP announcements give it
  std::string floor_sound_card;  // an ALSA device on the daemon's host
  uint32_t floor_aes67_channel = 0;
};

int Create(Context& ctx, const CreateOptions& o) {
  v1::CreateSessionRequest request;
  request.set_session_id(o.id);
  request.set_name(o.name);
  for (const auto& l : o.languages) request.add_languages(l);
  request.set_floor_language(LanguageArg(o.floor_language));
  if (o.floor_tone > 0) {
    request.mutable_floor_source()->mutable_tone()->set_frequency_hz(o.floor_tone);
    request.mutable_floor_source()->mutable_tone()->set_level_dbfs(o.level_db);
  } else if (o.floor_rtp || o.floor_srtp) {
    request.mutable_floor_source()->mutable_rtp()->set_srtp(o.floor_srtp);
  } else if (!o.floor_aes67_sdp.empty()) {
    std::ifstream in(o.floor_aes67_sdp);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "tilmashctl: cannot read --floor-aes67-sdp " << o.floor_aes67_sdp << "\n";
      return 2;
    }
    request.mutable_floor_source()->mutable_aes67()->set_sdp(text.str());
    request.mutable_floor_source()->mutable_aes67()->set_channel(o.floor_aes67_channel);
  } else if (!o.floor_sound_card.empty()) {
    request.mutable_floor_source()->mutable_sound_card()->set_device(o.floor_sound_card);
    request.mutable_floor_source()->mutable_sound_card()->set_channel(o.floor_aes67_channel);
  } else if (!o.floor_aes67_name.empty()) {
    request.mutable_floor_source()->mutable_aes67()->set_sap_name(o.floor_aes67_name);
    request.mutable_floor_source()->mutable_aes67()->set_channel(o.floor_aes67_channel);
  }
  if (o.duck_db) request.set_floor_duck_db(*o.duck_db);
  if (o.frame_ms) request.set_frame_ms(*o.frame_ms);
  if (o.jitter_ms) request.set_jitter_ms(*o.jitter_ms);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Sessions(ctx)->CreateSession(&context, request, &session);
  return Report<v1::Session>(ctx, "CreateSession", status, session, PrintSession);
}

int Get(Context& ctx, const std::string& id) {
  v1::GetSessionRequest request;
  request.set_session_id(id);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Sessions(ctx)->GetSession(&context, request, &session);
  return Report<v1::Session>(ctx, "GetSession", status, session, PrintSession);
}

int List(Context& ctx) {
  grpc::ClientContext context;
  SetDeadline(context);
  v1::ListSessionsResponse response;
  const auto status = Sessions(ctx)->ListSessions(&context, v1::ListSessionsRequest(), &response);
  return Report<v1::ListSessionsResponse>(ctx, "ListSessions", status, response, PrintSessionList);
}

int End(Context& ctx, const std::string& id) {
  v1::EndSessionRequest request;
  request.set_session_id(id);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::EndSessionResponse response;
  const auto status = Sessions(ctx)->EndSession(&context, request, &response);
  return Report<v1::EndSessionResponse>(ctx, "EndSession", status, response,
                                        [&](const auto&) { std::cout << "session " << id << " ended\n"; });
}

int Stats(Context& ctx, const std::string& id) {
  v1::GetSessionStatsRequest request;
  request.set_session_id(id);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::SessionStats stats;
  const auto status = Sessions(ctx)->GetSessionStats(&context, request, &stats);
  return Report<v1::SessionStats>(ctx, "GetSessionStats", status, stats, PrintStats);
}

void PrintChannel(const v1::Channel& c) {
  google::protobuf::RepeatedPtrField<v1::Channel> one;
  *one.Add() = c;
  PrintChannels(one);
}

int AddChannel(Context& ctx, const std::string& id, const std::string& language, std::optional<double> duck_db) {
  v1::AddChannelRequest request;
  request.set_session_id(id);
  request.set_language(language);
  if (duck_db) request.set_floor_duck_db(*duck_db);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Channel channel;
  const auto status = Sessions(ctx)->AddChannel(&context, request, &channel);
  return Report<v1::Channel>(ctx, "AddChannel", status, channel, PrintChannel);
}

int RemoveChannel(Context& ctx, const std::string& id, const std::string& language) {
  v1::RemoveChannelRequest request;
  request.set_session_id(id);
  request.set_language(language);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::RemoveChannelResponse response;
  const auto status = Sessions(ctx)->RemoveChannel(&context, request, &response);
  return Report<v1::RemoveChannelResponse>(ctx, "RemoveChannel", status, response,
                                           [&](const auto&) { std::cout << "channel " << language << " removed\n"; });
}

int Duck(Context& ctx, const std::string& id, const std::string& language, double db) {
  v1::SetChannelDuckingRequest request;
  request.set_session_id(id);
  request.set_language(language);
  request.set_floor_duck_db(db);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Channel channel;
  const auto status = Sessions(ctx)->SetChannelDucking(&context, request, &channel);
  return Report<v1::Channel>(ctx, "SetChannelDucking", status, channel, PrintChannel);
}

struct FloorSourceOptions {
  std::string id;
  double tone = 0, level_db = 0;
  bool rtp = false, srtp = false;
  double backup_tone = 0;
  bool backup_rtp = false, backup_srtp = false;
  std::string select = "auto";
};

v1::FloorSelect FloorSelectFromText(const std::string& text) {
  return text == "primary"  ? v1::FLOOR_SELECT_PRIMARY
         : text == "backup" ? v1::FLOOR_SELECT_BACKUP
                            : v1::FLOOR_SELECT_AUTO;
}

int FloorSource(Context& ctx, const FloorSourceOptions& o) {
  v1::SetFloorSourceRequest request;
  request.set_session_id(o.id);
  if (o.tone > 0) {
    request.mutable_source()->mutable_tone()->set_frequency_hz(o.tone);
    request.mutable_source()->mutable_tone()->set_level_dbfs(o.level_db);
  } else {
    request.mutable_source()->mutable_rtp()->set_srtp(o.srtp);
  }
  if (o.backup_tone > 0)
    request.mutable_backup()->mutable_tone()->set_frequency_hz(o.backup_tone);
  else if (o.backup_rtp)
    request.mutable_backup()->mutable_rtp()->set_srtp(o.backup_srtp);
  request.set_floor_select(FloorSelectFromText(o.select));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Sessions(ctx)->SetFloorSource(&context, request, &session);
  return Report<v1::Session>(ctx, "SetFloorSource", status, session, PrintSession);
}

// The technician's override alone: neither source is sent, so ports and keys stay.
int FloorSelect(Context& ctx, const std::string& id, const std::string& select) {
  v1::SetFloorSourceRequest request;
  request.set_session_id(id);
  request.set_floor_select(FloorSelectFromText(select));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Sessions(ctx)->SetFloorSource(&context, request, &session);
  return Report<v1::Session>(ctx, "SetFloorSource", status, session, PrintSession);
}

int FloorLanguage(Context& ctx, const std::string& id, const std::string& language) {
  v1::SetFloorLanguageRequest request;
  request.set_session_id(id);
  request.set_language(LanguageArg(language));
  grpc::ClientContext context;
  SetDeadline(context);
  v1::Session session;
  const auto status = Sessions(ctx)->SetFloorLanguage(&context, request, &session);
  return Report<v1::Session>(ctx, "SetFloorLanguage", status, session, PrintSession);
}

int Watch(Context& ctx, const std::string& id) {
  v1::WatchSessionRequest request;
  request.set_session_id(id);
  auto stub = Sessions(ctx);
  return ReadStream<v1::SessionEvent>(
      ctx, "WatchSession", [&](grpc::ClientContext* context) { return stub->WatchSession(context, request); },
      PrintEvent);
}

}  // namespace

void AddSessionCommands(CLI::App& app, Context& ctx, Action& action) {
  auto* session = app.add_subcommand("session", "create, inspect and end sessions")->require_subcommand(1);
  {
    auto o = std::make_shared<CreateOptions>();
    auto* cmd = session->add_subcommand("create", "create a session");
    cmd->add_option("--name", o->name, "session name")->required();
    cmd->add_option("--id", o->id, "the session's id, e.g. plenary (a-z, 0-9, '-', '_'; default: random)");
    cmd->add_option("--languages", o->languages, "language channels, e.g. en,ru,kk")->delimiter(',')->required();
    cmd->add_option("--floor-language", o->floor_language, "the floor's language (BCP-47)");
    auto* tone = cmd->add_option("--floor-tone", o->floor_tone, "floor = test tone of this frequency (Hz)");
    auto* rtp = cmd->add_flag("--floor-rtp", o->floor_rtp, "floor = RTP ingest (the response has the endpoint)");
    cmd->add_flag("--floor-srtp", o->floor_srtp, "floor = SRTP ingest")->excludes(tone);
    tone->excludes(rtp);
    auto* aes67 = cmd->add_option("--floor-aes67-sdp", o->floor_aes67_sdp,
                                  "floor = the AES67 stream this SDP file describes (the sound desk's)")
                      ->check(CLI::ExistingFile);
    aes67->excludes(tone)->excludes(rtp);
    cmd->add_option("--floor-aes67-name", o->floor_aes67_name, "floor = the AES67 stream SAP announces under this name")
        ->excludes(aes67)
        ->excludes(tone)
        ->excludes(rtp);
    cmd->add_option("--floor-sound-card", o->floor_sound_card,
                    "floor = this ALSA device on the daemon's host, e.g. hw:1,0 (test:HZ: a stand-in tone)")
        ->excludes(aes67)
        ->excludes(tone)
        ->excludes(rtp);
    cmd->add_option("--floor-aes67-channel", o->floor_aes67_channel,
                    "the stream's or card's channel to take (1-based; 0 = all mixed to mono)");
    cmd->add_option("--level-db", o->level_db, "floor tone level in dBFS (0 = server default -20)");
    cmd->add_option("--duck-db", o->duck_db, "floor gain under a live interpreter, dB (default -18; 0: no ducking)");
    cmd->add_option("--frame-ms", o->frame_ms,
                    "the session's Opus frame: 2.5, 5, 10 or 20 ms (2.5 and 5: low delay; default: the daemon's)");
    cmd->add_option("--jitter-ms", o->jitter_ms,
                    "the jitter buffer of its consoles and RTP floor, ms (default: the daemon's)");
    cmd->callback([&, o] { action = [&ctx, o] { return Create(ctx, *o); }; });
  }
  auto add_id_command = [&](CLI::App* parent, const char* name, const char* help,
                            int (*run)(Context&, const std::string&)) {
    auto id = std::make_shared<std::string>();
    auto* cmd = parent->add_subcommand(name, help);
    cmd->add_option("id", *id, "session id")->required();
    cmd->callback([&, id, run] { action = [&ctx, id, run] { return run(ctx, *id); }; });
  };
  add_id_command(session, "get", "show a session: floor, channels, consoles", Get);
  session->add_subcommand("list", "list sessions")->callback([&] { action = [&ctx] { return List(ctx); }; });
  add_id_command(session, "end", "end a session", End);
  add_id_command(session, "stats", "ingest counters and listener send totals", Stats);

  auto* channel = app.add_subcommand("channel", "language channels")->require_subcommand(1);
  {
    auto o = std::make_shared<std::tuple<std::string, std::string, std::optional<double>>>();
    auto* cmd = channel->add_subcommand("add", "add a language channel");
    cmd->add_option("id", std::get<0>(*o), "session id")->required();
    cmd->add_option("language", std::get<1>(*o), "BCP-47 tag")->required();
    cmd->add_option("--duck-db", std::get<2>(*o),
                    "floor gain under a live interpreter, dB (default: the session's; 0: no ducking)");
    cmd->callback(
        [&, o] { action = [&ctx, o] { return AddChannel(ctx, std::get<0>(*o), std::get<1>(*o), std::get<2>(*o)); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = channel->add_subcommand("remove", "remove a language channel");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("language", o->second, "BCP-47 tag")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return RemoveChannel(ctx, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<std::tuple<std::string, std::string, double>>();
    auto* cmd = channel->add_subcommand("duck", "set the floor gain under a live interpreter (dB, <= 0)");
    cmd->add_option("id", std::get<0>(*o), "session id")->required();
    cmd->add_option("language", std::get<1>(*o), "BCP-47 tag")->required();
    cmd->add_option("db", std::get<2>(*o), "gain in dB, e.g. -18")->required();
    cmd->callback(
        [&, o] { action = [&ctx, o] { return Duck(ctx, std::get<0>(*o), std::get<1>(*o), std::get<2>(*o)); }; });
  }

  auto* floor = app.add_subcommand("floor", "the floor: sources, selection and language")->require_subcommand(1);
  const auto select_check = CLI::IsMember({"auto", "primary", "backup"});
  {
    auto o = std::make_shared<FloorSourceOptions>();
    auto* cmd = floor->add_subcommand("source", "set the floor source (a test tone or an RTP ingest) and its backup");
    cmd->add_option("id", o->id, "session id")->required();
    auto* tone = cmd->add_option("--tone", o->tone, "test tone frequency (Hz)");
    auto* rtp = cmd->add_flag("--rtp", o->rtp, "RTP ingest (the response has the endpoint)");
    cmd->add_flag("--srtp", o->srtp, "with --rtp: SRTP (the response has the key)")->needs(rtp);
    cmd->add_option("--level-db", o->level_db, "tone level in dBFS (0 = server default -20)")->needs(tone);
    tone->excludes(rtp);
    auto* backup_tone = cmd->add_option("--backup-tone", o->backup_tone, "backup: a test tone (Hz), e.g. a slate");
    auto* backup_rtp =
        cmd->add_flag("--backup-rtp", o->backup_rtp, "backup: a second RTP ingest (the desk's second output)");
    cmd->add_flag("--backup-srtp", o->backup_srtp, "with --backup-rtp: SRTP")->needs(backup_rtp);
    backup_tone->excludes(backup_rtp);
    cmd->add_option("--select", o->select, "auto (default: backup while the primary is lost), primary or backup")
        ->check(select_check);
    cmd->callback([&, o] {
      if (o->tone <= 0 && !o->rtp) throw CLI::ValidationError("floor source", "give --tone HZ or --rtp");
      action = [&ctx, o] { return FloorSource(ctx, *o); };
    });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = floor->add_subcommand(
        "select", "the technician's override: auto, primary or backup (the sources, ports and keys stay)");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("select", o->second, "auto, primary or backup")->required()->check(select_check);
    cmd->callback([&, o] { action = [&ctx, o] { return FloorSelect(ctx, o->first, o->second); }; });
  }
  {
    auto o = std::make_shared<std::pair<std::string, std::string>>();
    auto* cmd = floor->add_subcommand("language", "set the floor language ('unknown' clears it)");
    cmd->add_option("id", o->first, "session id")->required();
    cmd->add_option("language", o->second, "BCP-47 tag or 'unknown'")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return FloorLanguage(ctx, o->first, o->second); }; });
  }

  add_id_command(&app, "watch", "print session events until Ctrl-C", Watch);
}

}  // namespace tilmash::ctl
