/*
 * The Raft transport of transport.h.
 *
 * Two kinds of state, kept apart so the locking stays simple:
 *   - under `mu`: the list of peers (one per destination store), each peer's
 *     two queues, and `closed`. Senders touch only these.
 *   - the loop thread's own: everything about connections, timers, the
 *     write in flight and the message being chunked.
 * A sender queues under `mu` and wakes the loop with uv_async_send() (the one
 * libuv call other threads may make); the loop then pumps every peer: a peer
 * with messages and no connection connects, a connected one with no write in
 * flight writes its next frame. One write in flight per connection is what
 * makes batching happen by itself: whatever queued during a write goes out
 * in the next frame, and what makes a slow store's queue fill up and drop.
 *
 * A connection is freed in its close callback; libuv calls the callback of a
 * write that was in flight (with UV_ECANCELED) before that, so a write
 * always finds its connection alive.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/rpc_frame.h"
#include "runtime/raft_wire.h"
#include "runtime/transport.h"

#define READ_CHUNK (64 * 1024)
/* Room for the RpcFrame and chunk headers around a payload. */
#define FRAME_SLACK 256

typedef struct peer peer_t;
typedef struct conn conn_t;

struct conn {
    uv_tcp_t tcp;
    transport_t *t;
    peer_t *peer; /* the store we send to; NULL for an incoming connection */
    rpc_decoder_t dec;
    wire_rx_t rx;
    int writing; /* a write of ours is in flight */
    int closing;
    char who[64];        /* the address, for log lines */
    conn_t *prev, *next; /* incoming connections */
    char rbuf[READ_CHUNK];
};

typedef enum { P_DOWN = 0, P_CONNECTING, P_UP, P_BACKOFF } peer_state_t;

struct peer {
    uint64_t store_id;
    peer_t *next;
    /* under t->mu */
    wire_msg_t *small_head, *small_tail;
    size_t n_small;
    wire_msg_t *big_head, *big_tail;
    size_t n_big;
    /* loop thread only */
    peer_state_t state;
    conn_t *conn; /* while CONNECTING or UP */
    uv_connect_t connect_req;
    uv_timer_t timer;
    int timer_ready;
    uint32_t backoff_ms;
    wire_msg_t *chunking; /* the large message being sent in pieces */
    size_t chunk_off;
    uint64_t chunk_id;
    int last_was_batch;
};

typedef struct {
    uv_write_t req;
    conn_t *conn;
    tkv_buf_t frame;
    size_t n_msgs;        /* whole messages this write completes */
    wire_msg_t *finished; /* a chunked message whose last piece this is */
} write_t;

struct transport {
    transport_config_t cfg;
    uv_loop_t loop;
    uv_tcp_t listener;
    int listening;
    int port;
    uv_async_t wake, stop_async;
    pthread_t thread;
    int started, joined;
    int stopping; /* loop thread: the stop callback ran */
    conn_t *incoming;
    size_t n_incoming;
    size_t frame_limit; /* the largest frame body a store of ours sends */

    pthread_mutex_t mu;
    peer_t *peers;
    int closed;
    int corked; /* transport_cork(): queue without waking the loop */

    atomic_uint_fast64_t sent_msgs, sent_frames, sent_bytes, dropped_full, dropped_broken, connects,
        connect_failures, recv_msgs, recv_frames, bad_conns, refused_conns;
};

void transport_config_default(transport_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->queue_cap = 4096;
    cfg->big_queue_cap = 4;
    cfg->batch_bytes = 1u << 20;
    cfg->chunk_bytes = 1u << 20;
    cfg->max_message_bytes = 256u << 20;
    cfg->backoff_min_ms = 50;
    cfg->backoff_max_ms = 3000;
    cfg->max_incoming = 1024;
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void free_list(wire_msg_t *m)
{
    while (m != NULL) {
        wire_msg_t *next = m->next;
        free(m);
        m = next;
    }
}

/* ---- connections ------------------------------------------------------------ */

static void peer_pump(transport_t *t, peer_t *p);
static void peer_broken(transport_t *t, peer_t *p, const char *why);

static conn_t *conn_new(transport_t *t, peer_t *p)
{
    conn_t *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->peer = p;
    rpc_decoder_init(&c->dec);
    wire_rx_init(&c->rx, t->cfg.max_message_bytes);
    uv_tcp_init(&t->loop, &c->tcp);
    c->tcp.data = c;
    return c;
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    rpc_decoder_free(&c->dec);
    wire_rx_free(&c->rx);
    free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->peer == NULL) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            c->t->incoming = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        c->t->n_incoming--;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    conn_t *c = h->data;
    (void)suggested;
    b->base = c->rbuf;
    b->len = sizeof(c->rbuf);
}

