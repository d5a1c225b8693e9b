/*
 * Strings mean what was sent: a string field holding a NUL byte is refused
 * with STATUS_BAD_REQUEST instead of being served as its prefix (protobuf-c
 * unpacks strings as C strings). Covered: the method name of the frame
 * ("RawGet\0junk" is not RawGet) and a string in the request (the column
 * family "default\0evil" is not default). Frame tests on the memstore.
 *
 * The frames are written by hand: protobuf-c's packer measures strings
 * with strlen() and could not even produce them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/rpc_client.h"
#include "common/rpc_frame.h"
#include "tests/net/net_fixture.h"

/* Appends a length-delimited field (wire type 2) with a one-byte tag. */
static void put_field(tkv_buf_t *b, int field, const void *data, size_t len)
{
    uint8_t tag = (uint8_t)(field << 3 | 2);
    buf_append(b, &tag, 1);
    uint8_t v[10];
    size_t n = 0;
    for (size_t x = len; n == 0 || x > 0; x >>= 7)
        v[n++] = (uint8_t)((x & 0x7f) | (x >> 7 ? 0x80 : 0));
    buf_append(b, v, n);
    buf_append(b, data, len);
}

/* A RawPutRequest key=k value=v cf=cf[0..cflen). */
static void raw_put_payload(tkv_buf_t *b, const char *k, const char *v, const char *cf,
                            size_t cflen)
{
    put_field(b, 2, k, strlen(k));
    put_field(b, 3, v, strlen(v));
    put_field(b, 4, cf, cflen);
}

/* A whole frame: call_id, method[0..mlen), payload. */
static void frame_of(tkv_buf_t *out, uint8_t call_id, const char *method, size_t mlen,
                     const tkv_buf_t *payload)
{
    tkv_buf_t body = TKV_BUF_INIT;
    uint8_t id[2] = { 1 << 3 | 0, call_id };
    buf_append(&body, id, 2);
    put_field(&body, 2, method, mlen);
    put_field(&body, 3, payload->data, payload->len);
    uint8_t hdr[4];
    rpc_frame_put_len(hdr, (uint32_t)body.len);
    buf_append(out, hdr, 4);
    buf_append(out, body.data, body.len);
    buf_free(&body);
}

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
    struct timeval tv = { NET_CALL_TIMEOUT_MS / 1000, 0 }; /* a safety net, not a wait */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends, half-closes, and collects every reply frame until the server closes. */
static size_t exchange(int port, const tkv_buf_t *bytes, Rpcpb__RpcFrame **reps, size_t max)
{
    int fd = raw_connect(port);
    assert_int_equal(send(fd, bytes->data, bytes->len, MSG_NOSIGNAL), (ssize_t)bytes->len);
    shutdown(fd, SHUT_WR);
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    uint8_t chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        rpc_decoder_feed(&dec, chunk, (size_t)n);
    assert_true(n == 0 || errno == ECONNRESET);
    close(fd);
    size_t got = 0;
    Rpcpb__RpcFrame *f = NULL;
    while (got < max && rpc_decoder_next(&dec, &f) == TKV_OK && f != NULL)
        reps[got++] = f;
    rpc_decoder_free(&dec);
    return got;
}

static void test_method_with_nul_is_bad_request(void **state)
{
    net_fixture_t *f = *state;
    tkv_buf_t payload = TKV_BUF_INIT, bytes = TKV_BUF_INIT;
    raw_put_payload(&payload, "m", "cut", "", 0);
    frame_of(&bytes, 1, "RawPut\0junk", 11, &payload);
    /* The stream stays in step: the next frame on the same connection is served. */
    buf_clear(&payload);
    raw_put_payload(&payload, "m2", "whole", "", 0);
    frame_of(&bytes, 2, "RawPut", 6, &payload);
    Rpcpb__RpcFrame *reps[4];
    size_t n = exchange(rpc_server_port(f->server), &bytes, reps, 4);
    if (n != 2)
        fail_msg("expected 2 replies (one per frame), got %zu", n);
    Rpcpb__RpcFrame *bad = reps[0]->call_id == 1 ? reps[0] : reps[1];
    Rpcpb__RpcFrame *good = reps[0]->call_id == 1 ? reps[1] : reps[0];
    if (bad->status != RPCPB__STATUS__STATUS_BAD_REQUEST || strstr(bad->error, "method") == NULL ||
        strstr(bad->error, "NUL") == NULL)
        fail_msg("method \"RawPut\\0junk\" should get STATUS_BAD_REQUEST naming the method and "
                 "the NUL byte; got status %d: \"%s\"",
                 bad->status, bad->error);
    assert_int_equal(good->status, RPCPB__STATUS__STATUS_OK);
    for (size_t i = 0; i < n; i++)
        rpcpb__rpc_frame__free_unpacked(reps[i], NULL);
    net_check_get(f->client, "", "m", NULL, 0); /* not served as RawPut */
    net_check_get_str(f->client, "m2", "whole");
    buf_free(&payload);
    buf_free(&bytes);
}

static void test_cf_with_nul_is_bad_request(void **state)
{
    net_fixture_t *f = *state;
    tkv_buf_t payload = TKV_BUF_INIT;
    raw_put_payload(&payload, "k", "evil", "default\0evil", 12);
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_client_call_raw(f->client, "RawPut", payload.data, payload.len, &rep),
                     TKV_OK);
    if (rep->status != RPCPB__STATUS__STATUS_BAD_REQUEST || strstr(rep->error, "cf") == NULL ||
        strstr(rep->error, "NUL") == NULL)
        fail_msg("cf \"default\\0evil\" should get STATUS_BAD_REQUEST naming field cf; got "
                 "status %d: \"%s\"",
                 rep->status, rep->error);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    net_check_get(f->client, "", "k", NULL, 0);
    /* The same request with an honest cf is served. */
    buf_clear(&payload);
    raw_put_payload(&payload, "k", "fine", "default", 7);
    assert_int_equal(rpc_client_call_raw(f->client, "RawPut", payload.data, payload.len, &rep),
                     TKV_OK);
    assert_int_equal(rep->status, RPCPB__STATUS__STATUS_OK);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    net_check_get_str(f->client, "k", "fine");
    buf_free(&payload);
}

#define NET(name, desc, fn)                                                                        \
    {                                                                                              \
        "frame", name, 0, desc, fn, 0, net_setup_memstore, net_teardown                            \
    }

const tkv_test_t strings_tests[] = {
    NET("rpc_method_with_nul_is_bad_request",
        "method \"RawPut\\0junk\" gets STATUS_BAD_REQUEST, is not served, and the stream goes on",
        test_method_with_nul_is_bad_request),
    NET("rpc_cf_with_nul_is_bad_request",
        "a request whose cf holds a NUL byte gets STATUS_BAD_REQUEST and changes nothing",
        test_cf_with_nul_is_bad_request),
    { 0 },
};
