/*
 * The RPC server and client over real loopback TCP: a server runs on port 0
 * in a thread of the test process, and a real client calls it. The service
 * behind it is the fixture's memstore (net_fixture.h), not the lab code, so
 * these frame tests pass on every handout. Unknown methods, bad payloads and
 * failing handlers come back as error statuses with messages; a burst of
 * malformed frames on raw sockets closes only those connections, after which
 * the server still serves and the data written before reads back unchanged;
 * a slow handler stalls no one else.
 *
 * No test sleeps: each waits on an event (a blocking call's reply, the
 * server closing a socket, a semaphore, a thread join). Client timeouts are
 * generous safety nets, except in the one test whose subject is the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/prng.h"
#include "common/rpc_client.h"
#include "common/rpc_frame.h"
#include "common/rpc_server.h"
#include "proto/tinykvpb.pb-c.h"
#include "tests/net/net_fixture.h"

/* ---- error statuses ---------------------------------------------------------------- */

static void test_unknown_method_is_an_error_status(void **state)
{
    net_fixture_t *f = *state;
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_client_call_raw(f->client, "NoSuchMethod", NULL, 0, &rep), TKV_OK);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_UNKNOWN_METHOD);
    assert_non_null(strstr(rep->error, "NoSuchMethod"));
    assert_int_equal(rep->payload.len, 0);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);

    /* In the service but not served in standalone mode yet. */
    Kvrpcpb__GetRequest get = KVRPCPB__GET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    assert_int_equal(
        rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "KvGet", &get.base, &resp),
        TKV_ERR_INVALID);
    assert_null(resp);
    assert_non_null(strstr(tkv_last_error(), "KvGet is not served"));
    assert_int_equal(rpc_client_last_status(f->client), RPCPB__STATUS__STATUS_UNKNOWN_METHOD);

    /* The connection is still good. */
    net_put_str(f->client, "after", "ok");
    net_check_get_str(f->client, "after", "ok");
}

static void test_bad_payload_is_an_error_status(void **state)
{
    net_fixture_t *f = *state;
    const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_client_call_raw(f->client, "RawGet", garbage, sizeof(garbage), &rep),
                     TKV_OK);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_BAD_REQUEST);
    assert_non_null(strstr(rep->error, "RawGetRequest"));
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    net_put_str(f->client, "after", "ok");
    net_check_get_str(f->client, "after", "ok");
}

static tkv_err_t failing_handler(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return tkv_errorf(TKV_ERR_IO, "the disk caught fire");
}

static int setup_failing(void **state)
{
    static const rpc_method_t methods[] = { { "RawGet", failing_handler }, { NULL, NULL } };
    net_fixture_t *f = xcalloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    if (net_start_server(f, methods, NULL) != 0) {
        net_teardown(state);
        return -1;
    }
    return 0;
}

static void test_handler_error_is_internal_status(void **state)
{
    net_fixture_t *f = *state;
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    assert_int_equal(
        rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base, &resp),
        TKV_ERR_IO);
    assert_null(resp);
    assert_non_null(strstr(tkv_last_error(), "the disk caught fire"));
    assert_int_equal(rpc_client_last_status(f->client), RPCPB__STATUS__STATUS_INTERNAL);
}

static void test_method_table_must_match_service(void **state)
{
    (void)state;
    static const rpc_method_t bad[] = { { "RawGett", failing_handler }, { NULL, NULL } };
    rpc_server_t *s = NULL;
    assert_int_equal(rpc_server_new(&tinykvpb__tiny_kv__descriptor, bad, NULL, &s),
                     TKV_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(tkv_last_error(), "RawGett"));
}

/* ---- hostile input ------------------------------------------------------------------- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    /* A safety net against a server that never answers, not a wait. */
    struct timeval tv = { NET_CALL_TIMEOUT_MS / 1000, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends bytes, says we are done (half-close), and reads until the server
 * closes: the event that tells us it has dealt with everything we sent.
 * Returns the first frame the server sent back, or NULL if none (the caller
 * frees it with rpcpb__rpc_frame__free_unpacked). */
static Rpcpb__RpcFrame *send_and_wait_close(int port, const uint8_t *bytes, size_t len)
{
    int fd = raw_connect(port);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, bytes + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close before reading everything */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    uint8_t chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        rpc_decoder_feed(&dec, chunk, (size_t)n);
    assert_true(n == 0 || errno == ECONNRESET);
    close(fd);
    Rpcpb__RpcFrame *first = NULL;
    assert_int_equal(rpc_decoder_next(&dec, &first), TKV_OK);
    rpc_decoder_free(&dec);
    return first;
}

/* Sends bytes that cannot be decoded and expects a STATUS_BAD_FRAME reply
 * naming the problem before the server closes. */
static void expect_bad_frame(int port, const uint8_t *bytes, size_t len, const char *words)
{
    Rpcpb__RpcFrame *rep = send_and_wait_close(port, bytes, len);
    assert_non_null(rep);
    assert_int_equal(rep->call_id, 0);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_BAD_FRAME);
    assert_non_null(strstr(rep->error, words));
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
}

