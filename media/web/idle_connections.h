// Keep-alive connections between two requests, watched so that the ones their client closes
// are released. libsoup 3.2 (Debian 12) leaks them: when a kept-alive connection's next
// request reads EOF before any byte, nothing disconnects it, and the socket stays in CLOSE-WAIT
// with its fd and buffers until the server stops (fixed upstream in 3.3, libsoup d20c6601).
// The HTTP side's thread only.
#pragma once
#include <gio/gio.h>

#include <map>
#include <memory>

#include "gst/gst_ptr.h"

typedef struct _SoupServer SoupServer;
typedef struct _SoupServerMessage SoupServerMessage;

namespace tilmash::web {

class IdleConnections {
 public:
  // Watches `server`'s connections from its signals; sources go on `context` (the server's).
  IdleConnections(SoupServer* server, GMainContext* context);
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Connections between two requests now.
  std::size_t idle() const { return idle_.size(); }

 private:
  struct SourceDestroy {
    void operator()(GSource* s) const {
      g_source_destroy(s);
      g_source_unref(s);
    }
  };
  using SourcePtr = std::unique_ptr<GSource, SourceDestroy>;
  struct Idle {
    IdleConnections* owner;
    gst::GObjectPtr<GSocket> socket;            // held: its address keys idle_ and cannot be reused meanwhile
    gst::GObjectPtr<SoupServerMessage> served;  // the last request; its connection is the one stolen
    SourcePtr watch;                            // readable: the next request or the client's close
    SourcePtr no_request;                       // bytes came but no request began (TLS close_notify)
  };

  static void OnStarted(SoupServer*, SoupServerMessage* msg, gpointer self);
  static void OnFinished(SoupServer*, SoupServerMessage* msg, gpointer self);
  static gboolean OnReadable(GSocket* socket, GIOCondition, gpointer idle);
  static gboolean OnNoRequest(gpointer idle);
  void Release(Idle* idle);

  GMainContext* const context_;
  std::map<GSocket*, std::unique_ptr<Idle>> idle_;
  gst::SignalConnection started_, finished_;
};

}  // namespace tilmash::web
