/*
 * The Raft transport (runtime/transport.h) between two or three transports
 * on loopback: delivery in one batch, large messages in pieces, reconnection
 * after the receiving store restarts, a bounded queue that drops for a store
 * that stopped reading (and only for it), and garbage from a stranger that
 * closes the stranger's connection alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/pb.h"
#include "common/rpc_frame.h"
#include "runtime/transport.h"
#include "tests/harness/test.h"
#include "tests/runtime/rt_wait.h"

/* ---- a store's worth of transport, and the address book ---------------------- */

#define MAX_STORES 8

static pthread_mutex_t book_mu = PTHREAD_MUTEX_INITIALIZER;
static char book[MAX_STORES][64]; /* store id -> "127.0.0.1:port"; "" unknown */

static void book_set(uint64_t store, int port)
{
    pthread_mutex_lock(&book_mu);
    snprintf(book[store], sizeof(book[store]), "127.0.0.1:%d", port);
    pthread_mutex_unlock(&book_mu);
}

static tkv_err_t book_resolve(void *arg, uint64_t store, char *addr, size_t size)
{
    (void)arg;
    pthread_mutex_lock(&book_mu);
    tkv_err_t e = TKV_OK;
    if (store >= MAX_STORES || book[store][0] == '\0')
        e = tkv_errorf(TKV_ERR_NOT_FOUND, "no store %llu", (unsigned long long)store);
    else
        snprintf(addr, size, "%s", book[store]);
    pthread_mutex_unlock(&book_mu);
    return e;
}

typedef struct {
    transport_t *t;
    pthread_mutex_t mu;
    RaftServerpb__RaftMessage **got;
    size_t n, cap;
} node_t;

static void node_deliver(void *arg, RaftServerpb__RaftMessage *m)
{
    node_t *n = arg;
    pthread_mutex_lock(&n->mu);
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 64;
        n->got = xrealloc(n->got, n->cap * sizeof(*n->got));
    }
    n->got[n->n++] = m;
    pthread_mutex_unlock(&n->mu);
}

static size_t node_count(node_t *n)
{
    pthread_mutex_lock(&n->mu);
    size_t c = n->n;
    pthread_mutex_unlock(&n->mu);
    return c;
}

static void base_config(transport_config_t *cfg, node_t *n)
{
    transport_config_default(cfg);
    cfg->backoff_min_ms = 5;
    cfg->backoff_max_ms = 40;
    cfg->resolve = book_resolve;
    cfg->deliver = node_deliver;
    cfg->deliver_arg = n;
}

