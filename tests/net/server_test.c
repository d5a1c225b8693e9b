/*
 * The RPC server and client over real loopback TCP: a standalone TinyKv
 * server runs on port 0 in a thread of the test process, and a real client
 * calls it. Every raw method round-trips; unknown methods, bad payloads and
 * failing handlers come back as error statuses with messages; and a burst of
 * malformed frames on raw sockets closes only those connections, after which
 * the server still serves and the data written before reads back unchanged.
 *
 * No test sleeps: each waits on an event (a blocking call's reply, the
 * server closing a socket, a thread join). Client timeouts are generous
 * safety nets, not part of what is checked.
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
#include "project1-standalone/kv_service.h"
#include "project1-standalone/standalone_storage.h"
#include "proto/tinykvpb.pb-c.h"
#include "tests/harness/test.h"

#define CALL_TIMEOUT_MS 20000

typedef struct {
    char dir[256];
    storage_t *storage;
    rpc_server_t *server;
    pthread_t thread;
    int thread_started;
    char addr[64];
    rpc_client_t *client;
    int idle_fd; /* a raw socket left mid-frame across shutdown, or -1 */
} fixture_t;

static void *serve(void *arg)
{
    rpc_server_t *s = arg;
    rpc_server_run(s);
    return NULL;
}

/* Starts `methods` of TinyKv on ctx in a thread, on a free loopback port. */
static void start_server(fixture_t *f, const rpc_method_t *methods, void *ctx)
{
    assert_int_equal(rpc_server_new(&tinykvpb__tiny_kv__descriptor, methods, ctx, &f->server),
                     TKV_OK);
    assert_int_equal(rpc_server_listen(f->server, "127.0.0.1", 0), TKV_OK);
    assert_true(rpc_server_port(f->server) > 0);
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", rpc_server_port(f->server));
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f->server), 0);
    f->thread_started = 1;
    assert_int_equal(rpc_client_connect(f->addr, CALL_TIMEOUT_MS, &f->client), TKV_OK);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    tkv_tmpdir(f->dir, sizeof(f->dir));
    if (standalone_storage_new(f->dir, &f->storage) != TKV_OK)
        return -1;
    if (storage_start(f->storage) != TKV_OK)
        return -1;
    start_server(f, kv_service_standalone_methods(), f->storage);
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    rpc_client_close(f->client);
    if (f->server != NULL) {
        rpc_server_stop(f->server);
        if (f->thread_started)
            pthread_join(f->thread, NULL);
        rpc_server_free(f->server);
    }
    if (f->idle_fd >= 0)
        close(f->idle_fd);
    if (f->storage != NULL) {
        storage_stop(f->storage);
        storage_free(f->storage);
    }
    tkv_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- typed helpers over the client ------------------------------------------- */

static void put(rpc_client_t *c, const char *cf, const void *key, size_t klen, const void *val,
                size_t vlen)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = klen;
    req.value.data = (uint8_t *)val;
    req.value.len = vlen;
    req.cf = (char *)cf;
    Kvrpcpb__RawPutResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawPut", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawPut: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void put_str(rpc_client_t *c, const char *key, const char *val)
{
    put(c, "", key, strlen(key), val, strlen(val));
}