static void deliver_one(void *arg, RaftServerpb__RaftMessage *m)
{
    transport_t *t = arg;
    t->cfg.deliver(t->cfg.deliver_arg, m);
}

/* An incoming connection broke the rules: close it, alone. */
static void conn_bad(conn_t *c, tkv_err_t e)
{
    transport_t *t = c->t;
    count(&t->bad_conns, 1);
    tkv_logf(TKV_LOG_WARN, "transport", "closing the connection from %s: %s: %s", c->who,
             tkv_strerror(e), tkv_last_error());
    conn_close(c);
}

static void on_incoming_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    conn_t *c = s->data;
    transport_t *t = c->t;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    rpc_decoder_feed(&c->dec, b->base, (size_t)nread);
    while (!c->closing) {
        Rpcpb__RpcFrame *f = NULL;
        tkv_err_t e = rpc_decoder_next(&c->dec, &f);
        if (e != TKV_OK) {
            conn_bad(c, e);
            return;
        }
        if (f == NULL) {
            /* Every whole frame is out: what is left is one unfinished
             * frame. Stores of ours never send one over frame_limit, so a
             * longer one is a stranger making us buffer up to 16 MiB. */
            if (rpc_decoder_pending(&c->dec) > t->frame_limit + RPC_FRAME_HEADER)
                conn_bad(c, tkv_errorf(TKV_ERR_INVALID,
                                       "a frame over %zu bytes, the largest a store sends",
                                       t->frame_limit));
            return;
        }
        count(&t->recv_frames, 1);
        size_t n = 0;
        e = wire_rx_frame(&c->rx, f, deliver_one, t, &n);
        rpcpb__rpc_frame__free_unpacked(f, NULL);
        count(&t->recv_msgs, n);
        if (e != TKV_OK)
            conn_bad(c, e);
    }
}

static void on_incoming(uv_stream_t *server, int status)
{
    transport_t *t = server->data;
    if (status < 0 || t->stopping)
        return;
    conn_t *c = conn_new(t, NULL);
    c->next = t->incoming;
    if (t->incoming != NULL)
        t->incoming->prev = c;
    t->incoming = c;
    t->n_incoming++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    if (t->n_incoming > t->cfg.max_incoming) {
        /* Accepted only to be closed: otherwise it would wait in the
         * backlog and be accepted later. */
        count(&t->refused_conns, 1);
        tkv_logf(TKV_LOG_WARN, "transport", "refusing a connection: %zu open already",
                 t->cfg.max_incoming);
        conn_close(c);
        return;
    }
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    snprintf(c->who, sizeof(c->who), "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
        char host[48] = "";
        int port = 0;
        if (sa.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof(host));
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        } else {
            uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof(host));
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        }
        cli_format_addr(host, port, c->who, sizeof(c->who));
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_incoming_read);
}

