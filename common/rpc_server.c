/*
 * The RPC server of rpc_server.h.
 *
 * Life of a call: on_read() feeds the connection's decoder; conn_drain()
 * takes whole frames out and queues each as a call_t in libuv's thread pool;
 * call_work() (pool thread) dispatches it and encodes the reply; call_done()
 * (loop thread) writes the reply if the connection is still open.
 *
 * A connection is freed only when both its handle is closed and no call of
 * its is still in the pool, so a reply that finishes after the client went
 * away finds its connection and drops the reply rather than writing to freed
 * memory.
 *
 * Back-pressure (what a client that sends and never reads can cost us):
 *  - at most MAX_INFLIGHT calls per connection are in the pool;
 *  - replies handed to uv_write() and not yet written count against the
 *    connection's reply queue: once it holds reply_queue_max bytes the
 *    server takes no new call from that connection and stops reading it,
 *    and on_write() resumes it when the queue drains below the bound. A
 *    connection thus holds at most reply_queue_max + MAX_INFLIGHT replies
 *    (the calls already in the pool still answer);
 *  - bytes read but not yet taken out as frames (partial frames, mostly)
 *    count against one budget shared by every connection, partial_budget.
 *    A read that takes the total past it closes that connection (after a
 *    STATUS_BAD_FRAME frame saying so): a peer that starts 16 MiB frames and
 *    never finishes them cannot hold more than the budget, plus one read.
 *
 * Ending a connection: when the peer half-closes (EOF), the calls already
 * received are still answered and then the connection is closed, with
 * uv_shutdown() so that queued replies are flushed first. When the stream
 * cannot be decoded, the peer gets one STATUS_BAD_FRAME frame saying why and
 * the connection is closed the same way. Network errors close at once.
 *
 * Stopping: rpc_server_stop() sends on a uv_async handle (the one libuv call
 * that is safe from other threads and from signal handlers); its callback on
 * the loop thread closes the listener, every connection and the async handle
 * itself. uv_run() then returns once the pool has drained.
 */
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/pb_check.h"
#include "common/rpc_frame.h"
#include "common/rpc_server.h"

#define MAX_INFLIGHT 64
#define READ_CHUNK   (64 * 1024)
/* Defaults of rpc_server_limits_t. */
#define REPLY_QUEUE_MAX (4u * 1024u * 1024u)
#define PARTIAL_BUDGET  (64u * 1024u * 1024u)

typedef struct conn conn_t;

struct conn {
    uv_tcp_t tcp;
    rpc_server_t *srv;
    rpc_decoder_t dec;
    char peer[64]; /* for log lines */
    int pending;   /* calls of this connection in the thread pool */
    size_t queued; /* bytes of replies given to uv_write() and not yet written */
    size_t held;   /* bytes in the decoder, as counted in the server's partial total */
    int reading;
    int paused;    /* not read because its reply queue is full (counted in stats) */
    int eof;       /* the peer will send no more */
    int finishing; /* conn_finish() called: closing once writes are out */
    int closing;   /* uv_close() called */
    int closed;    /* its close callback ran */
    conn_t *prev, *next;
    char rbuf[READ_CHUNK];
};

typedef struct {
    uv_work_t work;
    conn_t *conn;
    Rpcpb__RpcFrame *frame; /* the request */
    char *flaw;             /* malloc'd: why the frame is refused (rpc_decoder_flaw); NULL: sound */
    tkv_buf_t reply;        /* the encoded reply frame, filled in the pool */
} call_t;

typedef struct {
    uv_write_t req;
    tkv_buf_t data;
} write_req_t;

/* Written on the loop thread, read from any (rpc_server_stats). */
typedef struct {
    atomic_size_t queued, queued_peak, held, held_peak;
    atomic_int paused, running;
    atomic_ulong over_budget;
} server_counters_t;

struct rpc_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t stop_async;
    const ProtobufCServiceDescriptor *service;
    const rpc_method_t *methods;
    void *ctx;
    int listener_open; /* uv_tcp_init'ed and not yet closed */
    int port;
    int async_open;
    int ran;
    atomic_int stop_requested;
    conn_t *conns; /* open connections, a doubly linked list */
    rpc_server_limits_t limits;
    server_counters_t stats;
};

/* ---- accounting (loop thread) ------------------------------------------------ */

static void raise_peak(atomic_size_t *peak, size_t now)
{
    if (now > atomic_load(peak))
        atomic_store(peak, now);
}