static void send_ignoring_reply(int port, const uint8_t *bytes, size_t len)
{
    Rpcpb__RpcFrame *rep = send_and_wait_close(port, bytes, len);
    if (rep != NULL)
        rpcpb__rpc_frame__free_unpacked(rep, NULL);
}

static void test_malformed_frames_close_only_their_connection(void **state)
{
    net_fixture_t *f = *state;
    int port = rpc_server_port(f->server);
    for (int i = 0; i < 20; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "key%02d", i);
        snprintf(v, sizeof(v), "value%02d", i);
        net_put_str(f->client, k, v);
    }

    /* A socket that stops mid-frame and stays open until the server shuts
     * down: stopping must not wait for it. */
    f->idle_fd = raw_connect(port);
    const uint8_t half[] = { 0, 0, 0, 100, 0x08, 0x01 };
    assert_int_equal(send(f->idle_fd, half, sizeof(half), MSG_NOSIGNAL), (ssize_t)sizeof(half));

    uint8_t hdr[4];
    rpc_frame_put_len(hdr, 0xffffffffu);
    expect_bad_frame(port, hdr, 4, "limit");
    rpc_frame_put_len(hdr, RPC_FRAME_MAX + 1);
    expect_bad_frame(port, hdr, 4, "limit");
    const uint8_t zero[] = { 0, 0, 0, 0, 1, 2, 3 };
    expect_bad_frame(port, zero, sizeof(zero), "length 0");
    const uint8_t bad_body[] = { 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
    expect_bad_frame(port, bad_body, sizeof(bad_body), "does not decode");

    /* A valid RawPut frame, cut short at every length: none of it applies. */
    tkv_buf_t frame = TKV_BUF_INIT;
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)"key00";
    req.key.len = 5;
    req.value.data = (uint8_t *)"overwritten!";
    req.value.len = 12;
    uint8_t payload[64];
    size_t plen = kvrpcpb__raw_put_request__pack(&req, payload);
    Rpcpb__RpcFrame rf = RPCPB__RPC_FRAME__INIT;
    rf.call_id = 1;
    rf.method = "RawPut";
    rf.payload.data = payload;
    rf.payload.len = plen;
    assert_int_equal(rpc_frame_encode(&rf, &frame), TKV_OK);
    for (size_t cut = 1; cut < frame.len; cut++)
        assert_null(send_and_wait_close(port, frame.data, cut));
    net_check_get_str(f->client, "key00", "value00");
    /* Whole, then half-closed: the peer still gets its answer. */
    Rpcpb__RpcFrame *rep = send_and_wait_close(port, frame.data, frame.len);
    assert_non_null(rep);
    assert_int_equal(rep->call_id, 1);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_OK);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    buf_free(&frame);

    /* Random garbage, seeded so that a failure replays. */
    tkv_prng_t rng;
    prng_seed(&rng, 20160);
    for (int round = 0; round < 50; round++) {
        uint8_t junk[512];
        size_t len = (size_t)prng_between(&rng, 1, sizeof(junk));
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)prng_next(&rng);
        send_ignoring_reply(port, junk, len);
    }

    /* The first connection never noticed, and nothing was changed but the one
     * whole RawPut. */
    net_check_get_str(f->client, "key00", "overwritten!");
    for (int i = 1; i < 20; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "key%02d", i);
        snprintf(v, sizeof(v), "value%02d", i);
        net_check_get_str(f->client, k, v);
    }
    /* New connections are served too. */
    rpc_client_t *c2 = NULL;
    assert_int_equal(rpc_client_connect(f->addr, NET_CALL_TIMEOUT_MS, &c2), TKV_OK);
    net_put_str(c2, "fresh", "yes");
    net_check_get_str(c2, "fresh", "yes");
    net_check_get_str(f->client, "fresh", "yes");
    rpc_client_close(c2);
}

/* Many requests in one write: more than the server keeps in flight per
 * connection, so it must pause reading and resume, and answer every one. */