/* A transport for store `id` listening on loopback (port 0: any), not started. */
static void node_open(node_t *n, uint64_t id, const transport_config_t *cfg, int port)
{
    memset(n, 0, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    transport_config_t c = *cfg;
    c.deliver_arg = n;
    assert_int_equal(transport_new(&c, &n->t), TKV_OK);
    assert_int_equal(transport_listen(n->t, "127.0.0.1", port), TKV_OK);
    book_set(id, transport_port(n->t));
}

static void node_close(node_t *n)
{
    transport_free(n->t);
    n->t = NULL;
    for (size_t i = 0; i < n->n; i++)
        raft_serverpb__raft_message__free_unpacked(n->got[i], NULL);
    free(n->got);
    n->got = NULL;
    n->n = n->cap = 0;
    pthread_mutex_destroy(&n->mu);
}

static void book_clear(void)
{
    pthread_mutex_lock(&book_mu);
    memset(book, 0, sizeof(book));
    pthread_mutex_unlock(&book_mu);
}

/* A message to region `region`, with `pad` bytes of start_key to make it big. */
static void make_msg(RaftServerpb__RaftMessage *m, uint64_t region, uint8_t *pad, size_t pad_len)
{
    raft_serverpb__raft_message__init(m);
    m->region_id = region;
    m->start_key.data = pad;
    m->start_key.len = pad_len;
}

typedef struct {
    node_t *n;
    size_t want;
} count_arg_t;

static int got_at_least(void *arg)
{
    count_arg_t *c = arg;
    return node_count(c->n) >= c->want;
}

static void wait_count(node_t *n, size_t want)
{
    count_arg_t c = { n, want };
    if (!rt_wait_until(got_at_least, &c, RT_WAIT_MS))
        fail_msg("%zu of %zu messages received after %d ms", node_count(n), want, RT_WAIT_MS);
}

/* Counters are bumped when a write's callback runs, which may be after the
 * receiver already has the bytes: wait for them too. */
typedef struct {
    transport_t *t;
    uint64_t sent_msgs, recv_msgs, sent_frames;
} stats_arg_t;

static int stats_reached(void *arg)
{
    stats_arg_t *a = arg;
    transport_stats_t st;
    transport_stats(a->t, &st);
    return st.sent_msgs >= a->sent_msgs && st.recv_msgs >= a->recv_msgs &&
           st.sent_frames >= a->sent_frames;
}

/* One counter of transport_stats_t, named by its offset, reaching `want`. */
typedef struct {
    transport_t *t;
    size_t field; /* offsetof(transport_stats_t, ...) */
    uint64_t want;
} counter_arg_t;

static int counter_reached(void *arg)
{
    counter_arg_t *c = arg;
    transport_stats_t st;
    transport_stats(c->t, &st);
    uint64_t v;
    memcpy(&v, (const char *)&st + c->field, sizeof(v));
    return v >= c->want;
}

static void wait_stats(transport_t *t, uint64_t sent_msgs, uint64_t recv_msgs, uint64_t sent_frames)
{
    stats_arg_t a = { t, sent_msgs, recv_msgs, sent_frames };
    if (!rt_wait_until(stats_reached, &a, RT_WAIT_MS)) {
        transport_stats_t st;
        transport_stats(t, &st);
        fail_msg("counters: %llu sent (want %llu), %llu received (want %llu), %llu frames "
                 "(want %llu)",
                 (unsigned long long)st.sent_msgs, (unsigned long long)sent_msgs,
                 (unsigned long long)st.recv_msgs, (unsigned long long)recv_msgs,
                 (unsigned long long)st.sent_frames, (unsigned long long)sent_frames);
    }
}

/* ---- tests -------------------------------------------------------------------------- */

/* 1000 messages queued before the sender runs go out in one frame and arrive
 * in order. */
static void test_transport_delivers_in_one_batch(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(b.t), TKV_OK);
    for (uint64_t i = 0; i < 1000; i++) {
        RaftServerpb__RaftMessage m;
        make_msg(&m, i, NULL, 0);
        assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    }
    assert_int_equal(transport_start(a.t), TKV_OK);
    wait_count(&b, 1000);
    for (size_t i = 0; i < 1000; i++) {
        if (b.got[i]->region_id != i)
            fail_msg("message %zu arrived as region %llu: out of order", i,
                     (unsigned long long)b.got[i]->region_id);
    }
    wait_stats(a.t, 1000, 0, 1);
    wait_stats(b.t, 0, 1000, 0);
    transport_stats_t st;
    transport_stats(a.t, &st);
    assert_int_equal(st.sent_msgs, 1000);
    if (st.sent_frames != 1)
        fail_msg("1000 queued messages went out in %llu frames, expected one batch",
                 (unsigned long long)st.sent_frames);
    transport_stats(b.t, &st);
    assert_int_equal(st.recv_msgs, 1000);
    assert_int_equal(st.recv_frames, 1);
    node_close(&a);
    node_close(&b);
}

/* The store's peers hand their transport messages already encoded: those
 * go out as they are, mixed in order with ones encoded here, and a big one
 * is chunked like any other. */
static void test_transport_sends_encoded_messages(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    cfg.batch_bytes = 4096;
    cfg.chunk_bytes = 1024;
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(b.t), TKV_OK);
    uint8_t *pad = xcalloc(1, 20000);
    for (uint64_t i = 0; i < 100; i++) {
        RaftServerpb__RaftMessage m;
        make_msg(&m, i, pad, i == 50 ? 20000 : 0);
        if (i % 2 == 0) {
            tkv_buf_t bytes = TKV_BUF_INIT;
            pb_pack(&m.base, &bytes);
            assert_int_equal(transport_send_encoded(a.t, 2, bytes.data, bytes.len), TKV_OK);
            buf_free(&bytes);
        } else {
            assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
        }
    }
    free(pad);
    assert_int_equal(transport_start(a.t), TKV_OK);
    wait_count(&b, 100);
    for (size_t i = 0; i < 100; i++) {
        /* The big one may be overtaken by small ones (they go between its pieces). */
        size_t want = b.got[i]->start_key.len == 20000 ? 50 : 0;
        if (want == 0 && b.got[i]->start_key.len != 0)
            fail_msg("message %zu arrived with a %zu-byte key, expected 0 or 20000", i,
                     b.got[i]->start_key.len);
        if (want == 50 && b.got[i]->region_id != 50)
            fail_msg("the 20000-byte message arrived as region %llu, expected 50",
                     (unsigned long long)b.got[i]->region_id);
    }
    uint64_t last = 0;
    for (size_t i = 0; i < 100; i++) {
        if (b.got[i]->region_id == 50)
            continue;
        if (i > 0 && b.got[i]->region_id < last)
            fail_msg("small messages arrived out of order: region %llu after %llu",
                     (unsigned long long)b.got[i]->region_id, (unsigned long long)last);
        last = b.got[i]->region_id;
    }
    node_close(&a);
    node_close(&b);
}

