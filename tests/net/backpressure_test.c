/*
 * Back-pressure: what a misbehaving client can make the server hold.
 *
 *  - A client that pipelines requests for a big value and never reads: the
 *    server stops reading it once its reply queue is full, so the replies it
 *    holds stay under reply_queue_max plus the calls already running, not
 *    the 100 MiB asked for; other clients are still served; when the client
 *    reads at last, every reply arrives (reading resumed as the queue drained).
 *  - Clients that start frames and never finish them: their bytes count
 *    against one budget for all connections, and the connection that takes
 *    the total past it is closed with a frame saying why; the others stay.
 *
 * The server runs in this process, so its own counters (rpc_server_stats)
 * are the measure. Waits poll a condition with a bound, never sleep blindly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/rpc_frame.h"
#include "proto/kvrpcpb.pb-c.h"
#include "tests/net/net_fixture.h"

#define VAL_LEN      (128u * 1024u)
#define N_REQUESTS   800 /* 100 MiB of replies if all were held */
#define QUEUE_MAX    (1u * 1024u * 1024u)
#define INFLIGHT     64 /* rpc_server.c's MAX_INFLIGHT */
#define BUDGET       (1u * 1024u * 1024u)
#define PARTIAL_BODY (400u * 1024u)
#define READ_CHUNK   (64u * 1024u) /* rpc_server.c's: the most one read adds */
#define WAIT_MS      20000

static int raw_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0) /* before connect, so the window is small from the start */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = { NET_CALL_TIMEOUT_MS / 1000, 0 }; /* a safety net, not a wait */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends everything; 0 if the peer closed first. */
static int send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

typedef int (*stats_cond_fn)(const rpc_server_stats_t *st, size_t arg);

/* Polls (1 ms steps, WAIT_MS at most) until cond holds; *st is the last look. */
static int wait_for(rpc_server_t *s, stats_cond_fn cond, size_t arg, rpc_server_stats_t *st)
{
    for (int i = 0; i < WAIT_MS; i++) {
        rpc_server_stats(s, st);
        if (cond(st, arg))
            return 1;
        poll(NULL, 0, 1);
    }
    return 0;
}

static int paused_and_idle(const rpc_server_stats_t *st, size_t n)
{
    return st->conns_paused == (int)n && st->calls_running == 0;
}

static int unpaused_and_empty(const rpc_server_stats_t *st, size_t n)
{
    (void)n;
    return st->conns_paused == 0 && st->reply_bytes_queued == 0;
}

static int holds_at_least(const rpc_server_stats_t *st, size_t n)
{
    return st->frame_bytes_held >= n;
}

static int holds_exactly(const rpc_server_stats_t *st, size_t n)
{
    return st->frame_bytes_held == n;
}

static int setup_small_queue(void **state)
{
    rpc_server_limits_t l = { QUEUE_MAX, 0 };
    return net_setup_memstore_limits(state, &l);
}

static int setup_small_budget(void **state)
{
    rpc_server_limits_t l = { 0, BUDGET };
    return net_setup_memstore_limits(state, &l);
}

static void test_client_that_never_reads(void **state)
{
    net_fixture_t *f = *state;
    char *v = malloc(VAL_LEN);
    memset(v, 'v', VAL_LEN);
    net_put(f->client, "", "big", 3, v, VAL_LEN);

    tkv_buf_t reqs = TKV_BUF_INIT;
    Kvrpcpb__RawGetRequest get = KVRPCPB__RAW_GET_REQUEST__INIT;
    get.key.data = (uint8_t *)"big";
    get.key.len = 3;
    uint8_t payload[32];
    size_t plen = kvrpcpb__raw_get_request__pack(&get, payload);
    for (int i = 0; i < N_REQUESTS; i++) {
        Rpcpb__RpcFrame rf = RPCPB__RPC_FRAME__INIT;
        rf.call_id = (uint64_t)i + 1;
        rf.method = "RawGet";
        rf.payload.data = payload;
        rf.payload.len = plen;
        assert_int_equal(rpc_frame_encode(&rf, &reqs), TKV_OK);
    }
    int fd = raw_connect(rpc_server_port(f->server), 64 * 1024);
    assert_true(send_all(fd, reqs.data, reqs.len)); /* ~20 KB: the kernel takes it all */
    buf_free(&reqs);

    rpc_server_stats_t st;
    if (!wait_for(f->server, paused_and_idle, 1, &st))
        fail_msg("the server never paused a client that does not read (%d paused, %d calls "
                 "running, %zu reply bytes queued)",
                 st.conns_paused, st.calls_running, st.reply_bytes_queued);
    size_t bound = QUEUE_MAX + (INFLIGHT + 1) * (VAL_LEN + 64);
    printf("never-reading client: %d requests for %u-byte values; reply bytes queued %zu, peak "
           "%zu (bound %zu, unbounded would be %zu)\n",
           N_REQUESTS, VAL_LEN, st.reply_bytes_queued, st.reply_bytes_peak, bound,
           (size_t)N_REQUESTS * VAL_LEN);
    if (st.reply_bytes_peak > bound)
        fail_msg("a client that never reads made the server queue %zu bytes of replies; the "
                 "bound is reply_queue_max %u + %d running calls' replies = %zu",
                 st.reply_bytes_peak, QUEUE_MAX, INFLIGHT + 1, bound);
    /* Paused, but nobody else is: another connection is answered. */
    net_check_get(f->client, "", "big", v, VAL_LEN);

    /* Now read: every reply arrives, so reading resumed as the queue drained. */
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    uint8_t *seen = calloc(N_REQUESTS + 1, 1);
    int got = 0;
    char *chunk = malloc(256 * 1024);
    while (got < N_REQUESTS) {
        ssize_t n = recv(fd, chunk, 256 * 1024, 0);
        if (n <= 0)
            fail_msg("the connection ended after %d of %d replies", got, N_REQUESTS);
        rpc_decoder_feed(&dec, chunk, (size_t)n);
        Rpcpb__RpcFrame *rep = NULL;
        while (rpc_decoder_next(&dec, &rep) == TKV_OK && rep != NULL) {
            Kvrpcpb__RawGetResponse *r =
                kvrpcpb__raw_get_response__unpack(NULL, rep->payload.len, rep->payload.data);
            int ok = rep->status == RPCPB__STATUS__STATUS_OK && r != NULL &&
                     r->value.len == VAL_LEN && rep->call_id >= 1 && rep->call_id <= N_REQUESTS &&
                     !seen[rep->call_id];
            if (!ok)
                fail_msg("reply %d is wrong (call_id %llu, status %d)", got,
                         (unsigned long long)rep->call_id, rep->status);
            seen[rep->call_id] = 1;
            got++;
            kvrpcpb__raw_get_response__free_unpacked(r, NULL);
            rpcpb__rpc_frame__free_unpacked(rep, NULL);
        }
    }
    free(chunk);
    free(seen);
    rpc_decoder_free(&dec);
    close(fd);
    free(v);
    if (!wait_for(f->server, unpaused_and_empty, 0, &st))
        fail_msg("after the client read everything the server still holds %zu reply bytes",
                 st.reply_bytes_queued);
}

