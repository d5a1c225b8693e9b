/*
 * An RPC server: one protobuf-c service over TCP, on libuv.
 *
 * Requests and replies are RpcFrames (rpc_frame.h). For each request frame
 * the server looks the method up by name in the service descriptor, decodes
 * the payload as the method's input type, makes an empty response of its
 * output type, calls the handler the method table gives for that name, and
 * sends the encoded response back with the request's call_id. Failures come
 * back as a status with a message, so the client can say what went wrong:
 *
 *   STATUS_UNKNOWN_METHOD  no such method in the service, or none in the table
 *   STATUS_BAD_REQUEST     the payload is not the method's input type
 *   STATUS_INTERNAL        the handler returned an error (its tkv_last_error())
 *
 * A connection that sends a frame that cannot be decoded at all (zero or
 * oversized length, garbage) is out of step: the server logs why, sends one
 * STATUS_BAD_FRAME frame with call_id 0 and the reason, and closes that
 * connection alone. Other connections, and data already stored, are not
 * affected. A peer that half-closes still gets the replies to what it sent.
 * A request payload over RPC_REQUEST_MAX, or with a string field holding a
 * NUL byte, gets STATUS_BAD_REQUEST. Memory a peer can make the server hold
 * is bounded (see the limits below).
 *
 * Threads: the event loop runs in the thread that calls rpc_server_run();
 * handlers run in libuv's thread pool (uv_queue_work), so a slow handler never
 * stalls I/O for other calls. HANDLERS MUST THEREFORE BE THREAD-SAFE: several
 * may run at once, on different threads, with the same ctx. Replies on one
 * connection may come back in a different order from the requests; call_id
 * matches them.
 *
 *     rpc_server_t *s;
 *     rpc_server_new(&tinykvpb__tiny_kv__descriptor, methods, storage, &s);
 *     rpc_server_listen(s, "127.0.0.1", 0);
 *     ... rpc_server_port(s) ...
 *     rpc_server_run(s);        // another thread or a signal calls rpc_server_stop(s)
 *     rpc_server_free(s);
 *
 * Ownership: the caller owns the server and frees it with rpc_server_free()
 * after rpc_server_run() returned (or without ever running it). `service`,
 * `methods` and `ctx` are borrowed for the server's whole life. A handler
 * borrows `req` for the call; it fills `resp` (allocated and initialised by
 * the server) with malloc'd fields only, and the server frees it with
 * protobuf_c_message_free_unpacked().
 */
#ifndef TKV_COMMON_RPC_SERVER_H
#define TKV_COMMON_RPC_SERVER_H

#include <protobuf-c/protobuf-c.h>

#include "common/cli.h"
#include "common/err.h"

typedef tkv_err_t (*rpc_handler_fn)(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* One served method: its name as in the .proto service, its handler, and
 * optionally the ctx its handler gets (NULL: the server's ctx). A table of
 * them ends with { NULL, NULL }. A per-method ctx lets one server serve
 * methods of different layers: tinykv-server serves project 1's raw API
 * (ctx: the storage) and project 4's Kv* API (ctx: storage and latches). */
typedef struct {
    const char *method;
    rpc_handler_fn fn;
    void *ctx;
} rpc_method_t;

/* Copies the entries of the { NULL, NULL }-terminated table `src` into
 * dst[n..], giving each `ctx`, and terminates dst. Returns the new count,
 * or (size_t)-1 when dst (of `cap` entries, terminator included) is full. */
size_t rpc_methods_append(rpc_method_t *dst, size_t n, size_t cap, const rpc_method_t *src,
                          void *ctx);

typedef struct rpc_server rpc_server_t;

/* A server for `service` whose handlers are `methods`. Every name in the
 * table must be a method of the service (TKV_ERR_INVALID otherwise); methods
 * of the service missing from the table answer STATUS_UNKNOWN_METHOD. */
tkv_err_t rpc_server_new(const ProtobufCServiceDescriptor *service, const rpc_method_t *methods,
                         void *ctx, rpc_server_t **out);

/* Binds and listens on host:port (a numeric address or a name such as
 * "localhost"); port 0 picks a free port, see rpc_server_port(). Call once,
 * before rpc_server_run(). TKV_ERR_NET when the address cannot be used. */
tkv_err_t rpc_server_listen(rpc_server_t *s, const char *host, int port);

/* The port listened on (the chosen one after port 0), or -1 before listening. */
int rpc_server_port(const rpc_server_t *s);

/* Serves until rpc_server_stop(); then closes every connection, waits for
 * running handlers to finish and returns TKV_OK. Call once, after listening. */
tkv_err_t rpc_server_run(rpc_server_t *s);

/* Asks the server to stop. Safe from any thread and from a signal handler;
 * calling it again, or before rpc_server_run(), is harmless. */
void rpc_server_stop(rpc_server_t *s);

/* rpc_server_run() for a program's main server: SIGINT and SIGTERM stop it
 * cleanly. The handlers are installed for the run and set to ignore the
 * signals afterwards, so a late signal cannot reach a server being freed.
 * One such server per process. */
tkv_err_t rpc_server_run_until_signal(rpc_server_t *s);

/* The serving half of a server program's main(): a server for `service` on
 * opts' address, run until SIGINT or SIGTERM, then freed. Once listening it
 * prints "PROG: listening on ADDR, data in DIR" on stdout: scripts wait for
 * that line, and with port 0 it is the only way to learn the port. Returns
 * the exit status: 0 after a clean stop, 1 when the server could not start or
 * failed (the reason printed on stderr). `ctx` stays the caller's: free it
 * after this returns, when no handler can run any more. */
int rpc_server_main(const char *prog, const ProtobufCServiceDescriptor *service,
                    const rpc_method_t *methods, void *ctx, const cli_server_opts_t *opts);

/* ---- limits: what a client can make the server hold ---------------------------
 * reply_queue_max: bytes of replies queued for writing on one connection
 *   before the server stops reading it (it resumes when they drain). A
 *   client that sends and never reads costs at most this plus the replies of
 *   the calls already running (64 per connection).
 * partial_budget: bytes read but not yet whole frames, over all connections
 *   together. The read that takes the total past it closes its connection
 *   with a STATUS_BAD_FRAME frame saying so.
 * 0 in either means the default (4 MiB and 64 MiB). Set before running. */
typedef struct {
    size_t reply_queue_max;
    size_t partial_budget;
} rpc_server_limits_t;

void rpc_server_set_limits(rpc_server_t *s, const rpc_server_limits_t *limits);
rpc_server_limits_t rpc_server_limits(const rpc_server_t *s);

/* What the server holds now and has held at most, for tests and operators.
 * Safe from any thread while the server runs (each field read on its own). */
typedef struct {
    size_t reply_bytes_queued, reply_bytes_peak; /* all connections' reply queues */
    size_t frame_bytes_held, frame_bytes_peak;   /* bytes in decoders (partial frames) */
    int conns_paused;                            /* not read: reply queue full */
    int calls_running;                           /* in the thread pool */
    unsigned long conns_over_budget;             /* closed for the partial budget */
} rpc_server_stats_t;

void rpc_server_stats(rpc_server_t *s, rpc_server_stats_t *out);

/* Releases everything. Not while rpc_server_run() is running. NULL is fine. */
void rpc_server_free(rpc_server_t *s);

#endif
