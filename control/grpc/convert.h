// The one place where proto messages and domain values meet (CONVENTIONS habit 1).
#pragma once
#include <grpcpp/support/status.h>

#include "domain/status.h"
#include "domain/types.h"
#include "tilmash/v1/tilmash.pb.h"

namespace tilmash::grpcapi {

inline constexpr std::size_t kMaxErrorMessage = 512;
grpc::Status ToGrpc(const domain::Status& s);

// Floor ingest keys are included only for the caller that set the floor source.
void ToProto(const domain::SessionView& in, v1::Session* out, bool include_keys = false);
void ToProto(const domain::ChannelView& in, v1::Channel* out);
void ToProto(const domain::ConsoleView& in, v1::Console* out);
void ToProto(const domain::RecordingFile& in, v1::RecordingFile* out);
void ToProto(const domain::IngestInfo& in, v1::IngestEndpoint* out);
void ToProto(const domain::FloorSource& in, v1::FloorSource* out);
void ToProto(const domain::SessionEvent& in, v1::SessionEvent* out);
void ToProto(const domain::MediaStats& in, v1::SessionStats* out);
void ToProto(const domain::BoothView& in, v1::Booth* out);
void ToProto(const domain::Message& in, v1::Message* out);
void ToProto(const domain::HandoverChanged& in, v1::HandoverEvent* out);
void ToProto(const domain::InputSelection& in, v1::InputSelection* out);
v1::MicState ToProto(domain::MicState s);
v1::InterlockMode ToProto(domain::InterlockMode m);
v1::OutputSlot ToProto(domain::OutputSlot s);
v1::CryptoSuite ToProto(domain::CryptoSuite s);
v1::FloorSelect ToProto(domain::FloorSelect s);
v1::FloorActive ToProto(domain::FloorActive a);

domain::FloorSource FromProto(const v1::FloorSource& in);
domain::Result<domain::FloorSelect> FromProto(v1::FloorSelect s, const char* field);
domain::Result<domain::InterlockMode> FromProto(v1::InterlockMode m, const char* field);
domain::Result<domain::OutputSlot> FromProto(v1::OutputSlot s, const char* field);
domain::Result<domain::InputSelection> FromProto(const v1::InputSelection& in, const char* field);
domain::Result<domain::MessageKind> FromProto(v1::MessageKind k, const char* field);
// UNSPECIFIED maps to the default suite; unknown values are an error naming `field`.
domain::Result<domain::CryptoSuite> FromProto(v1::CryptoSuite s, const char* field);

}  // namespace tilmash::grpcapi