static void count_queued(rpc_server_t *s, conn_t *c, size_t add, size_t sub)
{
    c->queued = c->queued + add - sub;
    size_t now = atomic_load(&s->stats.queued) + add - sub;
    atomic_store(&s->stats.queued, now);
    raise_peak(&s->stats.queued_peak, now);
}

/* Brings the server's total of decoder bytes up to date with c's decoder. */
static void count_held(rpc_server_t *s, conn_t *c)
{
    size_t mine = c->closed ? 0 : rpc_decoder_pending(&c->dec);
    size_t now = atomic_load(&s->stats.held) - c->held + mine;
    c->held = mine;
    atomic_store(&s->stats.held, now);
    raise_peak(&s->stats.held_peak, now);
}

static void set_paused(conn_t *c, int paused)
{
    if (c->paused == paused)
        return;
    c->paused = paused;
    atomic_fetch_add(&c->srv->stats.paused, paused ? 1 : -1);
}

/* Whether c may hand another call to the pool (and so be read from). */
static int conn_can_take(const conn_t *c)
{
    return c->pending < MAX_INFLIGHT && c->queued < c->srv->limits.reply_queue_max;
}

/* ---- dispatch (thread pool) ------------------------------------------------ */

static const rpc_method_t *find_method(const rpc_server_t *s, const char *name)
{
    for (const rpc_method_t *m = s->methods; m->method != NULL; m++) {
        if (strcmp(m->method, name) == 0)
            return m;
    }
    return NULL;
}

size_t rpc_methods_append(rpc_method_t *dst, size_t n, size_t cap, const rpc_method_t *src,
                          void *ctx)
{
    for (const rpc_method_t *m = src; m->method != NULL; m++) {
        if (n + 1 >= cap)
            return (size_t)-1;
        dst[n] = *m;
        dst[n].ctx = ctx;
        n++;
    }
    dst[n].method = NULL;
    dst[n].fn = NULL;
    dst[n].ctx = NULL;
    return n;
}

/* Runs one request and fills rep (status, error text in `err`, payload in
 * `*payload`, malloc'd). */
static void dispatch(const rpc_server_t *s, const Rpcpb__RpcFrame *req, const char *flaw,
                     Rpcpb__RpcFrame *rep, char *err, size_t errsize, uint8_t **payload)
{
    if (flaw != NULL) {
        rep->status = RPCPB__STATUS__STATUS_BAD_REQUEST;
        snprintf(err, errsize, "bad request frame: %s", flaw);
        return;
    }
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(s->service, req->method);
    if (md == NULL) {
        rep->status = RPCPB__STATUS__STATUS_UNKNOWN_METHOD;
        snprintf(err, errsize, "no method '%s' in service %s", req->method, s->service->name);
        return;
    }
    const rpc_method_t *m = find_method(s, md->name);
    if (m == NULL) {
        rep->status = RPCPB__STATUS__STATUS_UNKNOWN_METHOD;
        snprintf(err, errsize, "method %s.%s is not served by this server", s->service->name,
                 md->name);
        return;
    }
    if (req->payload.len > RPC_REQUEST_MAX) {
        rep->status = RPCPB__STATUS__STATUS_BAD_REQUEST;
        snprintf(err, errsize,
                 "request of %zu bytes for %s is over the %u byte limit for requests (replies "
                 "need room for what a request stores)",
                 req->payload.len, md->name, RPC_REQUEST_MAX);
        return;
    }
    /* A string cut at a NUL byte would mean something else than was sent. */
    if (pb_check_strings(md->input, req->payload.data, req->payload.len) != TKV_OK) {
        rep->status = RPCPB__STATUS__STATUS_BAD_REQUEST;
        snprintf(err, errsize, "%s: %s", md->name, tkv_last_error());
        return;
    }
    ProtobufCMessage *in =
        protobuf_c_message_unpack(md->input, NULL, req->payload.len, req->payload.data);
    if (in == NULL) {
        rep->status = RPCPB__STATUS__STATUS_BAD_REQUEST;
        snprintf(err, errsize, "payload of %zu bytes for %s is not a %s", req->payload.len,
                 md->name, md->input->name);
        return;
    }
    ProtobufCMessage *out = xmalloc(md->output->sizeof_message);
    protobuf_c_message_init(md->output, out);
    tkv_err_t e = m->fn(m->ctx != NULL ? m->ctx : s->ctx, in, out);
    if (e != TKV_OK) {
        rep->status = RPCPB__STATUS__STATUS_INTERNAL;
        snprintf(err, errsize, "%s failed: %s: %s", md->name, tkv_strerror(e), tkv_last_error());
    } else {
        size_t len = protobuf_c_message_get_packed_size(out);
        *payload = xmalloc(len ? len : 1);
        protobuf_c_message_pack(out, *payload);
        rep->payload.data = *payload;
        rep->payload.len = len;
    }
    protobuf_c_message_free_unpacked(out, NULL);
    protobuf_c_message_free_unpacked(in, NULL);
}

