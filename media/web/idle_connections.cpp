#include "web/idle_connections.h"

#include <libsoup/soup.h>
#include <sys/socket.h>

#include <cerrno>

namespace tilmash::web {

namespace {

// A request's first bytes take one round trip; a TLS record of it a few. Bytes that start no
// request within this were one libsoup read as an EOF (a close_notify split over segments, say).
constexpr guint kRequestGraceSeconds = 10;

// Exactly one TLS alert record waiting, as a client sends on closing (close_notify): type 21
// (TLS 1.2), or an application-data record of an AEAD-sealed alert's size (TLS 1.3: 2 bytes, the
// inner type, a 16-byte tag). Never an HTTP request, which is longer and not binary.
bool IsTlsAlert(const unsigned char* b, ssize_t n) {
  if (n < 5) return false;
  const ssize_t length = ssize_t(b[3]) << 8 | b[4];
  return n == 5 + length && (b[0] == 21 || (b[0] == 23 && length == 2 + 1 + 16));
}

}  // namespace

IdleConnections::IdleConnections(SoupServer* server, GMainContext* context)
    : context_(context),
      started_(server, "request-started", G_CALLBACK(&IdleConnections::OnStarted), this),
      finished_(server, "request-finished", G_CALLBACK(&IdleConnections::OnFinished), this) {}

IdleConnections::~IdleConnections() {
  started_.Disconnect();
  finished_.Disconnect();
  idle_.clear();
}

void IdleConnections::OnStarted(SoupServer*, SoupServerMessage* msg, gpointer self) {
  // Busy again (or new): libsoup is reading a request from it.
  if (GSocket* socket = soup_server_message_get_socket(msg)) static_cast<IdleConnections*>(self)->idle_.erase(socket);
}

void IdleConnections::OnFinished(SoupServer*, SoupServerMessage* msg, gpointer self) {
  auto* me = static_cast<IdleConnections*>(self);
  GSocket* socket = soup_server_message_get_socket(msg);
  if (!socket || g_socket_is_closed(socket)) return;
  // The message is kept only to steal its connection: not its bodies (an HLS segment).
  soup_message_body_truncate(soup_server_message_get_response_body(msg));
  soup_message_body_truncate(soup_server_message_get_request_body(msg));
  auto idle = std::make_unique<Idle>();
  idle->owner = me;
  idle->socket = gst::GObjectPtr<GSocket>::Ref(socket);
  idle->served = gst::GObjectPtr<SoupServerMessage>::Ref(msg);
  // Above libsoup's own watch (default priority), so that this one sees the client's close
  // first, while libsoup still waits for a next request and its connection can be stolen.
  // A connection libsoup closes right after this signal (not keep-alive) is found closed.
  idle->watch.reset(g_socket_create_source(socket, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr));
  g_source_set_priority(idle->watch.get(), G_PRIORITY_HIGH);
  g_source_set_callback(idle->watch.get(), G_SOURCE_FUNC(&IdleConnections::OnReadable), idle.get(), nullptr);
  g_source_attach(idle->watch.get(), me->context_);
  me->idle_[socket] = std::move(idle);
}

gboolean IdleConnections::OnReadable(GSocket* socket, GIOCondition, gpointer p) {
  auto* idle = static_cast<Idle*>(p);
  IdleConnections* me = idle->owner;
  if (g_socket_is_closed(socket)) {
    me->idle_.erase(socket);
    return G_SOURCE_REMOVE;
  }
  unsigned char bytes[64];
  const ssize_t n = recv(g_socket_get_fd(socket), bytes, sizeof bytes, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return G_SOURCE_CONTINUE;
  if (n > 0 && !IsTlsAlert(bytes, n)) {
    // The next request (libsoup reads it now; this watch would starve it), or something libsoup
    // may read as an EOF, after which it leaks the connection.
    idle->watch.reset();
    idle->no_request.reset(g_timeout_source_new_seconds(kRequestGraceSeconds));
    g_source_set_callback(idle->no_request.get(), &IdleConnections::OnNoRequest, idle, nullptr);
    g_source_attach(idle->no_request.get(), me->context_);
    return G_SOURCE_REMOVE;
  }
  // EOF, a reset or a TLS close between requests: the client is gone. (A pipelined request
  // libsoup has buffered already, sent just before a half-close, goes with it; browsers do not.)
  me->Release(idle);
  return G_SOURCE_REMOVE;
}

gboolean IdleConnections::OnNoRequest(gpointer p) {
  auto* idle = static_cast<Idle*>(p);
  // libsoup has ended its read and holds the connection with nothing left to free it: the fd
  // at least is closed (its few objects stay until the server stops).
  g_socket_close(idle->socket.get(), nullptr);
  idle->owner->idle_.erase(idle->socket.get());
  return G_SOURCE_REMOVE;
}

void IdleConnections::Release(Idle* idle) {
  // Between requests libsoup has no request of its own to end: stealing the connection is the
  // public way to have it dropped (disconnected, off the server's list, freed).
  auto stream = gst::GObjectPtr<GIOStream>::Adopt(soup_server_message_steal_connection(idle->served.get()));
  // The socket first: a TLS stream's close would write a close_notify, and could wait on a
  // client that stopped reading; to a closed socket it fails at once.
  g_socket_close(idle->socket.get(), nullptr);
  if (stream) g_io_stream_close(stream.get(), nullptr, nullptr);
  idle_.erase(idle->socket.get());
}

}  // namespace tilmash::web