static int resolve_failed(void *arg)
{
    transport_stats_t st;
    transport_stats(arg, &st);
    return st.connect_failures >= 1;
}

/* Messages to a store the resolver does not know yet wait in its queue
 * (retried with backoff) and go out once its address is known. */
static void test_transport_waits_for_an_unknown_store(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, c;
    base_config(&cfg, NULL);
    node_open(&a, 1, &cfg, 0);
    assert_int_equal(transport_start(a.t), TKV_OK);
    for (uint64_t i = 0; i < 5; i++) {
        RaftServerpb__RaftMessage m;
        make_msg(&m, i, NULL, 0);
        assert_int_equal(transport_send(a.t, 7, &m), TKV_OK);
    }
    /* The transport has tried and failed to find store 7... */
    if (!rt_wait_until(resolve_failed, a.t, RT_WAIT_MS))
        fail_msg("no failed resolve was counted while store 7 was unknown");
    /* ...which comes up now; the book learns its address only now. */
    node_open(&c, 6, &cfg, 0);
    assert_int_equal(transport_start(c.t), TKV_OK);
    book_set(7, transport_port(c.t));
    wait_count(&c, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(c.got[i]->region_id, i);
    transport_stats_t st;
    transport_stats(a.t, &st);
    assert_int_equal(st.connects, 1);
    node_close(&a);
    node_close(&c);
}

/* A message over batch_bytes goes in pieces and arrives whole; small
 * messages get through between the pieces; one over the limit is refused. */
static void test_transport_streams_large_messages_in_chunks(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    cfg.batch_bytes = 4096;
    cfg.chunk_bytes = 1000;
    cfg.max_message_bytes = 100000;
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(b.t), TKV_OK);
    size_t big = 50000;
    uint8_t *pad = xmalloc(big * 3);
    for (size_t i = 0; i < big * 3; i++)
        pad[i] = (uint8_t)(i * 7 + 3);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 99, pad, big);
    assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    for (uint64_t i = 0; i < 10; i++) {
        make_msg(&m, i, NULL, 0);
        assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    }
    make_msg(&m, 98, pad, big * 3);
    assert_int_equal(transport_send(a.t, 2, &m), TKV_ERR_INVALID);
    assert_non_null(strstr(tkv_last_error(), "limit"));
    assert_int_equal(transport_start(a.t), TKV_OK);
    wait_count(&b, 11);
    int whole = 0;
    size_t small_seen = 0, big_at = 0;
    for (size_t i = 0; i < 11; i++) {
        RaftServerpb__RaftMessage *g = b.got[i];
        if (g->region_id == 99) {
            assert_int_equal(g->start_key.len, big);
            assert_memory_equal(g->start_key.data, pad, big);
            whole++;
            big_at = i;
        } else {
            assert_int_equal(g->region_id, small_seen);
            small_seen++;
        }
    }
    assert_int_equal(whole, 1);
    assert_int_equal(small_seen, 10);
    /* Queued before the start, the small ones ride between the pieces. */
    if (big_at == 0)
        fail_msg("the large message arrived before every small one: nothing got between its "
                 "pieces");
    wait_stats(a.t, 11, 0, 0);
    transport_stats_t st;
    transport_stats(a.t, &st);
    if (st.sent_frames < 50)
        fail_msg("a 50000-byte message with 1000-byte pieces went in %llu frames",
                 (unsigned long long)st.sent_frames);
    free(pad);
    node_close(&a);
    node_close(&b);
}

typedef struct {
    node_t *a, *b;
    uint64_t seq;
} resend_arg_t;

/* Sends one more message each try and looks for any arrival. */
static int resend_until_received(void *arg)
{
    resend_arg_t *r = arg;
    RaftServerpb__RaftMessage m;
    make_msg(&m, 1000 + r->seq++, NULL, 0);
    transport_send(r->a->t, 2, &m);
    return node_count(r->b) > 0;
}