/* ---- sending ------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
    write_t *w = req->data;
    conn_t *c = w->conn;
    transport_t *t = c->t;
    peer_t *p = c->peer;
    c->writing = 0;
    if (status < 0) {
        count(&t->dropped_broken, w->n_msgs);
        if (p->conn == c)
            peer_broken(t, p, uv_strerror(status));
    } else {
        count(&t->sent_msgs, w->n_msgs);
        count(&t->sent_frames, 1);
        count(&t->sent_bytes, w->frame.len);
    }
    free(w->finished);
    buf_free(&w->frame);
    free(w);
    if (status >= 0 && p->conn == c)
        peer_pump(t, p);
}

/* Builds the peer's next frame into w; 0 when there is nothing to send. */
static int next_frame(transport_t *t, peer_t *p, write_t *w)
{
    wire_msg_t *batch = NULL;
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    int small = p->small_head != NULL;
    int big = p->chunking != NULL || p->big_head != NULL;
    int chunk = big && (!small || p->last_was_batch);
    if (chunk && p->chunking == NULL) {
        p->chunking = p->big_head;
        p->big_head = p->chunking->next;
        if (p->big_head == NULL)
            p->big_tail = NULL;
        p->n_big--;
        p->chunking->next = NULL;
        p->chunk_off = 0;
        p->chunk_id++;
    } else if (!chunk && small) {
        /* Everything queued, up to batch_bytes (at least one message). */
        wire_msg_t *last = p->small_head;
        size_t bytes = wire_batch_cost(last);
        n = 1;
        while (last->next != NULL && bytes + wire_batch_cost(last->next) <= t->cfg.batch_bytes) {
            last = last->next;
            bytes += wire_batch_cost(last);
            n++;
        }
        batch = p->small_head;
        p->small_head = last->next;
        if (p->small_head == NULL)
            p->small_tail = NULL;
        last->next = NULL;
        p->n_small -= n;
    }
    pthread_mutex_unlock(&t->mu);
    if (chunk) {
        wire_msg_t *m = p->chunking;
        size_t len = m->len - p->chunk_off;
        if (len > t->cfg.chunk_bytes)
            len = t->cfg.chunk_bytes;
        wire_chunk_frame(p->chunk_id, m, p->chunk_off, len, &w->frame);
        p->chunk_off += len;
        if (p->chunk_off == m->len) {
            w->finished = m;
            w->n_msgs = 1;
            p->chunking = NULL;
        }
        p->last_was_batch = 0;
        return 1;
    }
    if (batch == NULL)
        return 0;
    /* Cannot fail: small messages are under batch_bytes, itself well under
     * the frame limit (checked in transport_new()). */
    wire_batch_frame(batch, n, &w->frame);
    free_list(batch);
    w->n_msgs = n;
    p->last_was_batch = 1;
    return 1;
}

static void peer_write(transport_t *t, peer_t *p)
{
    conn_t *c = p->conn;
    write_t *w = xcalloc(1, sizeof(*w));
    if (!next_frame(t, p, w)) {
        free(w);
        return;
    }
    w->conn = c;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->frame.data, (unsigned)w->frame.len);
    c->writing = 1;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        c->writing = 0;
        count(&t->dropped_broken, w->n_msgs);
        free(w->finished);
        buf_free(&w->frame);
        free(w);
        peer_broken(t, p, uv_strerror(rc));
    }
}

static void on_backoff(uv_timer_t *h)
{
    peer_t *p = h->data;
    transport_t *t = (transport_t *)h->loop->data;
    p->state = P_DOWN;
    peer_pump(t, p);
}

/* The connection failed or broke: drop it, wait, try again. */
static void peer_broken(transport_t *t, peer_t *p, const char *why)
{
    tkv_logf(TKV_LOG_DEBUG, "transport", "store %llu: %s; retrying in a while",
             (unsigned long long)p->store_id, why);
    if (p->conn != NULL) {
        conn_close(p->conn);
        p->conn = NULL;
    }
    if (p->chunking != NULL) {
        /* The receiver drops a half message with its connection: so do we. */
        count(&t->dropped_broken, 1);
        free(p->chunking);
        p->chunking = NULL;
    }
    if (t->stopping) {
        p->state = P_DOWN;
        return;
    }
    uint32_t d = p->backoff_ms == 0 ? t->cfg.backoff_min_ms : p->backoff_ms * 2;
    if (d > t->cfg.backoff_max_ms)
        d = t->cfg.backoff_max_ms;
    p->backoff_ms = d;
    p->state = P_BACKOFF;
    uv_timer_start(&p->timer, on_backoff, d, 0);
}

static void on_outgoing_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    conn_t *c = s->data;
    (void)b;
    /* The other side never writes on our connection; EOF or an error is how
     * we learn it went away before a write fails. */
    if (nread < 0 && c->peer->conn == c)
        peer_broken(c->t, c->peer, nread == UV_EOF ? "closed by the store" : uv_strerror(nread));
}

static void on_connect(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    transport_t *t = c->t;
    peer_t *p = c->peer;
    if (p->conn != c) /* given up meanwhile (stopping) */
        return;
    if (status < 0) {
        count(&t->connect_failures, 1);
        peer_broken(t, p, uv_strerror(status));
        return;
    }
    count(&t->connects, 1);
    p->state = P_UP;
    p->backoff_ms = 0;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_outgoing_read);
    peer_pump(t, p);
}

