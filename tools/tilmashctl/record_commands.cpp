// tilmashctl: record start|stop|list (RecordingService).
#include "command.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::ctl {

namespace {

using client::SetDeadline;

struct RecordOptions {
  std::string id;
  std::vector<std::string> channels;  // empty: every channel
  uint32_t segment_s = 0;
};

void PrintChanged(const google::protobuf::RepeatedPtrField<v1::Channel>& channels, const char* what) {
  if (channels.empty()) std::cout << "no channel " << what << "\n";
  for (const auto& c : channels)
    std::cout << c.language() << ": " << what << (c.recording_file().empty() ? "" : " -> " + c.recording_file())
              << "\n";
}

int Start(Context& ctx, const RecordOptions& o) {
  v1::StartRecordingRequest request;
  request.set_session_id(o.id);
  for (const auto& c : o.channels) request.add_channel_ids(c);
  request.set_segment_seconds(o.segment_s);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::StartRecordingResponse response;
  const auto status = v1::RecordingService::NewStub(ctx.channel())->StartRecording(&context, request, &response);
  return Report<v1::StartRecordingResponse>(ctx, "StartRecording", status, response,
                                            [](const auto& r) { PrintChanged(r.channels(), "recording"); });
}

int Stop(Context& ctx, const RecordOptions& o) {
  v1::StopRecordingRequest request;
  request.set_session_id(o.id);
  for (const auto& c : o.channels) request.add_channel_ids(c);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::StopRecordingResponse response;
  const auto status = v1::RecordingService::NewStub(ctx.channel())->StopRecording(&context, request, &response);
  return Report<v1::StopRecordingResponse>(ctx, "StopRecording", status, response,
                                           [](const auto& r) { PrintChanged(r.channels(), "stopped"); });
}

int List(Context& ctx, const RecordOptions& o) {
  v1::ListRecordingsRequest request;
  request.set_session_id(o.id);
  grpc::ClientContext context;
  SetDeadline(context);
  v1::ListRecordingsResponse response;
  const auto status = v1::RecordingService::NewStub(ctx.channel())->ListRecordings(&context, request, &response);
  return Report<v1::ListRecordingsResponse>(ctx, "ListRecordings", status, response, PrintRecordings);
}

}  // namespace

void AddRecordCommands(CLI::App& app, Context& ctx, Action& action) {
  auto* record =
      app.add_subcommand("record", "channel recordings (Ogg Opus in the daemon's --record-dir)")->require_subcommand(1);
  {
    auto o = std::make_shared<RecordOptions>();
    auto* cmd = record->add_subcommand("start", "start recording channels (default: every channel, floor included)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("channels", o->channels, "languages or 'floor' (none: all)");
    cmd->add_option("--segment-s", o->segment_s, "a new file every this many seconds (0: the daemon's default)");
    cmd->callback([&, o] { action = [&ctx, o] { return Start(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<RecordOptions>();
    auto* cmd = record->add_subcommand("stop", "stop recording channels (default: every recorded channel)");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->add_option("channels", o->channels, "languages or 'floor' (none: all)");
    cmd->callback([&, o] { action = [&ctx, o] { return Stop(ctx, *o); }; });
  }
  {
    auto o = std::make_shared<RecordOptions>();
    auto* cmd = record->add_subcommand("list", "the session's recorded files: channel, start, duration, size");
    cmd->add_option("id", o->id, "session id")->required();
    cmd->callback([&, o] { action = [&ctx, o] { return List(ctx, *o); }; });
  }
}

}  // namespace tilmash::ctl