/* Checks RawGet of key in cf: `want` NULL means not found. */
static void check_get(rpc_client_t *c, const char *cf, const char *key, const void *want,
                      size_t wlen)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = strlen(key);
    req.cf = (char *)cf;
    Kvrpcpb__RawGetResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawGet: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    if (want == NULL) {
        assert_true(resp->not_found);
    } else {
        assert_false(resp->not_found);
        assert_int_equal(resp->value.len, wlen);
        assert_memory_equal(resp->value.data, want, wlen);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void check_get_str(rpc_client_t *c, const char *key, const char *want)
{
    check_get(c, "", key, want, want ? strlen(want) : 0);
}

static void delete_key(rpc_client_t *c, const char *key)
{
    Kvrpcpb__RawDeleteRequest req = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = strlen(key);
    Kvrpcpb__RawDeleteResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawDelete", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawDelete: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* Checks RawScan from `start` with `limit` returns exactly want[] as
 * "key=value" strings. */
static void check_scan(rpc_client_t *c, const char *start, uint32_t limit, const char *const *want,
                       size_t n)
{
    Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    req.start_key.data = (uint8_t *)start;
    req.start_key.len = strlen(start);
    req.limit = limit;
    Kvrpcpb__RawScanResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawScan", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawScan: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    assert_int_equal(resp->n_kvs, n);
    for (size_t i = 0; i < n; i++) {
        char got[256];
        snprintf(got, sizeof(got), "%.*s=%.*s", (int)resp->kvs[i]->key.len,
                 (const char *)resp->kvs[i]->key.data, (int)resp->kvs[i]->value.len,
                 (const char *)resp->kvs[i]->value.data);
        assert_string_equal(got, want[i]);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* ---- round trips ---------------------------------------------------------------- */

static void test_raw_methods_round_trip(void **state)
{
    fixture_t *f = *state;
    rpc_client_t *c = f->client;
    put_str(c, "b", "2");
    put_str(c, "a", "1");
    put_str(c, "c", "3");
    put(c, "lock", "a", 1, "in lock", 7);
    const uint8_t binary[] = { 0, 1, 0, 255 };
    put(c, "", "z", 1, binary, sizeof(binary));

    check_get_str(c, "a", "1");
    check_get(c, "lock", "a", "in lock", 7);
    check_get(c, "", "z", binary, sizeof(binary));
    check_get_str(c, "missing", NULL);
    check_get(c, "write", "a", NULL, 0);

    const char *all[] = { "a=1", "b=2", "c=3" };
    check_scan(c, "", 3, all, 3);
    check_scan(c, "b", 1, all + 1, 1);
    check_scan(c, "a", 0, NULL, 0);

    delete_key(c, "b");
    check_get_str(c, "b", NULL);
    const char *after[] = { "a=1", "c=3" };
    check_scan(c, "", 2, after, 2);
    check_get(c, "lock", "a", "in lock", 7);
}

static void test_storage_errors_reach_the_client(void **state)
{
    fixture_t *f = *state;
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)"k";
    req.key.len = 1;
    req.cf = "no-such-cf";
    Kvrpcpb__RawPutResponse *resp = NULL;
    assert_int_equal(rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "RawPut", &req.base,
                                     (ProtobufCMessage **)&resp),
                     TKV_OK);
    assert_non_null(strstr(resp->error, "no-such-cf"));
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* ---- error statuses ---------------------------------------------------------------- */

static void test_unknown_method_is_an_error_status(void **state)
{
    fixture_t *f = *state;
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
    put_str(f->client, "after", "ok");
    check_get_str(f->client, "after", "ok");
}

static void test_bad_payload_is_an_error_status(void **state)
{
    fixture_t *f = *state;
    const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_client_call_raw(f->client, "RawGet", garbage, sizeof(garbage), &rep),
                     TKV_OK);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_BAD_REQUEST);
    assert_non_null(strstr(rep->error, "RawGetRequest"));
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    put_str(f->client, "after", "ok");
    check_get_str(f->client, "after", "ok");
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
    fixture_t *f = calloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    tkv_tmpdir(f->dir, sizeof(f->dir));
    start_server(f, methods, NULL);
    return 0;
}

static void test_handler_error_is_internal_status(void **state)
{
    fixture_t *f = *state;
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
    struct timeval tv = { CALL_TIMEOUT_MS / 1000, 0 };
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
    fixture_t *f = *state;
    int port = rpc_server_port(f->server);
    for (int i = 0; i < 20; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "key%02d", i);
        snprintf(v, sizeof(v), "value%02d", i);
        put_str(f->client, k, v);
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
    check_get_str(f->client, "key00", "value00");
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
    check_get_str(f->client, "key00", "overwritten!");
    for (int i = 1; i < 20; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "key%02d", i);
        snprintf(v, sizeof(v), "value%02d", i);
        check_get_str(f->client, k, v);
    }
    /* New connections are served too. */
    rpc_client_t *c2 = NULL;
    assert_int_equal(rpc_client_connect(f->addr, CALL_TIMEOUT_MS, &c2), TKV_OK);
    put_str(c2, "fresh", "yes");
    check_get_str(c2, "fresh", "yes");
    check_get_str(f->client, "fresh", "yes");
    rpc_client_close(c2);
}

/* Many requests in one write: more than the server keeps in flight per
 * connection, so it must pause reading and resume, and answer every one. */