static int parse_sockaddr(const char *addr, struct sockaddr_storage *sa)
{
    char host[256];
    int port;
    if (cli_split_addr(addr, host, sizeof(host), &port) != 0 || port == 0)
        return -1;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0)
        return 0;
    return -1;
}

static void peer_connect(transport_t *t, peer_t *p)
{
    char addr[300] = "";
    struct sockaddr_storage sa;
    tkv_err_t e = t->cfg.resolve(t->cfg.resolve_arg, p->store_id, addr, sizeof(addr));
    if (e != TKV_OK) {
        count(&t->connect_failures, 1);
        peer_broken(t, p, "its address is unknown");
        return;
    }
    if (parse_sockaddr(addr, &sa) != 0) {
        count(&t->connect_failures, 1);
        tkv_logf(TKV_LOG_WARN, "transport", "store %llu: address '%s' is not numeric host:port",
                 (unsigned long long)p->store_id, addr);
        peer_broken(t, p, "its address does not parse");
        return;
    }
    conn_t *c = conn_new(t, p);
    snprintf(c->who, sizeof(c->who), "%.63s", addr);
    p->conn = c;
    p->state = P_CONNECTING;
    p->connect_req.data = c;
    int rc = uv_tcp_connect(&p->connect_req, &c->tcp, (struct sockaddr *)&sa, on_connect);
    if (rc < 0) {
        count(&t->connect_failures, 1);
        peer_broken(t, p, uv_strerror(rc));
    }
}

static void peer_pump(transport_t *t, peer_t *p)
{
    if (t->stopping)
        return;
    if (!p->timer_ready) {
        uv_timer_init(&t->loop, &p->timer);
        p->timer.data = p;
        p->timer_ready = 1;
    }
    pthread_mutex_lock(&t->mu);
    int has = p->small_head != NULL || p->big_head != NULL;
    pthread_mutex_unlock(&t->mu);
    has = has || p->chunking != NULL;
    if (!has)
        return;
    if (p->state == P_DOWN)
        peer_connect(t, p);
    else if (p->state == P_UP && !p->conn->writing)
        peer_write(t, p);
}

static void on_wake(uv_async_t *h)
{
    transport_t *t = h->data;
    /* Peers are only ever added, at the head: walk from a snapshot of it. */
    pthread_mutex_lock(&t->mu);
    peer_t *first = t->peers;
    pthread_mutex_unlock(&t->mu);
    for (peer_t *p = first; p != NULL; p = p->next)
        peer_pump(t, p);
}

static void on_stop(uv_async_t *h)
{
    transport_t *t = h->data;
    t->stopping = 1;
    if (t->listening)
        uv_close((uv_handle_t *)&t->listener, NULL);
    while (t->incoming != NULL)
        conn_close(t->incoming);
    pthread_mutex_lock(&t->mu);
    peer_t *first = t->peers;
    pthread_mutex_unlock(&t->mu);
    for (peer_t *p = first; p != NULL; p = p->next) {
        if (p->conn != NULL) {
            conn_close(p->conn);
            p->conn = NULL;
        }
        if (p->timer_ready)
            uv_close((uv_handle_t *)&p->timer, NULL);
    }
    uv_close((uv_handle_t *)&t->wake, NULL);
    uv_close((uv_handle_t *)&t->stop_async, NULL);
}