/* The receiving store restarts on the same port: the sender reconnects by
 * itself and messages flow again. */
static void test_transport_reconnects_after_peer_restarts(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    int port = transport_port(b.t);
    assert_int_equal(transport_start(a.t), TKV_OK);
    assert_int_equal(transport_start(b.t), TKV_OK);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 1, NULL, 0);
    assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    wait_count(&b, 1);
    node_close(&b);

    node_open(&b, 2, &cfg, port);
    assert_int_equal(transport_start(b.t), TKV_OK);
    resend_arg_t r = { &a, &b, 0 };
    if (!rt_wait_until(resend_until_received, &r, RT_WAIT_MS))
        fail_msg("no message reached the restarted store in %d ms (%llu sent)", RT_WAIT_MS,
                 (unsigned long long)r.seq);
    transport_stats_t st;
    transport_stats(a.t, &st);
    if (st.connects < 2)
        fail_msg("%llu connections made, expected a second one after the restart",
                 (unsigned long long)st.connects);
    node_close(&a);
    node_close(&b);
}

/* A listening socket nobody ever reads from. Returns the fd; *port its port. */
static int deaf_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Store 3 accepts bytes into its socket and never reads them: its queue
 * fills and sends to it are refused at once and counted, while store 2
 * keeps getting everything sent to it. */
static void test_transport_drops_for_a_store_that_stopped_reading(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    cfg.queue_cap = 16;
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    int deaf_port;
    int deaf = deaf_listener(&deaf_port);
    book_set(3, deaf_port);
    assert_int_equal(transport_start(a.t), TKV_OK);
    assert_int_equal(transport_start(b.t), TKV_OK);
    size_t pad_len = 64 * 1024;
    uint8_t *pad = xcalloc(1, pad_len);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 3, pad, pad_len);
    /* 3000 x 64 KiB = 187 MiB offered as fast as the loop takes them: the
     * socket buffers hold some megabytes at most (32 MiB would be 512
     * messages), the queue 16, and the rest must be refused. An unbounded
     * queue accepts all 3000. */
    int accepted = 0, refused = 0;
    for (int i = 0; i < 3000; i++) {
        tkv_err_t e = transport_send(a.t, 3, &m);
        if (e == TKV_OK) {
            accepted++;
            continue;
        }
        if (e != TKV_ERR_BUSY)
            fail_msg("send %d to a store that never reads said %s, expected ok or busy", i,
                     tkv_strerror(e));
        refused++;
    }
    if (accepted > 1024)
        fail_msg("a store that never reads was sent %d messages of 64 KiB (%d refused): the "
                 "queue is not bounded",
                 accepted, refused);
    assert_non_null(strstr(tkv_last_error(), "full"));
    transport_stats_t st;
    transport_stats(a.t, &st);
    assert_int_equal(st.dropped_full, (uint64_t)refused);
    /* The stuck store's queue is its own: store 2 is served, ten at a time
     * (its queue holds 16). */
    for (uint64_t round = 0; round < 10; round++) {
        for (uint64_t i = 0; i < 10; i++) {
            make_msg(&m, round * 10 + i, NULL, 0);
            assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
        }
        wait_count(&b, (size_t)(round + 1) * 10);
    }
    free(pad);
    node_close(&a);
    node_close(&b);
    close(deaf);
}

/* Connects a plain socket to 127.0.0.1:port and writes data[0..len). */
static int stranger_send(int port, const void *data, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* The transport may close on us halfway: no SIGPIPE, no full write. */
    if (len > 0)
        assert_true(send(fd, data, len, MSG_NOSIGNAL) > 0);
    return fd;
}

