// Our SrtpContext (libsrtp on OpenSSL, linked statically) against GStreamer's srtpenc/srtpdec
// (gst-plugins-bad, which links Debian's libsrtp2.so on NSS): two builds of the library with
// different crypto backends in one process must agree bit for bit, in both directions.
#include <dlfcn.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <srtp2/cipher.h>

#include <cstring>
#include <string>
#include <vector>

#include "rtp/rtp_packet.h"
#include "rtp/srtp_context.h"

namespace tilmash::rtp {
namespace {

constexpr uint32_t kSsrc = 0x5EED0042;

std::string Hex(const std::vector<uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) s += {d[x >> 4], d[x & 15]};
  return s;
}

std::vector<uint8_t> Plain(uint16_t seq) {
  std::vector<uint8_t> p(12 + 90);
  WriteHeader(p.data(), 111, seq == 0, seq, 960u * seq, kSsrc);
  for (std::size_t i = 12; i < p.size(); ++i) p[i] = uint8_t(i * 13 + seq);
  return p;
}

struct GstNames {
  const char* cipher;
  const char* auth;
};
GstNames NamesOf(SrtpSuite s) {
  return s == SrtpSuite::kAeadAes128Gcm ? GstNames{"aes-128-gcm", "null"} : GstNames{"aes-128-icm", "hmac-sha1-80"};
}

// A pipeline appsrc ! <element> ! appsink; owns its refs.
class Pipeline {
 public:
  explicit Pipeline(const std::string& middle) {
    gst_init(nullptr, nullptr);
    GError* err = nullptr;
    const std::string desc = "appsrc name=src format=time ! " + middle + " ! appsink name=sink sync=false";
    pipeline_ = gst_parse_launch(desc.c_str(), &err);
    if (err) {
      error_ = err->message;
      g_error_free(err);
    }
    if (!pipeline_) return;
    src_ = gst_bin_get_by_name(GST_BIN(pipeline_), "src");
    sink_ = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
  }
  ~Pipeline() {
    if (pipeline_) gst_element_set_state(pipeline_, GST_STATE_NULL);
    if (src_) gst_object_unref(src_);
    if (sink_) gst_object_unref(sink_);
    if (pipeline_) gst_object_unref(pipeline_);
  }
  bool ok() const { return pipeline_ && src_ && sink_ && error_.empty(); }
  const std::string& error() const { return error_; }
  GstElement* Get(const char* name) { return gst_bin_get_by_name(GST_BIN(pipeline_), name); }

  void SetCaps(const std::string& caps) {
    GstCaps* c = gst_caps_from_string(caps.c_str());
    g_object_set(src_, "caps", c, nullptr);
    gst_caps_unref(c);
  }
  bool Play() { return gst_element_set_state(pipeline_, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE; }
  void Push(const std::vector<uint8_t>& bytes) {
    GstBuffer* b = gst_buffer_new_memdup(bytes.data(), bytes.size());
    gst_app_src_push_buffer(GST_APP_SRC(src_), b);
  }
  // Waits (bounded) for the next output buffer; empty on timeout or end of stream.
  std::vector<uint8_t> Pull() {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink_), 5 * GST_SECOND);
    if (!s) return {};
    GstBuffer* b = gst_sample_get_buffer(s);
    std::vector<uint8_t> out(gst_buffer_get_size(b));
    gst_buffer_extract(b, 0, out.data(), out.size());
    gst_sample_unref(s);
    return out;
  }

 private:
  GstElement* pipeline_ = nullptr;
  GstElement* src_ = nullptr;
  GstElement* sink_ = nullptr;
  std::string error_;
};

class SrtpGstInteropTest : public ::testing::TestWithParam<SrtpSuite> {};