static void *loop_main(void *arg)
{
    transport_t *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- the door ------------------------------------------------------------------ */

tkv_err_t transport_new(const transport_config_t *cfg, transport_t **out)
{
    *out = NULL;
    size_t frame_room = RPC_FRAME_MAX - FRAME_SLACK;
    if (cfg->resolve == NULL || cfg->deliver == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "transport: a resolver and a deliver callback are "
                                           "needed");
    if (cfg->queue_cap < 1 || cfg->big_queue_cap < 1)
        return tkv_errorf(TKV_ERR_INVALID, "transport: queue caps %zu and %zu must be at least 1",
                          cfg->queue_cap, cfg->big_queue_cap);
    if (cfg->batch_bytes < 64 || cfg->batch_bytes > frame_room || cfg->chunk_bytes < 64 ||
        cfg->chunk_bytes > frame_room)
        return tkv_errorf(TKV_ERR_INVALID,
                          "transport: batch_bytes %zu and chunk_bytes %zu must be in 64..%zu",
                          cfg->batch_bytes, cfg->chunk_bytes, frame_room);
    if (cfg->max_message_bytes < cfg->batch_bytes)
        return tkv_errorf(TKV_ERR_INVALID,
                          "transport: max_message_bytes %zu is under batch_bytes %zu",
                          cfg->max_message_bytes, cfg->batch_bytes);
    if (cfg->max_incoming < 1)
        return tkv_errorf(TKV_ERR_INVALID, "transport: max_incoming must be at least 1");
    if (cfg->backoff_min_ms < 1 || cfg->backoff_max_ms < cfg->backoff_min_ms)
        return tkv_errorf(TKV_ERR_INVALID, "transport: backoff %u..%u ms is not a range from 1",
                          (unsigned)cfg->backoff_min_ms, (unsigned)cfg->backoff_max_ms);
    transport_t *t = xcalloc(1, sizeof(*t));
    t->cfg = *cfg;
    t->port = -1;
    t->frame_limit =
        (cfg->batch_bytes > cfg->chunk_bytes ? cfg->batch_bytes : cfg->chunk_bytes) + FRAME_SLACK;
    int rc = uv_loop_init(&t->loop);
    if (rc != 0) {
        free(t);
        return tkv_errorf(TKV_ERR_IO, "transport: cannot make an event loop: %s", uv_strerror(rc));
    }
    t->loop.data = t;
    uv_async_init(&t->loop, &t->wake, on_wake);
    t->wake.data = t;
    uv_async_init(&t->loop, &t->stop_async, on_stop);
    t->stop_async.data = t;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return TKV_OK;
}

tkv_err_t transport_listen(transport_t *t, const char *host, int port)
{
    if (t->listening || t->started)
        return tkv_errorf(TKV_ERR_INVALID, "transport: listen once, before start");
    char addr[300];
    struct sockaddr_storage sa;
    cli_format_addr(host, port == 0 ? 1 : port, addr, sizeof(addr));
    if (parse_sockaddr(addr, &sa) != 0)
        return tkv_errorf(TKV_ERR_NET, "transport: cannot listen on '%s': not a numeric host",
                          host);
    if (sa.ss_family == AF_INET)
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
    uv_tcp_init(&t->loop, &t->listener);
    t->listener.data = t;
    t->listening = 1;
    int rc = uv_tcp_bind(&t->listener, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&t->listener, 128, on_incoming);
    if (rc != 0)
        return tkv_errorf(TKV_ERR_NET, "transport: cannot listen on %s:%d: %s", host, port,
                          uv_strerror(rc));
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&t->listener, (struct sockaddr *)&bound, &len);
    t->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return TKV_OK;
}

int transport_port(const transport_t *t)
{
    return t->port;
}

tkv_err_t transport_start(transport_t *t)
{
    if (t->started)
        return tkv_errorf(TKV_ERR_INVALID, "transport: started twice");
    pthread_mutex_lock(&t->mu);
    int closed = t->closed;
    pthread_mutex_unlock(&t->mu);
    if (closed)
        return tkv_errorf(TKV_ERR_CLOSED, "transport: start after stop");
    if (pthread_create(&t->thread, NULL, loop_main, t) != 0)
        return tkv_errorf(TKV_ERR_NOMEM, "transport: cannot start its thread");
    t->started = 1;
    return TKV_OK;
}

static peer_t *peer_get(transport_t *t, uint64_t store_id)
{
    for (peer_t *p = t->peers; p != NULL; p = p->next) {
        if (p->store_id == store_id)
            return p;
    }
    peer_t *p = xcalloc(1, sizeof(*p));
    p->store_id = store_id;
    p->next = t->peers;
    t->peers = p;
    return p;
}

static tkv_err_t send_wire(transport_t *t, uint64_t to_store, wire_msg_t *w);

tkv_err_t transport_send(transport_t *t, uint64_t to_store, const RaftServerpb__RaftMessage *msg)
{
    return send_wire(t, to_store, wire_msg_encode(msg));
}

