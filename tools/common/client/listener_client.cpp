#include "client/listener_client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "client/connect.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::client {

ListenerClient::ListenerClient(Options options) : options_(std::move(options)), channel_(options_.channel) {}

std::unique_ptr<ListenerClient> ListenerClient::Start(const Options& options, std::string* error) {
  auto fail = [&](const std::string& why) -> std::unique_ptr<ListenerClient> {
    if (error) *error = why;
    return nullptr;
  };
  std::unique_ptr<ListenerClient> self(new ListenerClient(options));
  std::string why;
  if (!options.multicast) {
    self->receiver_ = StreamReceiver::Bind(options.bind_host, &why);
    if (!self->receiver_) return fail(why);
  }

  self->grpc_channel_ = options.grpc_channel ? options.grpc_channel : Connect(options.server);
  auto stub = v1::ListenerService::NewStub(self->grpc_channel_);
  v1::SubscribeRequest request;
  request.set_session_id(options.session_id);
  request.set_channel(options.channel);
  if (options.multicast) {
    request.set_transport(v1::MULTICAST);
  } else {
    request.mutable_endpoint()->set_host(self->receiver_->local_host());
    request.mutable_endpoint()->set_port(self->receiver_->local_port());
  }
  request.set_suite(options.suite);
  if (options.interpretation_percent) request.set_interpretation_percent(*options.interpretation_percent);
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->Subscribe(&context, request, &self->subscription_);
  if (!status.ok()) return fail("Subscribe: " + StatusText(status));
  // From here on the destructor unsubscribes if anything below fails.

  const v1::SubscribeResponse& sub = self->subscription_;
  if (options.multicast) {
    self->receiver_ =
        StreamReceiver::JoinGroup(sub.group().host(), uint16_t(sub.group().port()), options.bind_host, &why);
    if (!self->receiver_) return fail(why);
  }
  v1::SrtpKeying keying = sub.srtp();
  if (!keying.master_key().empty() || options.key_override) {
    if (keying.suite() == v1::CRYPTO_SUITE_UNSPECIFIED) keying.set_suite(options.suite);
    if (options.key_override)
      keying.set_master_key(std::string(options.key_override->begin(), options.key_override->end()));
  }
  if (options.on_pcm) self->receiver_->SetPcmSink(options.on_pcm);
  self->receiver_->SetHistoryLimit(options.history_samples);
  if (!self->receiver_->Attach(sub.ssrc(), keying, &why,
                               sub.frame_us() ? int(sub.frame_us()) : int(sub.frame_ms()) * 1000))
    return fail(why);
  if (options.watch_keys && !options.key_override) {
    self->keys_context_ = std::make_unique<grpc::ClientContext>();
    self->keys_thread_ = std::thread([s = self.get()] { s->WatchKeys(); });
  }
  return self;
}

void ListenerClient::WatchKeys() {
  auto stub = v1::ListenerService::NewStub(grpc_channel_);
  v1::WatchKeysRequest request;
  request.set_session_id(options_.session_id);
  request.set_listener_id(subscription_.listener_id());
  auto reader = stub->WatchKeys(keys_context_.get(), request);
  v1::KeyUpdate update;
  uint32_t newest = subscription_.key_id();
  while (reader->Read(&update)) {
    key_updates_.fetch_add(1);
    if (update.key_id() <= newest) continue;  // the key we already have
    newest = update.key_id();
    receiver_->AnnounceKey(update.key_id(), update.srtp());
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    std::lock_guard lock(mutex_);
    ended_reason_ = status.error_message();
  }
}

std::string ListenerClient::ended_reason() const {
  std::lock_guard lock(mutex_);
  return ended_reason_;
}

ListenerClient::~ListenerClient() { Stop(true); }

std::string ListenerClient::channel() const {
  std::lock_guard lock(mutex_);
  return channel_;
}

uint16_t ListenerClient::local_port() const { return receiver_->local_port(); }

std::vector<float> ListenerClient::Samples() const { return receiver_->Samples(); }

std::vector<float> ListenerClient::Samples(std::size_t from, std::size_t count) const {
  return receiver_->Samples(from, count);
}

std::size_t ListenerClient::SampleCount() const { return receiver_->SampleCount(); }
std::size_t ListenerClient::FirstKeptSample() const { return receiver_->FirstKeptSample(); }

std::vector<ListenerClient::FrameArrival> ListenerClient::Arrivals() const { return receiver_->Arrivals(); }

ListenerClient::Stats ListenerClient::stats() const { return receiver_->stats(); }

bool ListenerClient::WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const {
  return receiver_->WaitForSamples(n, timeout);
}

bool ListenerClient::WaitForStats(const std::function<bool(const Stats&)>& predicate,
                                  std::chrono::milliseconds timeout) const {
  return receiver_->WaitForStats(predicate, timeout);
}

grpc::Status ListenerClient::SwitchChannel(const std::string& channel) {
  auto stub = v1::ListenerService::NewStub(grpc_channel_);
  v1::SwitchChannelRequest request;
  request.set_session_id(options_.session_id);
  request.set_listener_id(subscription_.listener_id());
  request.set_channel(channel);
  v1::SwitchChannelResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  grpc::Status status = stub->SwitchChannel(&context, request, &response);
  if (status.ok()) {
    std::lock_guard lock(mutex_);
    channel_ = channel;
  }
  return status;
}

void ListenerClient::Stop(bool unsubscribe) {
  std::lock_guard stop_lock(stop_mutex_);
  if (receiver_) receiver_->Stop();
  if (keys_thread_.joinable()) {
    keys_context_->TryCancel();
    keys_thread_.join();
  }
  // The first Stop() decides: Stop(false) leaves the subscription for the server to time out,
  // and the destructor must not undo that.
  if (std::exchange(stopped_, true) || !unsubscribe || subscription_.listener_id().empty()) return;
  auto stub = v1::ListenerService::NewStub(grpc_channel_);
  v1::UnsubscribeRequest request;
  request.set_session_id(options_.session_id);
  request.set_listener_id(subscription_.listener_id());
  v1::UnsubscribeResponse response;
  grpc::ClientContext context;
  SetDeadline(context, std::chrono::seconds(2));
  stub->Unsubscribe(&context, request, &response);  // best effort: the session may be gone
}

}  // namespace tilmash::client