static void call_work(uv_work_t *w)
{
    call_t *call = w->data;
    const rpc_server_t *s = call->conn->srv;
    const Rpcpb__RpcFrame *req = call->frame;
    Rpcpb__RpcFrame rep = RPCPB__RPC_FRAME__INIT;
    char err[1400] = "";
    uint8_t *payload = NULL;
    rep.call_id = req->call_id;
    rep.method = req->method;
    dispatch(s, req, call->flaw, &rep, err, sizeof(err), &payload);
    rep.error = err;
    if (rpc_frame_encode(&rep, &call->reply) != TKV_OK) {
        /* The response is over the frame limit: say so instead. */
        tkv_logf(TKV_LOG_WARN, "rpc", "%s", tkv_last_error());
        snprintf(err, sizeof(err), "the response of %s is too large: %s", req->method,
                 tkv_last_error());
        rep.status = RPCPB__STATUS__STATUS_INTERNAL;
        rep.payload.data = NULL;
        rep.payload.len = 0;
        buf_clear(&call->reply);
        rpc_frame_encode(&rep, &call->reply);
    }
    free(payload);
}

/* ---- connections (loop thread) ---------------------------------------------- */

static void conn_drain(conn_t *c);

static void conn_maybe_free(conn_t *c)
{
    if (c->closed && c->pending == 0) {
        rpc_decoder_free(&c->dec);
        free(c);
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    rpc_server_t *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->closed = 1;
    count_held(s, c);
    set_paused(c, 0);
    conn_maybe_free(c);
}

/* Closes at once; writes still queued are cancelled. */
static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn_t *c = req->data;
    (void)status;
    free(req);
    conn_close(c);
}

/* Closes after the writes already queued have gone out: uv_shutdown() waits
 * for them, where uv_close() would cancel them. Nothing more is read or
 * written on the connection after this. */
static void conn_finish(conn_t *c)
{
    if (c->closing || c->finishing)
        return;
    c->finishing = 1;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(req);
        conn_close(c);
    }
}

static void on_write(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    conn_t *c = req->data;
    count_queued(c->srv, c, 0, w->data.len);
    if (status < 0 && status != UV_ECANCELED) {
        tkv_logf(TKV_LOG_INFO, "rpc", "closing connection from %s: write failed: %s", c->peer,
                 uv_strerror(status));
        conn_close(c);
    }
    buf_free(&w->data);
    free(w);
    /* The reply queue drained below its bound: take calls and read again. */
    if (c->paused && !c->closing && !c->finishing && conn_can_take(c))
        conn_drain(c);
}

/* Queues `data` (taken over, left empty) for writing. */
static void conn_write(conn_t *c, tkv_buf_t *data)
{
    write_req_t *w = xmalloc(sizeof(*w));
    w->data = *data;
    buf_init(data);
    w->req.data = c;
    uv_buf_t b = uv_buf_init((char *)w->data.data, (unsigned)w->data.len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r == 0)
        count_queued(c->srv, c, w->data.len, 0);
    if (r < 0) {
        tkv_logf(TKV_LOG_INFO, "rpc", "closing connection from %s: cannot write: %s", c->peer,
                 uv_strerror(r));
        buf_free(&w->data);
        free(w);
        conn_close(c);
    }
}

/* The stream cannot be decoded any further: tell the peer why in a
 * STATUS_BAD_FRAME frame (call_id 0, since no call can be named), then close. */
static void conn_fail(conn_t *c, const char *why)
{
    tkv_logf(TKV_LOG_WARN, "rpc", "closing connection from %s: %s", c->peer, why);
    Rpcpb__RpcFrame rep = RPCPB__RPC_FRAME__INIT;
    rep.status = RPCPB__STATUS__STATUS_BAD_FRAME;
    rep.error = (char *)why;
    tkv_buf_t out = TKV_BUF_INIT;
    if (rpc_frame_encode(&rep, &out) == TKV_OK)
        conn_write(c, &out);
    buf_free(&out);
    conn_finish(c);
}