/* True when the other side closed fd (read returns 0 or a reset). */
static int closed_by_peer(int fd)
{
    struct timeval tv = { RT_WAIT_MS / 1000, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    ssize_t n = read(fd, &c, 1);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Garbage, a Raft frame whose payload is not a batch, a frame for another
 * method, and a frame longer than any a store sends (8 MiB announced, 64 KiB
 * sent, with 4 KiB batches and pieces) each close the stranger's
 * connection, alone: the store-to-store connection goes on delivering. */
static void test_transport_garbage_closes_only_that_connection(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    cfg.batch_bytes = 4096;
    cfg.chunk_bytes = 4096;
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(a.t), TKV_OK);
    assert_int_equal(transport_start(b.t), TKV_OK);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 1, NULL, 0);
    assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    wait_count(&b, 1);

    const char garbage[] = "\xff\xff\xff\xffGET / HTTP/1.0\r\n\r\n";
    int s1 = stranger_send(transport_port(b.t), garbage, sizeof(garbage) - 1);

    tkv_buf_t f = TKV_BUF_INIT;
    Rpcpb__RpcFrame fr = RPCPB__RPC_FRAME__INIT;
    fr.method = "Raft";
    fr.payload.data = (uint8_t *)"\x0a\x7f\x01";
    fr.payload.len = 3;
    assert_int_equal(rpc_frame_encode(&fr, &f), TKV_OK);
    int s2 = stranger_send(transport_port(b.t), f.data, f.len);
    buf_clear(&f);
    fr.method = "RawGet";
    fr.payload.len = 0;
    assert_int_equal(rpc_frame_encode(&fr, &f), TKV_OK);
    int s3 = stranger_send(transport_port(b.t), f.data, f.len);
    buf_free(&f);
    size_t huge = 4 + 64 * 1024;
    uint8_t *h = xcalloc(1, huge);
    rpc_frame_put_len(h, 8u << 20);
    int s4 = stranger_send(transport_port(b.t), h, huge);
    free(h);

    counter_arg_t ba = { b.t, offsetof(transport_stats_t, bad_conns), 4 };
    if (!rt_wait_until(counter_reached, &ba, RT_WAIT_MS))
        fail_msg("four strangers sent garbage, but fewer connections were closed for it");
    assert_true(closed_by_peer(s1));
    assert_true(closed_by_peer(s2));
    assert_true(closed_by_peer(s3));
    assert_true(closed_by_peer(s4));
    close(s1);
    close(s2);
    close(s3);
    close(s4);
    for (uint64_t i = 2; i <= 50; i++) {
        make_msg(&m, i, NULL, 0);
        assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    }
    wait_count(&b, 50);
    transport_stats_t st;
    transport_stats(a.t, &st);
    assert_int_equal(st.connects, 1); /* the store connection never broke */
    transport_stats(b.t, &st);
    assert_int_equal(st.bad_conns, 4);
    assert_int_equal(node_count(&b), 50);
    node_close(&a);
    node_close(&b);
}

/* With max_incoming 2, a third connection is closed on arrival; once a
 * stranger leaves, a store gets its place and delivers. */
static void test_transport_refuses_connections_over_the_limit(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    node_open(&a, 1, &cfg, 0);
    cfg.max_incoming = 2;
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(b.t), TKV_OK);
    int port = transport_port(b.t);
    int s1 = stranger_send(port, NULL, 0);
    int s2 = stranger_send(port, NULL, 0);
    int s3 = stranger_send(port, NULL, 0);
    counter_arg_t r = { b.t, offsetof(transport_stats_t, refused_conns), 1 };
    if (!rt_wait_until(counter_reached, &r, RT_WAIT_MS))
        fail_msg("three connections to a transport that takes two: none refused");
    assert_true(closed_by_peer(s3));
    close(s1);
    close(s3);
    assert_int_equal(transport_start(a.t), TKV_OK);
    resend_arg_t ra = { &a, &b, 0 };
    if (!rt_wait_until(resend_until_received, &ra, RT_WAIT_MS))
        fail_msg("a store never got the place a stranger left");
    close(s2);
    node_close(&a);
    node_close(&b);
}

/* Bad configurations are refused with a reason; a stopped transport refuses
 * sends with CLOSED. */
static void test_transport_bad_config_and_stop(void **state)
{
    (void)state;
    transport_config_t cfg;
    transport_t *t = NULL;
    base_config(&cfg, NULL);
    cfg.resolve = NULL;
    assert_int_equal(transport_new(&cfg, &t), TKV_ERR_INVALID);
    assert_null(t);
    base_config(&cfg, NULL);
    cfg.batch_bytes = RPC_FRAME_MAX;
    assert_int_equal(transport_new(&cfg, &t), TKV_ERR_INVALID);
    assert_non_null(strstr(tkv_last_error(), "batch_bytes"));
    base_config(&cfg, NULL);
    cfg.backoff_max_ms = 1;
    assert_int_equal(transport_new(&cfg, &t), TKV_ERR_INVALID);
    base_config(&cfg, NULL);
    cfg.max_incoming = 0;
    assert_int_equal(transport_new(&cfg, &t), TKV_ERR_INVALID);
    base_config(&cfg, NULL);
    assert_int_equal(transport_new(&cfg, &t), TKV_OK);
    assert_int_equal(transport_listen(t, "not-an-address", 0), TKV_ERR_NET);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 1, NULL, 0);
    assert_int_equal(transport_send(t, 2, &m), TKV_OK); /* queued, never sent */
    transport_stop(t);
    assert_int_equal(transport_send(t, 2, &m), TKV_ERR_CLOSED);
    transport_stop(t);
    transport_free(t);
}