static void test_pipelined_requests_all_answered(void **state)
{
    net_fixture_t *f = *state;
    enum { N = 200 };
    tkv_buf_t out = TKV_BUF_INIT;
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof(k), "p%03d", i);
        Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        req.key.data = (uint8_t *)k;
        req.key.len = strlen(k);
        req.value.data = (uint8_t *)k;
        req.value.len = strlen(k);
        uint8_t payload[64];
        Rpcpb__RpcFrame rf = RPCPB__RPC_FRAME__INIT;
        rf.call_id = (uint64_t)i + 1;
        rf.method = "RawPut";
        rf.payload.data = payload;
        rf.payload.len = kvrpcpb__raw_put_request__pack(&req, payload);
        assert_int_equal(rpc_frame_encode(&rf, &out), TKV_OK);
    }
    int fd = raw_connect(rpc_server_port(f->server));
    assert_int_equal(send(fd, out.data, out.len, MSG_NOSIGNAL), (ssize_t)out.len);
    buf_free(&out);

    char seen[N + 1];
    memset(seen, 0, sizeof(seen));
    int got = 0;
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    while (got < N) {
        uint8_t chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        assert_true(n > 0);
        rpc_decoder_feed(&dec, chunk, (size_t)n);
        Rpcpb__RpcFrame *rep = NULL;
        while (rpc_decoder_next(&dec, &rep) == TKV_OK && rep != NULL) {
            assert_int_equal(rep->status, RPCPB__STATUS__STATUS_OK);
            assert_true(rep->call_id >= 1 && rep->call_id <= N);
            assert_false(seen[rep->call_id]);
            seen[rep->call_id] = 1;
            got++;
            rpcpb__rpc_frame__free_unpacked(rep, NULL);
        }
    }
    rpc_decoder_free(&dec);
    close(fd);
    net_check_get_str(f->client, "p000", "p000");
    net_check_get_str(f->client, "p199", "p199");
}

/* ---- concurrency ---------------------------------------------------------------------- */

/* A handler that blocks until the test releases it, to show that a slow call
 * holds neither the event loop nor other connections. */
static sem_t slow_entered, slow_release;

static tkv_err_t slow_handler(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    (void)ctx;
    (void)req;
    Kvrpcpb__RawGetResponse *r = (Kvrpcpb__RawGetResponse *)resp;
    sem_post(&slow_entered);
    sem_wait(&slow_release);
    r->not_found = 1;
    return TKV_OK;
}

static tkv_err_t quick_handler(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return TKV_OK;
}

static int setup_slow(void **state)
{
    static const rpc_method_t methods[] = {
        { "RawGet", slow_handler },
        { "RawPut", quick_handler },
        { NULL, NULL },
    };
    sem_init(&slow_entered, 0, 0);
    sem_init(&slow_release, 0, 0);
    net_fixture_t *f = xcalloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    if (net_start_server(f, methods, NULL) != 0) {
        net_teardown(state);
        return -1;
    }
    return 0;
}

static int teardown_slow(void **state)
{
    sem_post(&slow_release); /* never leave a pool thread blocked */
    net_teardown(state);
    sem_destroy(&slow_entered);
    sem_destroy(&slow_release);
    return 0;
}

typedef struct {
    const char *addr;
    tkv_err_t result;
    int not_found;
} slow_call_t;

static void *call_slow(void *arg)
{
    slow_call_t *sc = arg;
    rpc_client_t *c = NULL;
    sc->result = rpc_client_connect(sc->addr, NET_CALL_TIMEOUT_MS, &c);
    if (sc->result != TKV_OK)
        return NULL;
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    Kvrpcpb__RawGetResponse *resp = NULL;
    sc->result = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base,
                                 (ProtobufCMessage **)&resp);
    if (resp != NULL) {
        sc->not_found = resp->not_found;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    rpc_client_close(c);
    return NULL;
}

static void test_slow_handler_does_not_stall_others(void **state)
{
    net_fixture_t *f = *state;
    slow_call_t sc = { f->addr, TKV_ERR_IO, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, call_slow, &sc), 0);
    sem_wait(&slow_entered); /* the slow call is now inside its handler */
    /* Another connection is served while it sits there. */
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    assert_int_equal(
        rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "RawPut", &req.base, &resp),
        TKV_OK);
    protobuf_c_message_free_unpacked(resp, NULL);
    sem_post(&slow_release);
    pthread_join(t, NULL);
    assert_int_equal(sc.result, TKV_OK);
    assert_true(sc.not_found);
}

static void test_concurrent_clients_each_read_their_writes(void **state)
{
    net_fixture_t *f = *state;
    assert_int_equal(net_run_concurrent_clients(f->addr, 8, 50), 0);
    net_check_get_str(f->client, "w7-49", "v7-49");
}

/* ---- the client's own errors ------------------------------------------------------------ */