static void call_done(uv_work_t *work, int status)
{
    call_t *call = work->data;
    conn_t *c = call->conn;
    c->pending--;
    atomic_fetch_sub(&c->srv->stats.running, 1);
    if (status == 0 && !c->closing && !c->finishing && call->reply.len > 0)
        conn_write(c, &call->reply);
    buf_free(&call->reply);
    rpcpb__rpc_frame__free_unpacked(call->frame, NULL);
    free(call->flaw);
    free(call);
    if (c->closing)
        conn_maybe_free(c);
    else if (!c->finishing)
        conn_drain(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;
    (void)suggested;
    /* The decoder copies what it is fed, so one buffer per connection does. */
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    if (nread == UV_EOF) {
        /* The peer has sent everything it will send. It may still be waiting
         * for replies (a half-close), so answer what is queued, then close. */
        c->eof = 1;
        uv_read_stop(st);
        c->reading = 0;
    } else if (nread < 0) {
        tkv_logf(TKV_LOG_INFO, "rpc", "connection from %s: %s", c->peer, uv_strerror((int)nread));
        conn_close(c);
        return;
    } else if (nread > 0) {
        rpc_decoder_feed(&c->dec, buf->base, (size_t)nread);
    }
    conn_drain(c);
    rpc_server_t *s = c->srv;
    if (c->held > 0 && !c->closing && !c->finishing &&
        atomic_load(&s->stats.held) > s->limits.partial_budget) {
        atomic_fetch_add(&s->stats.over_budget, 1);
        char why[200];
        snprintf(why, sizeof(why),
                 "the server's budget for unfinished frames (%zu bytes, all connections) is "
                 "used up; this connection held %zu",
                 s->limits.partial_budget, c->held);
        conn_fail(c, why);
    }
}

/* Queues every whole frame received, while conn_can_take(), and starts or
 * stops reading to match. After the peer's EOF, closes once every call is
 * answered. */
static void conn_drain(conn_t *c)
{
    rpc_server_t *s = c->srv;
    while (!c->closing && !c->finishing && conn_can_take(c)) {
        Rpcpb__RpcFrame *f = NULL;
        if (rpc_decoder_next(&c->dec, &f) != TKV_OK) {
            conn_fail(c, tkv_last_error());
            return;
        }
        if (f == NULL)
            break;
        call_t *call = xcalloc(1, sizeof(*call));
        call->work.data = call;
        call->conn = c;
        call->frame = f;
        const char *flaw = rpc_decoder_flaw(&c->dec);
        if (flaw != NULL) {
            call->flaw = xmalloc(strlen(flaw) + 1);
            memcpy(call->flaw, flaw, strlen(flaw) + 1);
        }
        buf_init(&call->reply);
        int r = uv_queue_work(&s->loop, &call->work, call_work, call_done);
        if (r < 0) {
            tkv_logf(TKV_LOG_ERROR, "rpc", "closing connection from %s: cannot queue a call: %s",
                     c->peer, uv_strerror(r));
            rpcpb__rpc_frame__free_unpacked(f, NULL);
            free(call->flaw);
            free(call);
            conn_close(c);
            return;
        }
        c->pending++;
        atomic_fetch_add(&s->stats.running, 1);
    }
    count_held(s, c);
    if (c->closing || c->finishing)
        return;
    if (c->eof) {
        if (c->pending == 0) {
            if (rpc_decoder_pending(&c->dec) > 0)
                tkv_logf(TKV_LOG_WARN, "rpc",
                         "connection from %s ended in the middle of a frame (%zu bytes of it)",
                         c->peer, rpc_decoder_pending(&c->dec));
            conn_finish(c);
        }
        return;
    }
    set_paused(c, c->queued >= s->limits.reply_queue_max);
    if (!conn_can_take(c) && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    } else if (conn_can_take(c) && !c->reading) {
        int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        if (r < 0) {
            tkv_logf(TKV_LOG_WARN, "rpc", "closing connection from %s: cannot read: %s", c->peer,
                     uv_strerror(r));
            conn_close(c);
            return;
        }
        c->reading = 1;
    }
}

static void describe_peer(conn_t *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(c->peer, sizeof(c->peer), "an unknown peer");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, host, sizeof(host));
        port = ntohs(a->sin6_port);
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
}

