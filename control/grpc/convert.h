// The one place where proto messages and domain values meet (CONVENTIONS habit 1).
#pragma once
#include <grpcpp/support/status.h>

#include "domain/status.h"
#include "domain/types.h"
#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::grpcapi {

grpc::Status ToGrpc(const domain::Status& s);

// Floor ingest keys are included only for the caller that set the floor source.
void ToProto(const domain::SessionView& in, v1::Session* out, bool include_keys = false);
void ToProto(const domain::ChannelView& in, v1::Channel* out);
void ToProto(const domain::ConsoleView& in, v1::Console* out);
void ToProto(const domain::IngestInfo& in, v1::IngestEndpoint* out);
void ToProto(const domain::FloorSource& in, v1::FloorSource* out);
void ToProto(const domain::SessionEvent& in, v1::SessionEvent* out);
void ToProto(const domain::MediaStats& in, v1::SessionStats* out);
v1::MicState ToProto(domain::MicState s);
v1::CryptoSuite ToProto(domain::CryptoSuite s);

domain::FloorSource FromProto(const v1::FloorSource& in);
// UNSPECIFIED maps to the default suite; unknown values are an error naming `field`.
domain::Result<domain::CryptoSuite> FromProto(v1::CryptoSuite s, const char* field);

}  // namespace tilmash::grpcapi