static void test_pipelined_requests_all_answered(void **state)
{
    fixture_t *f = *state;
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
    check_get_str(f->client, "p000", "p000");
    check_get_str(f->client, "p199", "p199");
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
    fixture_t *f = calloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    tkv_tmpdir(f->dir, sizeof(f->dir));
    start_server(f, methods, NULL);
    return 0;
}

static int teardown_slow(void **state)
{
    sem_post(&slow_release); /* never leave a pool thread blocked */
    teardown(state);
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
    sc->result = rpc_client_connect(sc->addr, CALL_TIMEOUT_MS, &c);
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
    fixture_t *f = *state;
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

typedef struct {
    const char *addr;
    int id;
    int failures;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    rpc_client_t *c = NULL;
    if (rpc_client_connect(w->addr, CALL_TIMEOUT_MS, &c) != TKV_OK) {
        w->failures++;
        return NULL;
    }
    for (int i = 0; i < 50; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "w%d-%02d", w->id, i);
        snprintf(v, sizeof(v), "v%d-%02d", w->id, i);
        Kvrpcpb__RawPutRequest put_req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        put_req.key.data = (uint8_t *)k;
        put_req.key.len = strlen(k);
        put_req.value.data = (uint8_t *)v;
        put_req.value.len = strlen(v);
        ProtobufCMessage *resp = NULL;
        if (rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawPut", &put_req.base, &resp) !=
            TKV_OK) {
            w->failures++;
            break;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        Kvrpcpb__RawGetRequest get_req = KVRPCPB__RAW_GET_REQUEST__INIT;
        get_req.key = put_req.key;
        Kvrpcpb__RawGetResponse *got = NULL;
        if (rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &get_req.base,
                            (ProtobufCMessage **)&got) != TKV_OK) {
            w->failures++;
            break;
        }
        if (got->value.len != strlen(v) || memcmp(got->value.data, v, strlen(v)) != 0)
            w->failures++;
        protobuf_c_message_free_unpacked(&got->base, NULL);
    }
    rpc_client_close(c);
    return NULL;
}

static void test_concurrent_clients_each_read_their_writes(void **state)
{
    fixture_t *f = *state;
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){ f->addr, i, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    const char *want[] = { "w7-49=v7-49" };
    check_scan(f->client, "w7-49", 1, want, 1);
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
    assert_int_equal(rpc_client_connect(addr, CALL_TIMEOUT_MS, &c), TKV_ERR_NET);
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
    assert_int_equal(
        rpc_server_new(&tinykvpb__tiny_kv__descriptor, kv_service_standalone_methods(), NULL, &s),
        TKV_OK);
    assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0), TKV_OK);
    /* A stop that comes before run makes run return at once. */
    rpc_server_stop(s);
    assert_int_equal(rpc_server_run(s), TKV_OK);
    rpc_server_stop(s);
    rpc_server_free(s);
    /* Never run at all. */
    assert_int_equal(
        rpc_server_new(&tinykvpb__tiny_kv__descriptor, kv_service_standalone_methods(), NULL, &s),
        TKV_OK);
    assert_int_equal(rpc_server_listen(s, "127.0.0.1", 0), TKV_OK);
    rpc_server_free(s);
}

#define NET(name, desc, fn)                                                                        \
    {                                                                                              \
        "frame", name, 0, desc, fn, 0, setup, teardown                                             \
    }

const tkv_test_t server_tests[] = {
    NET("rpc_raw_methods_round_trip",
        "RawPut/RawGet/RawScan/RawDelete over TCP read back what was written",
        test_raw_methods_round_trip),
    NET("rpc_storage_errors_reach_the_client",
        "a storage error travels in the response's error field",
        test_storage_errors_reach_the_client),
    NET("rpc_unknown_method_is_an_error_status",
        "an unknown or unserved method gets STATUS_UNKNOWN_METHOD with a message",
        test_unknown_method_is_an_error_status),
    NET("rpc_bad_payload_is_an_error_status",
        "a payload that is not the method's input type gets STATUS_BAD_REQUEST",
        test_bad_payload_is_an_error_status),
    { "frame", "rpc_handler_error_is_internal_status", 0,
      "a failing handler gets STATUS_INTERNAL carrying its message",
      test_handler_error_is_internal_status, 0, setup_failing, teardown },
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
