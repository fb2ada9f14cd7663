// Where a sending SRTP stream lives in memory, read from libsrtp's private headers.
//
// Why: the fan-out protects one packet per listener, each with its own libsrtp context. With
// thousands of listeners the contexts do not fit in the CPU's caches, and libsrtp reaches a
// stream through a chain of pointers (session -> stream list -> stream -> session keys ->
// cipher -> cipher state -> OpenSSL context; -> auth -> auth state; -> key limit), each a cache
// miss that waits for the one before it. Profiled at 10,000 listeners, those waits were most
// of the protect step. The chain is fixed from the moment the context is created, so it is
// walked once here; the fan-out then prefetches the whole list a few listeners ahead, and the
// misses overlap instead of following one another.
//
// This is the only file that reads libsrtp's internals. It is compiled against the private
// headers of the very libsrtp build it links (tools/setup-srtp stages both), and checks what
// it walks: a context whose stream does not carry the expected SSRC, or whose cipher or auth is
// not one of the known kinds, gets no lines, and is protected exactly as before, only colder.
#include "rtp/srtp_hot_lines.h"

#include <arpa/inet.h>
#include <srtp_priv.h>
#include <stddef.h>

#ifdef OPENSSL
#include <aes_gcm.h>
#include <aes_icm_ext.h>
#endif

enum { kLine = 64 };

// aes_icm.cpp's cipher type, and the memory (address, size) one of its contexts reads.
const void* tilmash_batched_icm_type(void);
int tilmash_batched_icm_regions(const void* state, const void** at, size_t* size, int max);
// OpenSSL's provider context (key schedule) behind an EVP_CIPHER_CTX; null when unknown.
const void* tilmash_evp_provider_context(const void* evp);

typedef struct {
  const void** out;
  int n;
  int max;
} Lines;

static void Add(Lines* l, const void* p, size_t size) {
  if (p == NULL) return;
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)(kLine - 1);
  const uintptr_t end = (uintptr_t)p + size;
  for (; a < end && l->n < l->max; a += kLine) l->out[l->n++] = (const void*)a;
}

int tilmash_srtp_hot_lines(void* session, uint32_t ssrc, const void** out, int max) {
  srtp_ctx_t* ctx = (srtp_ctx_t*)session;
  if (ctx == NULL || out == NULL || max <= 0) return 0;
  srtp_stream_ctx_t* stream = srtp_get_stream(ctx, htonl(ssrc));
  if (stream == NULL || stream->ssrc != htonl(ssrc) || stream->num_master_keys != 1 || stream->session_keys == NULL)
    return 0;
  srtp_session_keys_t* keys = &stream->session_keys[0];
  srtp_cipher_t* cipher = keys->rtp_cipher;
  srtp_auth_t* auth = keys->rtp_auth;
  if (cipher == NULL || auth == NULL) return 0;
  Lines l = {out, 0, max};
  Add(&l, ctx, sizeof *ctx);
  // The stream list is a stub stream whose `next` is the first stream (srtp.c).
  Add(&l, (const char*)ctx->stream_list + offsetof(srtp_stream_ctx_t, next), sizeof(void*));
  Add(&l, stream, sizeof *stream);
  Add(&l, stream->rtp_rdbx.bitmask.word, stream->rtp_rdbx.bitmask.length / 8);
  Add(&l, keys, sizeof *keys);
  Add(&l, keys->limit, sizeof *keys->limit);
  Add(&l, cipher, sizeof *cipher);
  if (cipher->type == tilmash_batched_icm_type()) {
    // Our AES-CM (aes_icm.cpp): one allocation with the cipher, OpenSSL's ECB context and its key schedule.
    const void* at[3];
    size_t size[3];
    const int n = tilmash_batched_icm_regions(cipher->state, at, size, 3);
    for (int i = 0; i < n; ++i) Add(&l, at[i], size[i]);
  }
#ifdef OPENSSL
  else if (cipher->algorithm == SRTP_AES_ICM_128) {
    const srtp_aes_icm_ctx_t* icm = (const srtp_aes_icm_ctx_t*)cipher->state;
    Add(&l, icm, sizeof *icm);
    // OpenSSL's context is opaque; its first lines hold what EVP_EncryptInit_ex reads first.
    if (icm != NULL) Add(&l, icm->ctx, 2 * kLine);
  } else if (cipher->algorithm == SRTP_AES_GCM_128) {
    const srtp_aes_gcm_ctx_t* gcm = (const srtp_aes_gcm_ctx_t*)cipher->state;
    Add(&l, gcm, sizeof *gcm);
    if (gcm != NULL) {
      Add(&l, gcm->ctx, 3 * kLine);
      Add(&l, tilmash_evp_provider_context(gcm->ctx), 8 * kLine);
    }
  } else {
    return 0;
  }
#else
  else {
    return 0;
  }
#endif
  Add(&l, auth, sizeof *auth);
  // The auth state: our precomputed HMAC (hmac_sha1.cpp, three SHA-1 states) or the null auth.
  Add(&l, auth->state, 5 * kLine);
  return l.n;
}