TEST(SrtpGstBackends, OursIsOpenSslAndGStreamersIsDebianNss) {
  EXPECT_EQ(SrtpCryptoBackend(), "openssl") << "tools/setup-srtp builds libsrtp2 with --enable-openssl";
  Pipeline p("srtpdec");
  ASSERT_TRUE(p.ok()) << p.error();
  // The srtp plugin brought in Debian's shared libsrtp2: a different copy of the library.
  void* lib = dlopen("libsrtp2.so.1", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(lib, nullptr) << "GStreamer's srtp plugin should have loaded libsrtp2.so.1";
  auto* theirs = static_cast<const srtp_cipher_type_t*>(dlsym(lib, "srtp_aes_icm_128"));
  ASSERT_NE(theirs, nullptr);
  EXPECT_NE(std::string(theirs->description).find("NSS"), std::string::npos) << theirs->description;
  EXPECT_NE(dlsym(lib, "srtp_protect"), reinterpret_cast<void*>(&srtp_protect)) << "ours must be a separate copy";
  dlclose(lib);
}

TEST_P(SrtpGstInteropTest, OurProtectDecryptsInSrtpdec) {
  const SrtpSuite suite = GetParam();
  const auto key = RandomMasterKey(suite);
  auto tx = SrtpContext::Create(SrtpContext::Direction::kProtect, suite, key, kSsrc);
  ASSERT_TRUE(tx);
  Pipeline p("srtpdec");
  ASSERT_TRUE(p.ok()) << p.error();
  const auto n = NamesOf(suite);
  p.SetCaps(std::string("application/x-srtp, media=(string)audio, clock-rate=(int)48000, encoding-name=(string)OPUS, "
                        "payload=(int)111, ssrc=(uint)") +
            std::to_string(kSsrc) + ", srtp-key=(buffer)" + Hex(key) + ", srtp-cipher=(string)" + n.cipher +
            ", srtp-auth=(string)" + n.auth + ", srtcp-cipher=(string)" + n.cipher + ", srtcp-auth=(string)" + n.auth +
            ", roc=(uint)0");
  ASSERT_TRUE(p.Play());
  constexpr uint16_t kPackets = 40;
  for (uint16_t seq = 0; seq < kPackets; ++seq) {
    auto plain = Plain(seq);
    std::vector<uint8_t> buf(plain.size() + 32);
    std::memcpy(buf.data(), plain.data(), plain.size());
    const int len = tx->Protect(buf.data(), plain.size(), buf.size());
    ASSERT_GT(len, 0);
    buf.resize(std::size_t(len));
    p.Push(buf);
  }
  for (uint16_t seq = 0; seq < kPackets; ++seq) {
    auto out = p.Pull();
    ASSERT_EQ(out, Plain(seq)) << "packet " << seq;
  }
}

TEST_P(SrtpGstInteropTest, SrtpencDecryptsInOurUnprotect) {
  const SrtpSuite suite = GetParam();
  const auto key = RandomMasterKey(suite);
  auto rx = SrtpContext::Create(SrtpContext::Direction::kUnprotect, suite, key, kSsrc);
  ASSERT_TRUE(rx);
  Pipeline p("srtpenc name=enc");
  ASSERT_TRUE(p.ok()) << p.error();
  GstElement* enc = p.Get("enc");
  GstBuffer* k = gst_buffer_new_memdup(key.data(), key.size());
  g_object_set(enc, "key", k, nullptr);
  gst_buffer_unref(k);
  const auto n = NamesOf(suite);
  for (const char* prop : {"rtp-cipher", "rtcp-cipher"}) gst_util_set_object_arg(G_OBJECT(enc), prop, n.cipher);
  for (const char* prop : {"rtp-auth", "rtcp-auth"}) gst_util_set_object_arg(G_OBJECT(enc), prop, n.auth);
  gst_object_unref(enc);
  p.SetCaps(
      "application/x-rtp, media=(string)audio, clock-rate=(int)48000, encoding-name=(string)OPUS, payload=(int)111");
  ASSERT_TRUE(p.Play());
  constexpr uint16_t kPackets = 40;
  for (uint16_t seq = 0; seq < kPackets; ++seq) p.Push(Plain(seq));
  for (uint16_t seq = 0; seq < kPackets; ++seq) {
    auto out = p.Pull();
    ASSERT_EQ(out.size(), Plain(seq).size() + TagLength(suite)) << "packet " << seq;
    EXPECT_NE(0, std::memcmp(out.data() + 12, Plain(seq).data() + 12, 90)) << "srtpenc must have encrypted it";
    const int len = rx->Unprotect(out.data(), out.size());
    ASSERT_EQ(len, int(Plain(seq).size())) << "packet " << seq;
    out.resize(std::size_t(len));
    EXPECT_EQ(out, Plain(seq));
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, SrtpGstInteropTest,
                         ::testing::Values(SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm),
                         [](const auto& info) {
                           return info.param == SrtpSuite::kAeadAes128Gcm ? std::string("Gcm")
                                                                          : std::string("AesCmHmacSha1");
                         });

}  // namespace
}  // namespace tilmash::rtp
