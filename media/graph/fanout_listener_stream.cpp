#include "graph/fanout_listener_stream.h"

#include <arpa/inet.h>

namespace tilmash::graph {

domain::Result<FanoutListener> AddFanoutListener(fanout::FanoutEngine& fanout, const domain::ListenerStreamSpec& spec,
                                                 int frame_us) {
  fanout::ListenerSpec fs;
  fs.destination.sin_family = AF_INET;
  fs.destination.sin_port = htons(spec.endpoint.port);
  if (inet_pton(AF_INET, spec.endpoint.host.c_str(), &fs.destination.sin_addr) != 1)
    return domain::InvalidArgument("endpoint.host " + domain::Quoted(spec.endpoint.host) + " is not an IPv4 address");
  fs.ssrc = spec.ssrc;
  fs.suite = spec.key.suite == domain::CryptoSuite::kAeadAes128Gcm ? rtp::SrtpSuite::kAeadAes128Gcm
                                                                   : rtp::SrtpSuite::kAesCm128HmacSha1_80;
  fs.master_key = spec.key.master_key;
  fs.first_index = spec.first_index;
  fs.first_timestamp = spec.first_timestamp;
  std::string error;
  auto handle = fanout.AddListener(fs, &error);
  if (!handle) return domain::Internal("listener SRTP: " + error);
  return FanoutListener{std::move(handle), domain::SendInfo{{fanout.source_host(), fanout.source_port()},
                                                            kListenerPayloadType,
                                                            48000,
                                                            uint32_t((frame_us + 999) / 1000),
                                                            uint32_t(frame_us)}};
}

}  // namespace tilmash::graph
