// Writes the small seed corpora committed in tests/fuzz/corpus/<target>/ (see tools/fuzz --seeds).
// Seeds are well-formed inputs that reach deep states at once: valid RTP with CSRCs, extension and
// padding; ingest programs whose packets the harness protects with the right key; control
// programs that create a session, join consoles, go live, hand over, relay and subscribe.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "control_ops.h"
#include "rtp/rtp_packet.h"
#include "tilmash/v1/tilmash.pb.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace v1 = tilmash::v1;

void Write(const std::string& dir, const std::string& name, const Bytes& b) {
  std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}

Bytes Rtp(uint16_t seq, uint32_t ssrc, std::size_t payload, uint8_t pt = 96, int csrc = 0, int ext_words = -1,
          int padding = 0) {
  Bytes p(12);
  tilmash::rtp::WriteHeader(p.data(), pt, seq % 7 == 0, seq, 480u * seq, ssrc);
  p[0] |= uint8_t(csrc);
  for (int i = 0; i < csrc; ++i) p.insert(p.end(), {0, 0, 0, uint8_t(i + 1)});
  if (ext_words >= 0) {
    p[0] |= 0x10;
    p.insert(p.end(), {0xbe, 0xde, 0, uint8_t(ext_words)});
    for (int i = 0; i < ext_words; ++i) p.insert(p.end(), {0x10, 0xff, 0, 0});
  }
  for (std::size_t i = 0; i < payload; ++i) p.push_back(uint8_t(i * 37 + seq));
  if (padding > 0) {
    p[0] |= 0x20;
    for (int i = 1; i < padding; ++i) p.push_back(0);
    p.push_back(uint8_t(padding));
  }
  return p;
}

void AppendFramed(Bytes* out, uint8_t head, const Bytes& body) {
  out->push_back(head);
  out->push_back(uint8_t(body.size()));
  out->push_back(uint8_t(body.size() >> 8));
  out->insert(out->end(), body.begin(), body.end());
}

// ------------------------------------------------------------------ control programs
using namespace tilmash::fuzz;

struct Program {
  Bytes bytes;
  void Add(Op op, const google::protobuf::Message& m) {
    std::string s = m.SerializeAsString();
    AppendFramed(&bytes, op, Bytes(s.begin(), s.end()));
  }
  void Tick(uint8_t tenths) { AppendFramed(&bytes, kTick, Bytes(tenths, 0)); }
};

std::string Idx(int n) { return std::string(1, char(n)); }  // the n-th known id (see control_fuzz.cpp)

void Create(Program& p, std::vector<std::string> langs, const std::string& floor_language = "ru") {
  v1::CreateSessionRequest r;
  r.set_name("plenary");
  for (auto& l : langs) r.add_languages(l);
  r.set_floor_language(floor_language);
  r.mutable_floor_source()->mutable_tone()->set_frequency_hz(440);
  p.Add(kCreateSession, r);
}
void Join(Program& p, const std::string& booth, bool return_feed = false) {
  v1::JoinConsoleRequest r;
  r.set_booth(booth);
  if (return_feed) {
    r.mutable_return_endpoint()->set_host("127.0.0.1");
    r.mutable_return_endpoint()->set_port(9000);
  }
  p.Add(kJoinConsole, r);
}
void Mic(Program& p, int console, bool live) {
  v1::SetMicRequest r;
  r.set_console_id(Idx(console));
  r.set_live(live);
  p.Add(kSetMic, r);
}
void Subscribe(Program& p, const std::string& channel) {
  v1::SubscribeRequest r;
  r.set_channel(channel);
  r.mutable_endpoint()->set_host("127.0.0.1");
  r.mutable_endpoint()->set_port(5004);
  p.Add(kSubscribe, r);
}

Program Handover() {
  Program p;
  Create(p, {"en", "ru", "kk"});
  Join(p, "ru", true);
  Join(p, "ru");
  Mic(p, 0, true);
  v1::HandoverRequest h;
  h.set_console_id(Idx(1));
  p.Add(kRequestHandover, h);
  h.set_console_id(Idx(0));
  p.Add(kAcceptHandover, h);
  Subscribe(p, "ru");
  v1::SwitchChannelRequest sw;
  sw.set_channel("kk");
  p.Add(kSwitchChannel, sw);
  v1::GetSessionStatsRequest st;
  p.Add(kGetSessionStats, st);
  v1::UnsubscribeRequest un;
  p.Add(kUnsubscribe, un);
  v1::LeaveConsoleRequest leave;
  leave.set_console_id(Idx(1));
  p.Add(kLeaveConsole, leave);
  return p;
}

