// RecordingService: thin adapters (CONVENTIONS habit 6) over Session's recordings.
#include "grpc/convert.h"
#include "grpc/services.h"

namespace tilmash::grpcapi {

grpc::Status RecordingServiceImpl::StartRecording(grpc::ServerContext* ctx, const v1::StartRecordingRequest* req,
                                                  v1::StartRecordingResponse* resp) {
  return authz_.Run(ctx, "RecordingService.StartRecording", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      std::vector<std::string> channels(req->channel_ids().begin(), req->channel_ids().end());
                      auto r = s->StartRecording(channels, req->segment_seconds());
                      if (!r.ok()) return ToGrpc(r.status());
                      for (const auto& c : r.value()) ToProto(c, resp->add_channels());
                      return grpc::Status::OK;
                    });
}

grpc::Status RecordingServiceImpl::StopRecording(grpc::ServerContext* ctx, const v1::StopRecordingRequest* req,
                                                 v1::StopRecordingResponse* resp) {
  return authz_.Run(ctx, "RecordingService.StopRecording", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      std::vector<std::string> channels(req->channel_ids().begin(), req->channel_ids().end());
                      auto r = s->StopRecording(channels);
                      if (!r.ok()) return ToGrpc(r.status());
                      for (const auto& c : r.value()) ToProto(c, resp->add_channels());
                      return grpc::Status::OK;
                    });
}

grpc::Status RecordingServiceImpl::ListRecordings(grpc::ServerContext* ctx, const v1::ListRecordingsRequest* req,
                                                  v1::ListRecordingsResponse* resp) {
  return authz_.Run(ctx, "RecordingService.ListRecordings", req->session_id(),
                    [&](const auth::Claims& who) -> grpc::Status {
                      TILMASH_FIND_SESSION(s, req->session_id());
                      for (const auto& f : s->Recordings()) ToProto(f, resp->add_files());
                      return grpc::Status::OK;
                    });
}

}  // namespace tilmash::grpcapi