/* A corked burst on a running, connected transport leaves as one frame
 * when uncorked (the store loop corks around each round). Uncorked, the
 * first message of a burst wakes the loop, which writes it at once: the
 * rest follow in later frames. */
static void test_transport_cork_sends_a_burst_as_one_frame(void **state)
{
    (void)state;
    book_clear();
    transport_config_t cfg;
    node_t a, b;
    base_config(&cfg, NULL);
    node_open(&a, 1, &cfg, 0);
    node_open(&b, 2, &cfg, 0);
    assert_int_equal(transport_start(b.t), TKV_OK);
    assert_int_equal(transport_start(a.t), TKV_OK);
    RaftServerpb__RaftMessage m;
    make_msg(&m, 0, NULL, 0);
    assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    wait_count(&b, 1);
    wait_stats(a.t, 1, 0, 1); /* connected, and that write is done */

    transport_cork(a.t);
    for (uint64_t i = 1; i <= 200; i++) {
        make_msg(&m, i, NULL, 0);
        assert_int_equal(transport_send(a.t, 2, &m), TKV_OK);
    }
    transport_stats_t st;
    transport_stats(a.t, &st);
    if (st.sent_msgs != 1)
        fail_msg("%llu messages were written while corked, expected only the first (1)",
                 (unsigned long long)st.sent_msgs);
    transport_uncork(a.t);
    wait_count(&b, 201);
    wait_stats(a.t, 201, 0, 2);
    transport_stats(a.t, &st);
    if (st.sent_frames != 2)
        fail_msg("a corked burst of 200 went out in %llu frames after the first, expected one",
                 (unsigned long long)(st.sent_frames - 1));
    for (size_t i = 0; i < 201; i++)
        if (b.got[i]->region_id != i)
            fail_msg("message %zu arrived as region %llu: out of order", i,
                     (unsigned long long)b.got[i]->region_id);
    node_close(&a);
    node_close(&b);
}

const tkv_test_t transport_tests[] = {
    { "frame", "transport_cork_sends_a_burst_as_one_frame", 0,
      "messages sent between transport_cork() and transport_uncork() leave as one frame",
      test_transport_cork_sends_a_burst_as_one_frame },
    { "frame", "transport_delivers_in_one_batch", 0,
      "1000 queued Raft messages reach the other store in order, in one frame",
      test_transport_delivers_in_one_batch },
    { "frame", "transport_sends_encoded_messages", 0,
      "messages handed over already encoded arrive as sent, in order, big ones in pieces",
      test_transport_sends_encoded_messages },
    { "frame", "transport_waits_for_an_unknown_store", 0,
      "messages to a store not yet resolvable wait and go out once its address is known",
      test_transport_waits_for_an_unknown_store },
    { "frame", "transport_streams_large_messages_in_chunks", 0,
      "a message over batch_bytes goes in pieces, arrives whole, and lets small ones through",
      test_transport_streams_large_messages_in_chunks },
    { "frame", "transport_reconnects_after_peer_restarts", 0,
      "after the receiving store restarts on its port, the sender reconnects and delivers",
      test_transport_reconnects_after_peer_restarts },
    { "frame", "transport_drops_for_a_store_that_stopped_reading", 0,
      "sends to a store that stopped reading are refused with busy; other stores still served",
      test_transport_drops_for_a_store_that_stopped_reading },
    { "frame", "transport_garbage_closes_only_that_connection", 0,
      "garbage frames close the stranger's connection alone; store traffic goes on",
      test_transport_garbage_closes_only_that_connection },
    { "frame", "transport_refuses_connections_over_the_limit", 0,
      "connections over max_incoming are closed on arrival; a freed place serves a store",
      test_transport_refuses_connections_over_the_limit },
    { "frame", "transport_bad_config_and_stop", 0,
      "bad transport configs are refused with a reason; sends after stop say closed",
      test_transport_bad_config_and_stop },
    { 0 },
};
