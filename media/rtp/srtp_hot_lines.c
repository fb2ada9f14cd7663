// Where a sending SRTP stream lives in memory, read from libsrtp's private headers.
//
// Why: the fan-out protects one packet per listener, each with its own libsrtp context. With
// thousands of listeners the contexts do not fit in the CPU's caches, and libsrtp reaches a
// stream through a chain of pointers (session -> stream list -> stream -> session keys ->
// cipher -> cipher state -> OpenSSL context -> its provider's context with the key schedule;
// -> auth -> auth state; -> key limit), each a cache
// miss that waits for the one before it. Profiled at 10,000 listeners, those waits were most
// of the protect step. The chain is fixed from the moment the context is created, so it is
// walked once here; the fan-out then prefetches the whole list a few listeners ahead, and the
// misses overlap instead of following one another.
//
// This is the only file that reads libsrtp's internals. It is compiled against the private
// headers of the very libsrtp build it links (tools/setup-srtp stages both), and checks what
// it walks: a context whose stream does not carry the expected SSRC, or whose cipher or auth is
// not one of the known kinds, gets no lines, and is protected exactly as before, only colder.
//
// It also reads one word of OpenSSL's: EVP_CIPHER_CTX hides where the provider keeps the key
// schedule (its `algctx`, one more allocation, and the largest miss left once the rest was
// prefetched). That word is only ever prefetched through (a prefetch of a wrong address is
// harmless), and only read for the OpenSSL series whose layout was checked (3.0: algctx at 0xa8,
// the fetched cipher at 0xb0), and only when the word at 0xb0 is what OpenSSL's own accessor
// says the context's cipher is.
#include "rtp/srtp_hot_lines.h"

#include <arpa/inet.h>
#include <srtp_priv.h>
#include <stddef.h>

#ifdef OPENSSL
#include <aes_gcm.h>
#include <aes_icm_ext.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#endif

enum { kLine = 64 };

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

#ifdef OPENSSL
// OpenSSL's provider context (key schedule) behind `ctx`; NULL where the layout is not the known one.
static const void* ProviderContextOf(const EVP_CIPHER_CTX* ctx) {
#if OPENSSL_VERSION_MAJOR == 3 && OPENSSL_VERSION_MINOR == 0
  if (ctx == NULL || (OpenSSL_version_num() >> 20) != 0x300) return NULL;  // 0xMNN00PPSL: 3.0 at run time too
  const void* const* words = (const void* const*)ctx;
  if (words[0xb0 / sizeof(void*)] != (const void*)EVP_CIPHER_CTX_get0_cipher(ctx)) return NULL;
  return words[0xa8 / sizeof(void*)];
#else
  (void)ctx;
  return NULL;
#endif
}
#endif

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
#ifdef OPENSSL
  if (cipher->algorithm == SRTP_AES_ICM_128) {
    const srtp_aes_icm_ctx_t* icm = (const srtp_aes_icm_ctx_t*)cipher->state;
    Add(&l, icm, sizeof *icm);
    // OpenSSL's context (what EVP_EncryptInit_ex reads first), and its provider's: the fields and
    // the 176 bytes of round keys.
    if (icm != NULL) {
      Add(&l, icm->ctx, 3 * kLine);
      Add(&l, ProviderContextOf(icm->ctx), 8 * kLine);
    }
  } else if (cipher->algorithm == SRTP_AES_GCM_128) {
    const srtp_aes_gcm_ctx_t* gcm = (const srtp_aes_gcm_ctx_t*)cipher->state;
    Add(&l, gcm, sizeof *gcm);
    if (gcm != NULL) {
      Add(&l, gcm->ctx, 3 * kLine);
      Add(&l, ProviderContextOf(gcm->ctx), 8 * kLine);
    }
  } else {
    return 0;
  }
#else
  return 0;
#endif
  Add(&l, auth, sizeof *auth);
  // The auth state: our precomputed HMAC (hmac_sha1.cpp, three SHA-1 states) or the null auth.
  Add(&l, auth->state, 5 * kLine);
  return l.n;
}