tkv_err_t transport_send_encoded(transport_t *t, uint64_t to_store, const uint8_t *data, size_t len)
{
    wire_msg_t *w = xmalloc(sizeof(*w) + len);
    w->next = NULL;
    w->len = len;
    if (len > 0)
        memcpy(w->data, data, len);
    return send_wire(t, to_store, w);
}

/* Queues `w` (ours from here on) for `to_store`. */
static tkv_err_t send_wire(transport_t *t, uint64_t to_store, wire_msg_t *w)
{
    if (w->len > t->cfg.max_message_bytes) {
        size_t len = w->len;
        free(w);
        return tkv_errorf(TKV_ERR_INVALID, "transport: a message of %zu bytes (limit %zu)", len,
                          t->cfg.max_message_bytes);
    }
    int big = w->len > t->cfg.batch_bytes;
    pthread_mutex_lock(&t->mu);
    if (t->closed) {
        pthread_mutex_unlock(&t->mu);
        free(w);
        return tkv_errorf(TKV_ERR_CLOSED, "transport: send to store %llu after stop",
                          (unsigned long long)to_store);
    }
    peer_t *p = peer_get(t, to_store);
    if (big ? p->n_big >= t->cfg.big_queue_cap : p->n_small >= t->cfg.queue_cap) {
        size_t cap = big ? t->cfg.big_queue_cap : t->cfg.queue_cap;
        pthread_mutex_unlock(&t->mu);
        free(w);
        count(&t->dropped_full, 1);
        return tkv_errorf(TKV_ERR_BUSY, "transport: the queue to store %llu is full (%zu)",
                          (unsigned long long)to_store, cap);
    }
    wire_msg_t **tail = big ? &p->big_tail : &p->small_tail;
    if (*tail != NULL)
        (*tail)->next = w;
    else if (big)
        p->big_head = w;
    else
        p->small_head = w;
    *tail = w;
    if (big)
        p->n_big++;
    else
        p->n_small++;
    /* Under mu, so transport_stop() cannot close the handle in between. */
    if (!t->corked)
        uv_async_send(&t->wake);
    pthread_mutex_unlock(&t->mu);
    return TKV_OK;
}

void transport_cork(transport_t *t)
{
    pthread_mutex_lock(&t->mu);
    t->corked = 1;
    pthread_mutex_unlock(&t->mu);
}

void transport_uncork(transport_t *t)
{
    pthread_mutex_lock(&t->mu);
    t->corked = 0;
    /* Woken whether or not the burst was empty: a loop with nothing queued
     * only looks and goes back to sleep. */
    if (!t->closed)
        uv_async_send(&t->wake);
    pthread_mutex_unlock(&t->mu);
}

void transport_stats(transport_t *t, transport_stats_t *out)
{
    out->sent_msgs = atomic_load(&t->sent_msgs);
    out->sent_frames = atomic_load(&t->sent_frames);
    out->sent_bytes = atomic_load(&t->sent_bytes);
    out->dropped_full = atomic_load(&t->dropped_full);
    out->dropped_broken = atomic_load(&t->dropped_broken);
    out->connects = atomic_load(&t->connects);
    out->connect_failures = atomic_load(&t->connect_failures);
    out->recv_msgs = atomic_load(&t->recv_msgs);
    out->recv_frames = atomic_load(&t->recv_frames);
    out->bad_conns = atomic_load(&t->bad_conns);
    out->refused_conns = atomic_load(&t->refused_conns);
}

void transport_stop(transport_t *t)
{
    pthread_mutex_lock(&t->mu);
    int was = t->closed;
    t->closed = 1;
    pthread_mutex_unlock(&t->mu);
    if (was)
        return;
    uv_async_send(&t->stop_async);
    if (t->started) {
        pthread_join(t->thread, NULL);
    } else {
        /* Never ran: run the loop here just to close the handles. */
        uv_run(&t->loop, UV_RUN_DEFAULT);
    }
    t->joined = 1;
}

void transport_free(transport_t *t)
{
    if (t == NULL)
        return;
    transport_stop(t);
    uv_loop_close(&t->loop);
    peer_t *p = t->peers;
    while (p != NULL) {
        peer_t *next = p->next;
        free_list(p->small_head);
        free_list(p->big_head);
        free(p->chunking);
        free(p);
        p = next;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}
