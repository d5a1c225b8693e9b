/*
 * The server's link to tinykv-scheduler (frame code): one TCP connection
 * (common/rpc_client.h) and one thread that does the calls the store must
 * not wait for.
 *
 *   store thread: multiraft's requests --sched_link_submit()--> queue (bounded)
 *                                                                  |
 *   link thread:  call the scheduler, one at a time  <-------------+
 *                 answer --> the `reply` callback (the store loop's mailbox)
 *                 every refresh_ms, or when asked: GetAllStores --> address book
 *   transport:    sched_link_resolve(): store id -> address from the book, never blocks
 *
 * The same connection serves sched_link_call(): blocking calls from the
 * server's start-up (AllocId, Bootstrap, PutStore) and its RPC handlers.
 * When the scheduler is down, calls fail fast (a new connection is tried
 * at most every 200 ms), queued requests are dropped (heartbeats come
 * again; a split is asked again), and the address book keeps what it had.
 *
 * Ownership: the caller owns the link (sched_link_free()). `reply` gets
 * bytes borrowed for the call; it runs on the link thread.
 */
#ifndef TKV_SERVER_SCHED_LINK_H
#define TKV_SERVER_SCHED_LINK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef void (*sched_reply_fn)(void *arg, uint64_t id, const char *method, const uint8_t *data,
                               size_t len);

typedef struct sched_link sched_link_t;

/* A link to the scheduler at `addr` (HOST:PORT). Nothing connects yet.
 * `timeout_ms` bounds each call. */
sched_link_t *sched_link_new(const char *addr, int timeout_ms);
/* Starts the thread; answers go to reply(arg, ...). */
tkv_err_t sched_link_start(sched_link_t *l, sched_reply_fn reply, void *arg);

/* A blocking call of the Scheduler service (thread-safe; one at a time on
 * the connection). TKV_OK with *resp the caller's, or an error (rpc_client.h). */
tkv_err_t sched_link_call(sched_link_t *l, const char *method, const ProtobufCMessage *req,
                          ProtobufCMessage **resp);

/* Queues a packed request for the link thread (copied); never blocks.
 * Dropped, and logged at debug level, when the queue is full. */
void sched_link_submit(sched_link_t *l, uint64_t id, const char *method, const uint8_t *data,
                       size_t len);

/* A transport_resolve_fn: the address of store `store_id` from the address
 * book; a miss (TKV_ERR_NOT_FOUND) asks the thread to refresh the book. */
tkv_err_t sched_link_resolve(void *link, uint64_t store_id, char *addr, size_t size);

/* Stops the thread (a call in flight finishes first). Safe twice. */
void sched_link_stop(sched_link_t *l);
void sched_link_free(sched_link_t *l);

#endif
