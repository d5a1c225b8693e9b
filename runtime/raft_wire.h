/*
 * Raft messages on the wire between stores: pure code, no I/O.
 *
 * The transport (transport.h) sends frames of the RPC framing (rpc_frame.h):
 *
 *   method "Raft"       payload: a BatchRaftMessage, every message queued for
 *                       the destination store when the previous write ended
 *   method "RaftChunk"  payload: a RaftMessageChunk, one piece of a message
 *                       too large for one frame (a snapshot)
 *
 * (both in common/proto/raft_serverpb.proto). A message is encoded once, by
 * the thread that sends it; a batch is those encodings put side by side with
 * the field header of `repeated RaftMessage msgs = 1`, which is exactly how
 * protobuf encodes the BatchRaftMessage, so nothing is encoded twice.
 *
 * The receiving side (wire_rx_t) decodes frames of one connection: batches
 * come out as messages at once; chunks are put together in order and come
 * out whole after the last one (batches may come between two pieces: the
 * sender lets small messages through while a snapshot streams). Anything else (another method, a
 * payload that does not decode, a piece of another message before the last one ended, a message
 * over the size limit) is an error, and the connection it came on should be closed: its stream can
 * no longer be trusted.
 */
#ifndef TKV_RUNTIME_RAFT_WIRE_H
#define TKV_RUNTIME_RAFT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "proto/raft_serverpb.pb-c.h"
#include "proto/rpcpb.pb-c.h"

#define WIRE_METHOD_BATCH "Raft"
#define WIRE_METHOD_CHUNK "RaftChunk"

/* One encoded RaftMessage, as queued for sending. */
typedef struct wire_msg {
    struct wire_msg *next;
    size_t len;
    uint8_t data[];
} wire_msg_t;

/* Encodes `m`. The caller frees the result with free(). */
wire_msg_t *wire_msg_encode(const RaftServerpb__RaftMessage *m);

/* The bytes a message adds to a batch payload (its field header included). */
size_t wire_batch_cost(const wire_msg_t *m);

/* Appends to `out` one "Raft" frame holding the `n` messages linked from
 * `first`. TKV_ERR_INVALID when the payload would be over RPC_FRAME_MAX. */
tkv_err_t wire_batch_frame(const wire_msg_t *first, size_t n, tkv_buf_t *out);

/* Appends to `out` one "RaftChunk" frame: bytes [off, off+len) of `m`, the
 * message numbered `id`; the last piece is the one that reaches m->len. */
tkv_err_t wire_chunk_frame(uint64_t id, const wire_msg_t *m, size_t off, size_t len,
                           tkv_buf_t *out);

/* Called for each message received; it owns `msg` (free with
 * raft_serverpb__raft_message__free_unpacked(msg, NULL)). */
typedef void (*wire_deliver_fn)(void *arg, RaftServerpb__RaftMessage *msg);

/* The receiving state of one connection. */
typedef struct {
    tkv_buf_t whole;  /* pieces so far of the message being put together */
    uint64_t id;      /* its id */
    uint64_t total;   /* and its announced length */
    int active;       /* a message is being put together */
    size_t max_bytes; /* the largest message accepted */
} wire_rx_t;

void wire_rx_init(wire_rx_t *rx, size_t max_bytes);
void wire_rx_free(wire_rx_t *rx);

/* Takes one frame of the connection: delivers the messages it completes
 * (their count in *delivered). TKV_ERR_INVALID or TKV_ERR_CORRUPT, with the
 * reason, when the frame breaks the rules above; messages delivered before
 * the error stay delivered. `f` is borrowed. */
tkv_err_t wire_rx_frame(wire_rx_t *rx, const Rpcpb__RpcFrame *f, wire_deliver_fn deliver, void *arg,
                        size_t *delivered);

#endif
