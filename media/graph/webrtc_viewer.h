// A browser listener over WebRTC (WHEP, RFC 9725): the channel's already encoded Opus ->
// queue -> RTP payloader (the offer's payload type) -> webrtcbin (ICE + DTLS-SRTP). No
// re-encode per viewer. The answer is complete once ICE gathering is (no trickle needed).
#pragma once
#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace tilmash::graph {

// What the HTTP side waits for: the SDP answer, or why there is none. Completed once, from a
// GStreamer thread; `done` runs there (it must only post work elsewhere).
class WebrtcHandshake {
 public:
  using Done = std::function<void(bool ok, const std::string& answer_or_error)>;
  explicit WebrtcHandshake(Done done) : done_(std::move(done)) {
    // Publishes done_ through mu_: Complete() runs on a webrtcbin thread that GLib, not a
    // mutex ThreadSanitizer sees, handed the work to.
    std::lock_guard lock(mu_);
  }
  void Complete(bool ok, const std::string& text) {
    if (!ok) MarkOver();
    Done d;
    {
      std::lock_guard lock(mu_);
      if (!done_) return;
      d = std::move(done_);
      done_ = nullptr;
    }
    d(ok, text);
  }
  // Drops the callback unanswered (the caller answered otherwise).
  void Cancel() {
    std::lock_guard lock(mu_);
    done_ = nullptr;
  }
  // Set when the handshake failed or the peer connection failed or closed afterwards: the
  // viewer is over and whoever admitted it should remove it.
  void MarkOver() { over_.store(true); }
  bool over() const { return over_.load(); }

 private:
  std::mutex mu_;
  Done done_;
  std::atomic<bool> over_{false};
};

// What webrtcbin's signal handlers of one viewer see (owned by the viewer, outlives webrtcbin's
// threads: the viewer's teardown sets webrtcbin to NULL first).
// Read only under mu, which the media thread takes once after filling it in (before any signal
// is connected): webrtcbin's threads then see the fields through a lock TSan sees.
struct ViewerContext {
  std::mutex mu;
  std::string id;
  std::shared_ptr<WebrtcHandshake> handshake;
  GstElement* webrtc = nullptr;
  GstElement* pipeline = nullptr;  // the viewer's own
};

// The Opus payload type the offer gives (a=rtpmap:<pt> opus/48000/2), or -1 when it has none.
int OpusPayloadType(const std::string& offer_sdp);

}  // namespace tilmash::graph