static void on_connection(uv_stream_t *listener, int status)
{
    rpc_server_t *s = listener->data;
    if (status < 0) {
        tkv_logf(TKV_LOG_WARN, "rpc", "accept failed: %s", uv_strerror(status));
        return;
    }
    conn_t *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    rpc_decoder_init(&c->dec);
    uv_tcp_init(&s->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    int r = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (r < 0) {
        tkv_logf(TKV_LOG_WARN, "rpc", "accept failed: %s", uv_strerror(r));
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1); /* small request/reply frames: do not wait to batch */
    describe_peer(c);
    tkv_logf(TKV_LOG_DEBUG, "rpc", "connection from %s", c->peer);
    conn_drain(c); /* starts reading */
}

/* ---- the server ------------------------------------------------------------- */

void rpc_server_set_limits(rpc_server_t *s, const rpc_server_limits_t *limits)
{
    s->limits.reply_queue_max = limits->reply_queue_max ? limits->reply_queue_max : REPLY_QUEUE_MAX;
    s->limits.partial_budget = limits->partial_budget ? limits->partial_budget : PARTIAL_BUDGET;
}

rpc_server_limits_t rpc_server_limits(const rpc_server_t *s)
{
    return s->limits;
}

void rpc_server_stats(rpc_server_t *s, rpc_server_stats_t *out)
{
    out->reply_bytes_queued = atomic_load(&s->stats.queued);
    out->reply_bytes_peak = atomic_load(&s->stats.queued_peak);
    out->frame_bytes_held = atomic_load(&s->stats.held);
    out->frame_bytes_peak = atomic_load(&s->stats.held_peak);
    out->conns_paused = atomic_load(&s->stats.paused);
    out->conns_over_budget = atomic_load(&s->stats.over_budget);
    out->calls_running = atomic_load(&s->stats.running);
}

static void close_everything(rpc_server_t *s)
{
    if (s->listener_open) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->listener_open = 0;
    }
    for (conn_t *c = s->conns; c != NULL; c = c->next)
        conn_close(c);
    if (s->async_open) {
        uv_close((uv_handle_t *)&s->stop_async, NULL);
        s->async_open = 0;
    }
}

static void on_stop(uv_async_t *a)
{
    rpc_server_t *s = a->data;
    tkv_logf(TKV_LOG_INFO, "rpc", "stopping: closing the listener and every connection");
    close_everything(s);
}

tkv_err_t rpc_server_new(const ProtobufCServiceDescriptor *service, const rpc_method_t *methods,
                         void *ctx, rpc_server_t **out)
{
    *out = NULL;
    for (const rpc_method_t *m = methods; m->method != NULL; m++) {
        if (m->fn == NULL ||
            protobuf_c_service_descriptor_get_method_by_name(service, m->method) == NULL)
            return tkv_errorf(TKV_ERR_INVALID, "method table entry '%s' is not a method of %s%s",
                              m->method, service->name, m->fn == NULL ? " or has no handler" : "");
    }
    rpc_server_t *s = xcalloc(1, sizeof(*s));
    int r = uv_loop_init(&s->loop);
    if (r < 0) {
        free(s);
        return tkv_errorf(TKV_ERR_IO, "cannot start an event loop: %s", uv_strerror(r));
    }
    r = uv_async_init(&s->loop, &s->stop_async, on_stop);
    if (r < 0) {
        uv_loop_close(&s->loop);
        free(s);
        return tkv_errorf(TKV_ERR_IO, "cannot make the stop signal: %s", uv_strerror(r));
    }
    s->stop_async.data = s;
    s->async_open = 1;
    s->service = service;
    s->methods = methods;
    s->ctx = ctx;
    s->port = -1;
    s->limits.reply_queue_max = REPLY_QUEUE_MAX;
    s->limits.partial_budget = PARTIAL_BUDGET;
    atomic_init(&s->stop_requested, 0);
    /* A peer that hangs up while we write must cost a write error, not the
     * process: SIGPIPE's default action is to terminate. A handler the
     * program installed itself is left alone. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    *out = s;
    return TKV_OK;
}

tkv_err_t rpc_server_listen(rpc_server_t *s, const char *host, int port)
{
    if (s->listener_open || s->port >= 0)
        return tkv_errorf(TKV_ERR_INVALID, "the server is already listening on port %d", s->port);
    if (port < 0 || port > 65535)
        return tkv_errorf(TKV_ERR_INVALID, "port %d is not between 0 and 65535", port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int g = getaddrinfo(host, portstr, &hints, &ai);
    if (g != 0)
        return tkv_errorf(TKV_ERR_NET, "cannot listen on %s:%d: %s", host, port, gai_strerror(g));
    uv_tcp_init(&s->loop, &s->listener);
    s->listener.data = s;
    s->listener_open = 1;
    int r = uv_tcp_bind(&s->listener, ai->ai_addr, 0);
    freeaddrinfo(ai);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (r < 0) {
        /* Close now so that listen can be retried on another address. */
        uv_close((uv_handle_t *)&s->listener, NULL);
        s->listener_open = 0;
        uv_run(&s->loop, UV_RUN_NOWAIT);
        return tkv_errorf(TKV_ERR_NET, "cannot listen on %s:%d: %s", host, port, uv_strerror(r));
    }
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6)
        s->port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    else
        s->port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    tkv_logf(TKV_LOG_INFO, "rpc", "serving %s on %s:%d", s->service->name, host, s->port);
    return TKV_OK;
}

