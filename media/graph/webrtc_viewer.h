// A browser listener over WebRTC (WHEP, draft-ietf-wish-whep): the channel's already encoded Opus ->
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
  // `check` looks at an answer before it goes out: "" when it is good, else what is wrong.
  using Check = std::function<std::string(const std::string& answer)>;
  explicit WebrtcHandshake(Done done, Check check = nullptr) : done_(std::move(done)), check_(std::move(check)) {
    // Publishes done_ through mu_: Complete() runs on a webrtcbin thread that GLib, not a
    // mutex ThreadSanitizer sees, handed the work to.
    std::lock_guard lock(mu_);
  }
  void Complete(bool ok, std::string text) {
    if (ok && check_) {
      std::string problem;
      {
        std::lock_guard lock(mu_);
        if (!done_) return;
        problem = check_(text);
      }
      if (!problem.empty()) {
        ok = false;
        text = problem;
      }
    }
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
  const Check check_;
  std::atomic<bool> over_{false};
};

// What webrtcbin's signal handlers of one viewer see (owned by the viewer, outlives webrtcbin's
// threads: the viewer's teardown sets webrtcbin to NULL first).
// Read only under mu, which the media thread takes once after filling it in (before any signal
// is connected): webrtcbin's threads then see the fields through a lock TSan sees.
struct ViewerContext {
  std::mutex mu;
  std::string id;
  std::string kind = "viewer";  // in log lines: "viewer" or "console"
  std::shared_ptr<WebrtcHandshake> handshake;
  GstElement* webrtc = nullptr;
  GstElement* pipeline = nullptr;  // the viewer's own
};

}  // namespace tilmash::graph