Program RetourAndRelay() {
  Program p;
  Create(p, {"en", "ru", "kk", "uz"}, "en");
  v1::ConfigureBoothRequest cb;
  cb.set_booth("kk");
  cb.set_retour_b("ru");
  cb.add_takes("ru");
  p.Add(kConfigureBooth, cb);
  Join(p, "kk", true);
  Join(p, "ru", true);
  Join(p, "uz", true);
  v1::SelectOutputRequest so;
  so.set_console_id(Idx(0));
  so.set_slot(v1::OUTPUT_B);
  p.Add(kSelectOutput, so);
  Mic(p, 0, true);
  v1::SelectInputRequest si;
  si.set_console_id(Idx(2));
  si.mutable_input()->set_channel("ru");
  p.Add(kSelectInput, si);
  si.set_console_id(Idx(1));
  si.mutable_input()->set_auto_(true);
  p.Add(kSelectInput, si);
  Mic(p, 2, true);
  v1::SetFloorLanguageRequest fl;
  fl.set_language("uz");
  p.Add(kSetFloorLanguage, fl);
  v1::GetBoothRequest gb;
  gb.set_booth("kk");
  p.Add(kGetBooth, gb);
  return p;
}

Program OverrideAndCough() {
  Program p;
  Create(p, {"en", "ru"});
  v1::SetInterlockModeRequest im;
  im.set_mode(v1::TOGGLE_OVERRIDE);
  p.Add(kSetInterlockMode, im);
  Join(p, "en");
  Join(p, "en");
  Mic(p, 0, true);
  Mic(p, 1, true);
  v1::CoughRequest c;
  c.set_console_id(Idx(1));
  c.set_muted(true);
  p.Add(kCough, c);
  Mic(p, 1, false);
  v1::SetBroadcastStateRequest bs;
  bs.set_on_air(true);
  bs.set_recorded(true);
  p.Add(kSetBroadcastState, bs);
  v1::SetChannelDuckingRequest d;
  d.set_language("en");
  d.set_floor_duck_db(-24);
  p.Add(kSetChannelDucking, d);
  return p;
}

Program MessagesAndTime() {
  Program p;
  Create(p, {"en", "ru"});
  Join(p, "ru");
  Join(p, "ru");
  Mic(p, 0, true);
  v1::SendMessageRequest m;
  m.mutable_message()->set_kind(v1::SLOW_DOWN);
  m.mutable_message()->set_from(Idx(1));
  p.Add(kSendMessage, m);
  m.mutable_message()->set_kind(v1::TEXT);
  m.mutable_message()->set_from("chair");
  m.mutable_message()->set_to("booth:ru");
  m.mutable_message()->set_text("please slow down");
  p.Add(kSendMessage, m);
  v1::HandoverRequest h;
  h.set_console_id(Idx(1));
  p.Add(kRequestHandover, h);
  p.Tick(120);  // 12 s: the request expires
  h.set_console_id(Idx(0));
  p.Add(kAcceptHandover, h);
  return p;
}

Program ChannelsAndFloor() {
  Program p;
  Create(p, {"en"});
  v1::AddChannelRequest a;
  a.set_language("zh-Hans");
  a.set_floor_duck_db(-12);
  p.Add(kAddChannel, a);
  Subscribe(p, "zh-hans");
  v1::SetFloorSourceRequest fs;
  fs.mutable_source()->mutable_rtp()->set_srtp(true);
  p.Add(kSetFloorSource, fs);
  v1::RemoveChannelRequest rm;
  rm.set_language("zh-Hans");
  p.Add(kRemoveChannel, rm);
  v1::ListSessionsRequest ls;
  p.Add(kListSessions, ls);
  v1::GetSessionRequest gs;
  p.Add(kGetSession, gs);
  v1::EndSessionRequest es;
  p.Add(kEndSession, es);
  return p;
}

