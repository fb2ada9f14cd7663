#include "client/listener_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "audio/audio.h"
#include "client/connect.h"
#include "client/convert.h"
#include "client/udp_socket.h"
#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"
#include "tilmash/v1/tilmash.grpc.pb.h"

namespace tilmash::client {

namespace {
constexpr int kPollMs = 50;                // how long Stop() may wait for the receive thread
constexpr std::size_t kMaxDecoded = 5760;  // 120 ms at 48 kHz, Opus' longest packet
// A gap longer than this is a stream restart, not loss worth concealing sample by sample.
constexpr int kMaxConcealedFrames = 50;
}  // namespace

ListenerClient::ListenerClient(Options options) : options_(std::move(options)), channel_(options_.channel) {}

std::unique_ptr<ListenerClient> ListenerClient::Start(const Options& options, std::string* error) {
  auto fail = [&](const std::string& why) -> std::unique_ptr<ListenerClient> {
    if (error) *error = why;
    return nullptr;
  };
  std::unique_ptr<ListenerClient> self(new ListenerClient(options));
  std::string why;
  self->socket_ = UdpSocket::Bind(options.bind_host, 0, &why);
  if (!self->socket_) return fail(why);
  self->decoder_ = audio::OpusDecoder::Create(&why);
  if (!self->decoder_) return fail(why);

  self->grpc_channel_ = options.grpc_channel ? options.grpc_channel : Connect(options.server);
  auto stub = v1::ListenerService::NewStub(self->grpc_channel_);
  v1::SubscribeRequest request;
  request.set_session_id(options.session_id);
  request.set_channel(options.channel);
  request.mutable_endpoint()->set_host(self->socket_->local_host());
  request.mutable_endpoint()->set_port(self->socket_->local_port());
  request.set_suite(options.suite);
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = stub->Subscribe(&context, request, &self->subscription_);
  if (!status.ok()) return fail("Subscribe: " + StatusText(status));
  // From here on the destructor unsubscribes if anything below fails.

  const v1::SubscribeResponse& sub = self->subscription_;
  if (sub.frame_ms() > 0) self->frame_samples_ = int(sub.frame_ms()) * audio::kRate / 1000;
  const std::string& returned_key = sub.srtp().master_key();
  if (!returned_key.empty() || options.key_override) {
    const v1::CryptoSuite suite =
        sub.srtp().suite() != v1::CRYPTO_SUITE_UNSPECIFIED ? sub.srtp().suite() : options.suite;
    const rtp::SrtpSuite srtp_suite = SuiteFromProto(suite);
    const std::vector<uint8_t> key =
        options.key_override ? *options.key_override : std::vector<uint8_t>(returned_key.begin(), returned_key.end());
    self->srtp_ = rtp::SrtpContext::Create(rtp::SrtpContext::Direction::kUnprotect, srtp_suite, key, sub.ssrc(),
                                           sub.srtp().roc(), &why);
    if (!self->srtp_) return fail("SRTP: " + why);
    self->tag_size_ = rtp::TagLength(srtp_suite);
  }
  self->thread_ = std::thread([raw = self.get()] { raw->Receive(); });
  return self;
}

ListenerClient::~ListenerClient() { Stop(true); }

std::string ListenerClient::channel() const {
  std::lock_guard lock(mutex_);
  return channel_;
}

uint16_t ListenerClient::local_port() const { return socket_->local_port(); }

void ListenerClient::Receive() {
  uint8_t buffer[rtp::kMaxPacket + 64];
  while (!stop_.load()) {
    const int n = socket_->Receive(buffer, sizeof buffer, kPollMs);
    if (n <= 0) continue;  // timeout, or an error we cannot act on: keep listening
    HandleDatagram(buffer, std::size_t(n), Clock::now());
  }
}

void ListenerClient::HandleDatagram(uint8_t* data, std::size_t size, Clock::time_point arrival) {
  const rtp::ParseResult outer = rtp::ParseRtp(data, size, tag_size_);
  auto count = [this](uint64_t Stats::*field) {
    {
      std::lock_guard lock(mutex_);
      ++(stats_.*field);
    }
    changed_cv_.notify_all();
  };
  if (!outer.ok()) return count(&Stats::malformed);
  if (subscription_.ssrc() != 0 && outer.header->ssrc != subscription_.ssrc()) return count(&Stats::wrong_ssrc);
  int plain_size = int(size);
  if (srtp_) {
    plain_size = srtp_->Unprotect(data, size);
    if (plain_size < 0) return count(&Stats::auth_failures);
  }
  // Re-parse the decrypted packet: padding is only visible now.
  const rtp::ParseResult plain = rtp::ParseRtp(data, std::size_t(plain_size), 0);
  if (!plain.ok()) return count(&Stats::malformed);
  const rtp::RtpHeaderView& h = *plain.header;

  int gap = 0;
  if (expected_seq_) {
    const int delta = int16_t(uint16_t(h.sequence - *expected_seq_));
    if (delta < 0) return count(&Stats::late);  // its slot was already concealed
    gap = delta;
  }
  expected_seq_ = uint16_t(h.sequence + 1);
  double interarrival_ms = -1;
  if (last_arrival_) {
    interarrival_ms = std::chrono::duration<double, std::milli>(arrival - *last_arrival_).count();
    interarrival_sum_ms_ += interarrival_ms;
    ++interarrival_count_;
  }
  last_arrival_ = arrival;
  {
    std::lock_guard lock(mutex_);
    ++stats_.packets;
    stats_.lost += uint64_t(gap);
    if (interarrival_ms >= 0) {
      stats_.max_interarrival_ms = std::max(stats_.max_interarrival_ms, interarrival_ms);
      stats_.mean_interarrival_ms = interarrival_sum_ms_ / double(interarrival_count_);
    }
  }
  if (gap > 0) Conceal(std::min(gap, kMaxConcealedFrames));
  DecodeInto(data + h.header_size, int(h.payload_size), FrameArrival{arrival, 0, h.sequence, h.timestamp});
}

void ListenerClient::DecodeInto(const uint8_t* payload, int size, const FrameArrival& arrival) {
  float pcm[kMaxDecoded];
  const int n = decoder_->Decode(payload, size, pcm, int(kMaxDecoded));
  if (n <= 0) {
    {
      std::lock_guard lock(mutex_);
      ++stats_.decode_errors;
    }
    Conceal(1);  // notifies  // keep the timeline continuous
    return;
  }
  frame_samples_ = n;
  {
    std::lock_guard lock(mutex_);
    FrameArrival a = arrival;
    a.sample_index = samples_.size();
    arrivals_.push_back(a);
    samples_.insert(samples_.end(), pcm, pcm + n);
  }
  changed_cv_.notify_all();
}

void ListenerClient::Conceal(int frames) {
  float pcm[kMaxDecoded];
  for (int i = 0; i < frames; ++i) {
    int n = decoder_->Decode(nullptr, 0, pcm, int(kMaxDecoded), frame_samples_);
    if (n <= 0) {  // cannot happen with a valid frame size; still never leave a hole
      n = frame_samples_;
      std::fill(pcm, pcm + n, 0.0f);
    }
    std::lock_guard lock(mutex_);
    samples_.insert(samples_.end(), pcm, pcm + n);
  }
  changed_cv_.notify_all();
}

std::vector<float> ListenerClient::Samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::vector<float> ListenerClient::Samples(std::size_t from, std::size_t count) const {
  std::lock_guard lock(mutex_);
  from = std::min(from, samples_.size());
  count = std::min(count, samples_.size() - from);
  return {samples_.begin() + std::ptrdiff_t(from), samples_.begin() + std::ptrdiff_t(from + count)};
}

std::size_t ListenerClient::SampleCount() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

std::vector<ListenerClient::FrameArrival> ListenerClient::Arrivals() const {
  std::lock_guard lock(mutex_);
  return arrivals_;
}

ListenerClient::Stats ListenerClient::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool ListenerClient::WaitForSamples(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_cv_.wait_for(lock, timeout, [&] { return samples_.size() >= n || stop_.load(); });
  return samples_.size() >= n;
}

bool ListenerClient::WaitForStats(const std::function<bool(const Stats&)>& predicate,
                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_cv_.wait_for(lock, timeout, [&] { return predicate(stats_) || stop_.load(); });
  return predicate(stats_);
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
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  {
    // Wake WaitForSamples() callers; taking the lock orders this after their predicate check.
    std::lock_guard lock(mutex_);
  }
  changed_cv_.notify_all();
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
