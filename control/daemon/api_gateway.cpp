#include "daemon/api_gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>

#include "log/log.h"

namespace tilmash::daemon {

namespace pb = google::protobuf;

namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

const char* CodeName(int code) {
  static const char* kNames[] = {
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

web::ApiReply Error(int code, const std::string& message) {
  return {HttpStatusOfGrpc(code), nlohmann::json{{"code", CodeName(code)}, {"message", message}}.dump()};
}

// "tilmash.v1.BoothService/SetMic" -> its descriptor, or null.
const pb::MethodDescriptor* FindMethod(const std::string& method) {
  const auto slash = method.find('/');
  if (slash == std::string::npos) return nullptr;
  return pb::DescriptorPool::generated_pool()->FindMethodByName(method.substr(0, slash) + "." +
                                                                method.substr(slash + 1));
}

// The request's JSON as the wire bytes of its message, or the problem (naming the field).
bool ToWire(const pb::MethodDescriptor* m, const std::string& json, grpc::ByteBuffer* out, std::string* error) {
  const pb::Message* proto = pb::MessageFactory::generated_factory()->GetPrototype(m->input_type());
  std::unique_ptr<pb::Message> msg(proto->New());
  pb::util::JsonParseOptions options;
  const auto st = pb::util::JsonStringToMessage(json.empty() ? "{}" : json, msg.get(), options);
  if (!st.ok()) {
    *error = "the request is not a " + m->input_type()->full_name() + " in JSON: " + std::string(st.message());
    return false;
  }
  const std::string bytes = msg->SerializeAsString();
  grpc::Slice slice(bytes);
  *out = grpc::ByteBuffer(&slice, 1);
  return true;
}

std::string ToJson(const pb::Descriptor* type, const grpc::ByteBuffer& in) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (in.Dump(&slices).ok())
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  std::unique_ptr<pb::Message> msg(pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
  if (!msg->ParseFromString(bytes)) return "{}";
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)pb::util::MessageToJsonString(*msg, &out, options);
  return out;
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + kDeadline);
}

// One server stream relayed: the request written, every message read until the end.
class WatchReactor : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  WatchReactor(const pb::MethodDescriptor* m, std::function<void(std::string)> on_message,
               std::function<void(web::ApiReply)> on_end)
      : type_(m->output_type()), on_message_(std::move(on_message)), on_end_(std::move(on_end)) {}

  struct Handle {  // what the cancel function holds: the reactor until it is done
    std::mutex mu;
    WatchReactor* reactor = nullptr;
  };

  void Start(grpc::GenericStub& stub, const std::string& method, const std::string& token,
             const grpc::ByteBuffer& request, std::shared_ptr<Handle> handle) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    request_ = request;
    handle_ = std::move(handle);
    {
      std::lock_guard lock(handle_->mu);
      handle_->reactor = this;
    }
    stub.PrepareBidiStreamingCall(&ctx_, "/" + method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    on_message_(ToJson(type_, response_));
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard lock(handle_->mu);
      handle_->reactor = nullptr;
    }
    on_end_(status.ok() ? web::ApiReply{200, R"({"code":"OK","message":"the stream ended"})"}
                        : Error(int(status.error_code()), status.error_message()));
    delete this;
  }

 private:
  const pb::Descriptor* type_;
  std::function<void(std::string)> on_message_;
  std::function<void(web::ApiReply)> on_end_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_, response_;
  std::shared_ptr<Handle> handle_;
};

}  // namespace

int HttpStatusOfGrpc(int code) {
  switch (grpc::StatusCode(code)) {
    case grpc::OK:
      return 200;
    case grpc::INVALID_ARGUMENT:
    case grpc::OUT_OF_RANGE:
      return 400;
    case grpc::UNAUTHENTICATED:
      return 401;
    case grpc::PERMISSION_DENIED:
      return 403;
    case grpc::NOT_FOUND:
      return 404;
    case grpc::ALREADY_EXISTS:
    case grpc::FAILED_PRECONDITION:
    case grpc::ABORTED:
      return 409;
    case grpc::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::CANCELLED:
      return 499;
    case grpc::UNIMPLEMENTED:
      return 501;
    case grpc::UNAVAILABLE:
      return 503;
    case grpc::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

struct ApiGateway::Impl {
  explicit Impl(std::shared_ptr<grpc::Channel> c) : channel(std::move(c)), stub(channel) {}
  std::shared_ptr<grpc::Channel> channel;
  grpc::GenericStub stub;
};

ApiGateway::ApiGateway(std::shared_ptr<grpc::Channel> channel) : impl_(std::make_unique<Impl>(std::move(channel))) {}
ApiGateway::~ApiGateway() = default;

bool ApiGateway::Streaming(const std::string& method) const {
  const auto* m = FindMethod(method);
  return m && m->server_streaming();
}

void ApiGateway::Call(const std::string& token, const std::string& method, const std::string& json,
                      std::function<void(web::ApiReply)> done) {
  const auto* m = FindMethod(method);
  if (!m) return done(Error(grpc::UNIMPLEMENTED, "no method " + method));
  if (m->client_streaming()) return done(Error(grpc::UNIMPLEMENTED, method + " streams requests: use gRPC"));
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request, response;
  };
  auto call = std::make_shared<Call>();
  std::string error;
  if (!ToWire(m, json, &call->request, &error)) return done(Error(grpc::INVALID_ARGUMENT, error));
  Authorize(call->ctx, token);
  impl_->stub.UnaryCall(&call->ctx, "/" + method, grpc::StubOptions(), &call->request, &call->response,
                        [call, m, done = std::move(done)](const grpc::Status& status) {
                          if (!status.ok()) return done(Error(int(status.error_code()), status.error_message()));
                          done({200, ToJson(m->output_type(), call->response)});
                        });
}

std::function<void()> ApiGateway::Watch(const std::string& token, const std::string& method, const std::string& json,
                                        std::function<void(std::string)> on_message,
                                        std::function<void(web::ApiReply)> on_end) {
  const auto* m = FindMethod(method);
  grpc::ByteBuffer request;
  std::string error;
  if (!m || !m->server_streaming() || m->client_streaming()) {
    on_end(Error(grpc::UNIMPLEMENTED, "no server-streaming method " + method));
    return [] {};
  }
  if (!ToWire(m, json, &request, &error)) {
    on_end(Error(grpc::INVALID_ARGUMENT, error));
    return [] {};
  }
  auto handle = std::make_shared<WatchReactor::Handle>();
  auto* reactor = new WatchReactor(m, std::move(on_message), std::move(on_end));  // deletes itself when done
  reactor->Start(impl_->stub, method, token, request, handle);
  return [handle] {
    std::lock_guard lock(handle->mu);
    if (handle->reactor) handle->reactor->Cancel();
  };
}

}  // namespace tilmash::daemon