int rpc_server_port(const rpc_server_t *s)
{
    return s->port;
}

tkv_err_t rpc_server_run(rpc_server_t *s)
{
    if (s->ran)
        return tkv_errorf(TKV_ERR_CLOSED, "the server has already run; make a new one");
    if (!s->listener_open)
        return tkv_errorf(TKV_ERR_INVALID, "the server is not listening: call rpc_server_listen "
                                           "first");
    s->ran = 1;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return TKV_OK;
}

void rpc_server_stop(rpc_server_t *s)
{
    /* atomic_exchange and uv_async_send are both async-signal-safe; the flag
     * keeps us from sending on a handle that on_stop already closed. */
    if (atomic_exchange(&s->stop_requested, 1) == 0)
        uv_async_send(&s->stop_async);
}

void rpc_server_free(rpc_server_t *s)
{
    if (s == NULL)
        return;
    /* Whatever is still open (the server never ran, or was never stopped)
     * is closed here, and the loop runs until the close callbacks are done. */
    close_everything(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    int r = uv_loop_close(&s->loop);
    if (r < 0)
        tkv_logf(TKV_LOG_ERROR, "rpc", "event loop still busy at free: %s", uv_strerror(r));
    free(s);
}

/* ---- running a program's main server ------------------------------------- */

static rpc_server_t *volatile signalled_server;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (signalled_server != NULL)
        rpc_server_stop(signalled_server); /* async-signal-safe: uv_async_send */
}

/* SIGINT and SIGTERM stop s (server NULL: ignored again). */
static void catch_stop_signals(rpc_server_t *s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = s != NULL ? on_stop_signal : SIG_IGN;
    if (s != NULL)
        signalled_server = s;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (s == NULL)
        signalled_server = NULL;
}

tkv_err_t rpc_server_run_until_signal(rpc_server_t *s)
{
    catch_stop_signals(s);
    tkv_err_t e = rpc_server_run(s);
    catch_stop_signals(NULL);
    return e;
}

int rpc_server_main(const char *prog, const ProtobufCServiceDescriptor *service,
                    const rpc_method_t *methods, void *ctx, const cli_server_opts_t *opts)
{
    rpc_server_t *server = NULL;
    tkv_err_t e = rpc_server_new(service, methods, ctx, &server);
    if (e == TKV_OK)
        e = rpc_server_listen(server, opts->host, opts->port);
    if (e == TKV_OK) {
        /* Signals are caught before the line that tells scripts we are up:
         * a SIGTERM sent right after it must stop us cleanly, not kill us. */
        catch_stop_signals(server);
        char shown[300];
        cli_format_addr(opts->host, rpc_server_port(server), shown, sizeof(shown));
        printf("%s: listening on %s, data in %s\n", prog, shown, opts->data_dir);
        fflush(stdout);
        e = rpc_server_run(server);
        catch_stop_signals(NULL);
    }
    rpc_server_free(server);
    if (e != TKV_OK) {
        fprintf(stderr, "%s: %s\n", prog, tkv_last_error());
        return 1;
    }
    tkv_logf(TKV_LOG_INFO, prog, "stopped cleanly");
    return 0;
}