// Venue multicast members and unicast listeners, keep-alives, a revocation (a KeepAlive whose
// listener id length is a multiple of 3 revokes "token-a" in control_fuzz.cpp), and time for
// leases and key rotation to run out.
Program MulticastAndLeases() {
  Program p;
  Create(p, {"en", "ru"});
  for (const char* ch : {"en", "ru", "en"}) {
    v1::SubscribeRequest r;
    r.set_channel(ch);
    r.set_transport(v1::MULTICAST);
    p.Add(kSubscribe, r);
  }
  Subscribe(p, "ru");
  for (uint32_t balance : {40u, 0u, 101u}) {  // server-side mixes, and one out of range
    v1::SubscribeRequest r;
    r.set_channel("ru");
    r.mutable_endpoint()->set_host("127.0.0.1");
    r.mutable_endpoint()->set_port(5006);
    r.set_interpretation_percent(balance);
    p.Add(kSubscribe, r);
  }
  v1::KeepAliveRequest k;
  k.set_listener_id(Idx(0));
  p.Add(kKeepAlive, k);
  p.Tick(35);
  k.set_listener_id("l-");
  p.Add(kKeepAlive, k);
  p.Tick(30);
  v1::UnsubscribeRequest u;
  u.set_listener_id(Idx(1));
  p.Add(kUnsubscribe, u);
  return p;
}

// CI's finding: streams keyed for one receiver aimed at group or broadcast addresses (refused).
Program GroupAddressesForOneReceiver() {
  Program p;
  Create(p, {"en", "ru"});
  for (const char* host : {"239.1.2.9", "224.0.0.1", "255.255.255.255", "239.1.x"}) {
    v1::JoinConsoleRequest j;
    j.set_booth("ru");
    j.mutable_return_endpoint()->set_host(host);
    j.mutable_return_endpoint()->set_port(9000);
    p.Add(kJoinConsole, j);
    v1::SubscribeRequest r;
    r.set_channel("en");
    r.mutable_endpoint()->set_host(host);
    r.mutable_endpoint()->set_port(5004);
    p.Add(kSubscribe, r);
  }
  Join(p, "ru", true);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds CORPUS_DIR (writes CORPUS_DIR/<target>/seed-*)\n";
    return 2;
  }
  const std::string root = argv[1];
  const std::string rtp = root + "/rtp_parse_fuzz", ingest = root + "/ingest_guard_fuzz",
                    control = root + "/control_fuzz";

  Write(rtp, "seed-plain", Rtp(1, 0x1234, 40));
  Write(rtp, "seed-csrc-ext-pad", Rtp(2, 0x1234, 20, 96, 3, 2, 4));
  Write(rtp, "seed-ext-empty", Rtp(3, 0x1234, 0, 111, 0, 0));
  Bytes srtp_like = Rtp(4, 0x1234, 60);
  srtp_like.insert(srtp_like.end(), 10, 0xaa);
  Write(rtp, "seed-srtp-tag", srtp_like);

  constexpr uint32_t kSsrc = 0x0badcafe;  // ingest_guard_fuzz.cpp's expected SSRC
  for (uint8_t config : {0x01, 0x03, 0x05, 0x0d, 0x00}) {
    Bytes in{config};
    for (uint16_t seq = 1; seq <= 5; ++seq) AppendFramed(&in, 0x01, Rtp(seq, kSsrc, 40 + seq));
    AppendFramed(&in, 0x03, Rtp(6, kSsrc, 40));      // protected, then tampered
    AppendFramed(&in, 0x01, Rtp(7, kSsrc + 1, 40));  // another SSRC
    AppendFramed(&in, 0x01, Rtp(8, kSsrc, 40, 97));  // wrong payload type
    AppendFramed(&in, 0x00, Bytes(20, 0x80));        // junk
    Write(ingest, "seed-config-" + std::to_string(config), in);
  }

  Write(control, "seed-handover", Handover().bytes);
  Write(control, "seed-retour-relay", RetourAndRelay().bytes);
  Write(control, "seed-override-cough", OverrideAndCough().bytes);
  Write(control, "seed-messages-time", MessagesAndTime().bytes);
  Write(control, "seed-channels-floor", ChannelsAndFloor().bytes);
  Write(control, "seed-multicast-leases", MulticastAndLeases().bytes);
  Write(control, "seed-regression-group-addresses", GroupAddressesForOneReceiver().bytes);
  std::cout << "seeds written to " << root << "\n";
  return 0;
}
