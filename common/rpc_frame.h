/*
 * Framing of RPC messages on a byte stream: pure code, no I/O.
 *
 * TCP delivers bytes, not messages, so every message travels as a frame:
 *
 *     +----------------------+--------------------------------------+
 *     | length: 4 bytes, BE  | `length` bytes of an rpcpb.RpcFrame   |
 *     +----------------------+--------------------------------------+
 *
 * The RpcFrame (common/proto/rpcpb.proto) names the method, carries the
 * encoded request or response and the call_id that matches one to the other.
 * The server (rpc_server.h) and the client (rpc_client.h) both use this file,
 * and so can tests, byte by byte.
 *
 * The decoder is incremental: feed it bytes as they arrive, in pieces of any
 * size, and take whole frames out. A length over RPC_FRAME_MAX is refused as
 * soon as its 4 bytes are in, before anything that size is buffered, so a
 * hostile or confused peer cannot make us allocate 4 GiB. A zero length or a
 * body that does not decode is an error too. After an error the stream is out
 * of step (there is no way to find the next frame boundary), so the decoder
 * refuses to go on and the connection should be closed.
 */
#ifndef TKV_COMMON_RPC_FRAME_H
#define TKV_COMMON_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "proto/rpcpb.pb-c.h"

/* The largest frame body accepted or produced, in bytes. */
#define RPC_FRAME_MAX (16u * 1024u * 1024u)
/* The largest request payload the server accepts: a little under the frame
 * limit, so that whatever one request can store (a key and a value) always
 * fits in one response (a RawScan of that one pair, a RawGet) with its
 * framing. Larger requests get STATUS_BAD_REQUEST. */
#define RPC_REQUEST_MAX (RPC_FRAME_MAX - 64u * 1024u)
/* Size of the length prefix. */
#define RPC_FRAME_HEADER 4u

typedef struct {
    tkv_buf_t in;   /* bytes fed and not yet returned as frames */
    size_t off;     /* where the first unconsumed byte of `in` is */
    tkv_err_t fail; /* the first error; sticky */
    char flaw[160]; /* why the frame last returned must be refused; "": sound */
} rpc_decoder_t;

/* The decoder owns its buffer: rpc_decoder_free() releases it. */
void rpc_decoder_init(rpc_decoder_t *d);
void rpc_decoder_free(rpc_decoder_t *d);

/* Copies data[0..len) in. Never fails; the size check happens in _next(). */
void rpc_decoder_feed(rpc_decoder_t *d, const void *data, size_t len);

/* Takes the next whole frame out:
 *   - TKV_OK with *out set: the caller frees it with
 *     rpcpb__rpc_frame__free_unpacked(*out, NULL);
 *   - TKV_OK with *out NULL: no whole frame yet, feed more;
 *   - TKV_ERR_INVALID (zero or oversized length) or TKV_ERR_CORRUPT (a body
 *     that is not an RpcFrame), with a message: the stream is unusable, and
 *     every later call returns the same code. */
tkv_err_t rpc_decoder_next(rpc_decoder_t *d, Rpcpb__RpcFrame **out);

/* Whether the frame last returned by rpc_decoder_next() must be refused
 * although it decodes, and why: one of its strings (the method name) holds a
 * NUL byte, so the unpacked string is only a prefix of what was sent. NULL
 * when it is sound. The stream stays in step: answer that call with
 * STATUS_BAD_REQUEST and go on. Borrowed until the next rpc_decoder_next(). */
const char *rpc_decoder_flaw(const rpc_decoder_t *d);

/* Bytes fed but not yet taken out as frames (a partial frame at most, unless
 * the caller has not drained the decoder). */
size_t rpc_decoder_pending(const rpc_decoder_t *d);

/* Appends the frame of `f` (length prefix and body) to `out`. TKV_ERR_INVALID
 * when the body would be over RPC_FRAME_MAX, or empty (every field at its
 * default: the decoder refuses a zero length); `out` is then unchanged. */
tkv_err_t rpc_frame_encode(const Rpcpb__RpcFrame *f, tkv_buf_t *out);

/* Writes / reads the 4-byte big-endian length prefix. */
void rpc_frame_put_len(uint8_t hdr[4], uint32_t len);
uint32_t rpc_frame_get_len(const uint8_t hdr[4]);

#endif
