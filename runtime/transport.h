/*
 * The Raft transport between stores: Raft messages over TCP, on libuv.
 *
 * Each store runs one transport. It listens for the other stores and keeps
 * one outgoing connection per store it sends to:
 *
 *   transport_send(store 2, msg)          any thread: encode, queue, wake the loop
 *        |
 *        v
 *   queue of store 2 (bounded) --+        loop thread: when the previous write
 *   queue of store 3 (bounded) --+-->     to that store is done, everything queued
 *                                         goes out as ONE frame (a batch)
 *
 * - Addresses come from a resolver callback (store id -> "host:port"); the
 *   store will answer it from the scheduler. It is asked at every (re)connect,
 *   so a store that moved is found again.
 * - A connection that fails or breaks is retried after a backoff that starts
 *   at backoff_min_ms and doubles up to backoff_max_ms; a connect that works
 *   resets it. Messages wait in the queue meanwhile; the ones in a write that
 *   a broken connection took with it are lost (counted): Raft resends.
 * - transport_send() never waits: when the queue of a store is full (the store
 *   is down, slow, or stopped reading) the message is dropped, counted, and
 *   TKV_ERR_BUSY returned. Raft treats it as a lost message. A slow store
 *   costs its own queue, never the sender's time nor the other stores' queues.
 * - A message larger than batch_bytes (a snapshot) is sent in pieces of
 *   chunk_bytes, each its own frame, with batches of small messages let
 *   through between two pieces so heartbeats keep flowing. Messages over
 *   max_message_bytes are refused on both sides.
 * - Received frames are decoded per connection (raft_wire.h); a connection
 *   that sends anything else (garbage, another method, an oversized message,
 *   a frame longer than this transport's own batch_bytes or chunk_bytes
 *   allow) is closed, alone, and counted; every other connection goes on.
 *   So the stores of one cluster must use the same sizes. At most
 *   max_incoming connections are open at once; more are closed on arrival.
 *
 * Threads: the transport runs its own libuv loop on its own thread. The
 * resolver and deliver callbacks run on that thread and must not block:
 * deliver hands the message on (to the batch system's router) and returns.
 * transport_send() and transport_stats() are safe from any thread.
 *
 * Ownership: the caller owns the transport (transport_free()). `msg` passed
 * to transport_send() is borrowed (encoded at once). A delivered message is
 * the deliver callback's to free with raft_serverpb__raft_message__free_unpacked().
 */
#ifndef TKV_RUNTIME_TRANSPORT_H
#define TKV_RUNTIME_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/raft_serverpb.pb-c.h"

/* Writes the address of `store_id` ("host:port", numeric host or localhost)
 * into addr[0..size). TKV_ERR_NOT_FOUND when the store is unknown. */
typedef tkv_err_t (*transport_resolve_fn)(void *arg, uint64_t store_id, char *addr, size_t size);

/* A received message, owned by the callee. */
typedef void (*transport_deliver_fn)(void *arg, RaftServerpb__RaftMessage *msg);

typedef struct {
    size_t queue_cap;         /* small messages waiting per store (default 4096) */
    size_t big_queue_cap;     /* large messages waiting per store (default 4) */
    size_t batch_bytes;       /* a batch frame at most; larger messages are chunked (1 MiB) */
    size_t chunk_bytes;       /* the size of one piece (default 1 MiB) */
    size_t max_message_bytes; /* the largest message sent or received (default 256 MiB) */
    uint32_t backoff_min_ms;  /* the first retry after a failure (default 50) */
    uint32_t backoff_max_ms;  /* the longest wait between retries (default 3000) */
    size_t max_incoming;      /* incoming connections open at once (default 1024) */
    transport_resolve_fn resolve;
    void *resolve_arg;
    transport_deliver_fn deliver;
    void *deliver_arg;
} transport_config_t;

/* The defaults above; the callbacks are left NULL. */
void transport_config_default(transport_config_t *cfg);

typedef struct {
    uint64_t sent_msgs, sent_frames, sent_bytes; /* written to a socket */
    uint64_t dropped_full;     /* refused by transport_send(): the store's queue was full */
    uint64_t dropped_broken;   /* lost in a write whose connection broke */
    uint64_t connects;         /* outgoing connections made */
    uint64_t connect_failures; /* resolve or connect attempts that failed */
    uint64_t recv_msgs, recv_frames;
    uint64_t bad_conns;     /* incoming connections closed for a bad frame */
    uint64_t refused_conns; /* incoming connections closed at once: max_incoming open */
} transport_stats_t;

typedef struct transport transport_t;

/* A transport that is not yet running. TKV_ERR_INVALID for a bad config
 * (sizes over what one frame can hold, backoffs out of order, no callbacks). */
tkv_err_t transport_new(const transport_config_t *cfg, transport_t **out);

/* Listens on host:port (port 0: any free one, see transport_port()). Before
 * transport_start(), at most once. TKV_ERR_NET when the address is unusable. */
tkv_err_t transport_listen(transport_t *t, const char *host, int port);

/* The port listened on, or -1. */
int transport_port(const transport_t *t);

/* Starts the loop thread. Messages sent before are queued and go out now. */
tkv_err_t transport_start(transport_t *t);

/* Queues `msg` for store `to_store`. TKV_OK: queued (delivery is not
 * promised: Raft messages may be lost). TKV_ERR_BUSY: the store's queue is
 * full, the message is dropped. TKV_ERR_INVALID: over max_message_bytes.
 * TKV_ERR_CLOSED: the transport is stopping. */
tkv_err_t transport_send(transport_t *t, uint64_t to_store, const RaftServerpb__RaftMessage *msg);

/* The same for a message already encoded as a raft_serverpb.RaftMessage
 * (what the store's peers hand their transport), so it is not decoded and
 * encoded again. The bytes are copied; the receiver refuses a connection
 * whose messages do not decode, so they must be a valid encoding. */
tkv_err_t transport_send_encoded(transport_t *t, uint64_t to_store, const uint8_t *data,
                                 size_t len);
/* Corking, for a sender that produces its messages in bursts (the store
 * loop, a round at a time): between transport_cork() and transport_uncork()
 * messages are queued but the loop is not woken, so a burst to one store
 * leaves as one frame instead of a first small frame and then the rest.
 * Not nested; any thread, but meant for the one that sends the bursts. */
void transport_cork(transport_t *t);
void transport_uncork(transport_t *t);
/* Counters so far. */
void transport_stats(transport_t *t, transport_stats_t *out);

/* Closes every connection and joins the loop thread; later sends fail with
 * TKV_ERR_CLOSED. Safe to call twice, and before start. */
void transport_stop(transport_t *t);

/* Stops if needed and frees everything, queued messages included. NULL is fine. */
void transport_free(transport_t *t);

#endif