/* A frame header announcing 16 MiB, and `body` bytes of it. */
static int start_frame(int port, size_t body)
{
    int fd = raw_connect(port, 0);
    uint8_t *b = calloc(1, RPC_FRAME_HEADER + body);
    rpc_frame_put_len(b, RPC_FRAME_MAX);
    int ok = send_all(fd, b, RPC_FRAME_HEADER + body);
    free(b);
    (void)ok; /* the server may close before reading it all: the caller checks */
    return fd;
}

static int still_open(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_partial_frames_share_a_budget(void **state)
{
    net_fixture_t *f = *state;
    int port = rpc_server_port(f->server);
    const size_t each = RPC_FRAME_HEADER + PARTIAL_BODY;
    int a = start_frame(port, PARTIAL_BODY);
    int b = start_frame(port, PARTIAL_BODY);
    rpc_server_stats_t st;
    if (!wait_for(f->server, holds_at_least, 2 * each, &st))
        fail_msg("the server holds %zu bytes of two unfinished frames, expected %zu",
                 st.frame_bytes_held, 2 * each);
    /* The third takes the total past the budget. */
    int c = start_frame(port, PARTIAL_BODY);
    shutdown(c, SHUT_WR);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    char chunk[4096];
    ssize_t n;
    while ((n = recv(c, chunk, sizeof(chunk), 0)) > 0)
        rpc_decoder_feed(&dec, chunk, (size_t)n);
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_decoder_next(&dec, &rep), TKV_OK);
    if (rep == NULL || rep->status != RPCPB__STATUS__STATUS_BAD_FRAME ||
        strstr(rep->error, "budget") == NULL)
        fail_msg("the connection that passed the budget for unfinished frames should get a "
                 "STATUS_BAD_FRAME frame naming the budget before it is closed; got %s",
                 rep == NULL ? "nothing" : rep->error);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    rpc_decoder_free(&dec);
    close(c);
    rpc_server_stats(f->server, &st);
    printf("unfinished frames: budget %u, peak held %zu, connections refused %lu\n", BUDGET,
           st.frame_bytes_peak, st.conns_over_budget);
    if (st.frame_bytes_peak > BUDGET + READ_CHUNK)
        fail_msg("the server held %zu bytes of unfinished frames; the budget is %u (+ one read)",
                 st.frame_bytes_peak, BUDGET);
    assert_int_equal(st.conns_over_budget, 1);
    if (!still_open(a) || !still_open(b))
        fail_msg("the connections within the budget were closed too");
    /* Closing one gives its share back. */
    close(a);
    if (!wait_for(f->server, holds_exactly, each, &st))
        fail_msg("after two of three connections went away the server holds %zu bytes, "
                 "expected %zu",
                 st.frame_bytes_held, each);
    net_put_str(f->client, "after", "ok");
    net_check_get_str(f->client, "after", "ok");
    close(b);
}

const tkv_test_t backpressure_tests[] = {
    { "frame", "rpc_client_that_never_reads_is_bounded", 0,
      "a client that never reads is paused: the replies held stay bounded; all arrive later",
      test_client_that_never_reads, 0, setup_small_queue, net_teardown },
    { "frame", "rpc_partial_frames_share_a_budget", 0,
      "unfinished frames of all connections share one budget; the one passing it is closed",
      test_partial_frames_share_a_budget, 0, setup_small_budget, net_teardown },
    { 0 },
};