/* A loopback port nobody listens on: bind one, note it, close it. */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_client_reports_refused_and_bad_address(void **state)
{
    (void)state;
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", unused_port());
    rpc_client_t *c = NULL;
    assert_int_equal(rpc_client_connect(addr, NET_CALL_TIMEOUT_MS, &c), TKV_ERR_NET);
    assert_null(c);
    char want[128];
    snprintf(want, sizeof(want), "cannot connect to %s: connection refused", addr);
    assert_string_equal(tkv_last_error(), want);

    assert_int_equal(rpc_client_connect("localhost", 100, &c), TKV_ERR_INVALID);
    assert_int_equal(rpc_client_connect("127.0.0.1:99999", 100, &c), TKV_ERR_INVALID);
    assert_int_equal(rpc_client_connect("127.0.0.1:port", 100, &c), TKV_ERR_INVALID);
}

/* A listening socket that never accepts: the kernel completes the connect, and
 * no reply ever comes, so the call must end with a timeout. This is the one
 * test that waits for a timer, because the timeout is what it checks. */
static void test_client_call_times_out(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    socklen_t len = sizeof(a);
    getsockname(lfd, (struct sockaddr *)&a, &len);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(a.sin_port));
    rpc_client_t *c = NULL;
    assert_int_equal(rpc_client_connect(addr, 100, &c), TKV_OK);
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    assert_int_equal(rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base, &resp),
                     TKV_ERR_TIMEOUT);
    assert_null(resp);
    /* The connection is given up: it may be out of step. */
    assert_int_equal(rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base, &resp),
                     TKV_ERR_CLOSED);
    rpc_client_close(c);
    close(lfd);
}

static void test_server_stops_before_running(void **state)
{
    (void)state;
    rpc_server_t *s = NULL;
    assert_int_equal(rpc_server_new(&tinykvpb__tiny_kv__descriptor, memstore_methods, NULL, &s),
                     TKV_OK);
    assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0), TKV_OK);
    /* A stop that comes before run makes run return at once. */
    rpc_server_stop(s);
    assert_int_equal(rpc_server_run(s), TKV_OK);
    rpc_server_stop(s);
    rpc_server_free(s);
    /* Never run at all. */
    assert_int_equal(rpc_server_new(&tinykvpb__tiny_kv__descriptor, memstore_methods, NULL, &s),
                     TKV_OK);
    assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0), TKV_OK);
    rpc_server_free(s);
}

#define NET(name, desc, fn)                                                                        \
    {                                                                                              \
        "frame", name, 0, desc, fn, 0, net_setup_memstore, net_teardown                            \
    }

const tkv_test_t server_tests[] = {
    NET("rpc_unknown_method_is_an_error_status",
        "an unknown or unserved method gets STATUS_UNKNOWN_METHOD with a message",
        test_unknown_method_is_an_error_status),
    NET("rpc_bad_payload_is_an_error_status",
        "a payload that is not the method's input type gets STATUS_BAD_REQUEST",
        test_bad_payload_is_an_error_status),
    { "frame", "rpc_handler_error_is_internal_status", 0,
      "a failing handler gets STATUS_INTERNAL carrying its message",
      test_handler_error_is_internal_status, 0, setup_failing, net_teardown },
    { "frame", "rpc_method_table_must_match_service", 0,
      "a method table naming a method the service lacks is refused",
      test_method_table_must_match_service },
    NET("rpc_malformed_frames_close_only_their_connection",
        "garbage, bad lengths and truncated frames close that connection only; data is unchanged",
        test_malformed_frames_close_only_their_connection),
    NET("rpc_pipelined_requests_all_answered",
        "200 requests in one write are all answered, each with its call_id",
        test_pipelined_requests_all_answered),
    { "frame", "rpc_slow_handler_does_not_stall_others", 0,
      "while one handler blocks, calls on other connections are still answered",
      test_slow_handler_does_not_stall_others, 0, setup_slow, teardown_slow },
    NET("rpc_concurrent_clients_each_read_their_writes",
        "8 clients in threads put and get at once; each reads back its own writes",
        test_concurrent_clients_each_read_their_writes),
    { "frame", "rpc_client_reports_refused_and_bad_address", 0,
      "connecting to a dead port says 'connection refused'; bad addresses are TKV_ERR_INVALID",
      test_client_reports_refused_and_bad_address },
    { "frame", "rpc_client_call_times_out", 0,
      "a call that gets no reply ends in TKV_ERR_TIMEOUT and gives the connection up",
      test_client_call_times_out },
    { "frame", "rpc_server_stops_before_running", 0,
      "stop before run, double stop, and free without run are all clean",
      test_server_stops_before_running },
    { 0 },
};
