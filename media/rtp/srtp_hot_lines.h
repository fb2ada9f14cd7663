// The memory one srtp_protect of a sending stream reads, as cache-line addresses, so the fan-out
// can prefetch a listener's context a few listeners ahead (srtp_hot_lines.c says why).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Fills `out` with the start of every 64-byte line a protect of the stream `ssrc` (host order)
// of `session` (an srtp_t) touches in libsrtp's own allocations: the session, its stream, the
// stream's session keys, cipher, cipher state, OpenSSL cipher context, auth and auth state, key
// limit and replay bitmask. Returns how many (at most `max`), or 0 when the session has no
// such stream or its layout is not the one this file was built for (nothing is prefetched then).
int tilmash_srtp_hot_lines(void* session, uint32_t ssrc, const void** out, int max);

#ifdef __cplusplus
}
#endif
