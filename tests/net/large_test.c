/*
 * Sizes at the frame limit. The server refuses a request payload over
 * RPC_REQUEST_MAX (frame: on the memstore), which leaves room for a reply to
 * carry whatever one request stored: a value of the largest size a RawPut can
 * carry is put, got and scanned back through the real standalone service
 * (project1: it needs the lab's raw API). Once the RawScan reply of such a
 * value was over the frame limit, and the value could never be scanned.
 */
#include <stdlib.h>
#include <string.h>

#include "common/rpc_frame.h"
#include "proto/tinykvpb.pb-c.h"
#include "tests/net/net_fixture.h"

static uint8_t *big_value(size_t len)
{
    uint8_t *v = malloc(len);
    for (size_t i = 0; i < len; i++)
        v[i] = (uint8_t)(i * 131 + 7);
    return v;
}

static void test_request_over_limit_is_bad_request(void **state)
{
    net_fixture_t *f = *state;
    /* RawPutRequest{ key (2) = "k", value (3) = filler up to one byte over }. */
    size_t len = RPC_REQUEST_MAX + 1;
    uint8_t *payload = calloc(1, len);
    size_t vlen = len - 3 - 5;
    payload[0] = 0x12;
    payload[1] = 1;
    payload[2] = 'k';
    payload[3] = 0x1a;
    for (int i = 0; i < 4; i++)
        payload[4 + i] = (uint8_t)(((vlen >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
    Rpcpb__RpcFrame *rep = NULL;
    assert_int_equal(rpc_client_call_raw(f->client, "RawPut", payload, len, &rep), TKV_OK);
    free(payload);
    if (rep->status != RPCPB__STATUS__STATUS_BAD_REQUEST || strstr(rep->error, "limit") == NULL)
        fail_msg("a request payload of %zu bytes (over RPC_REQUEST_MAX) should get "
                 "STATUS_BAD_REQUEST naming the limit; got status %d: \"%s\"",
                 len, rep->status, rep->error);
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    net_check_get(f->client, "", "k", NULL, 0);
    net_put_str(f->client, "after", "ok"); /* the connection is still good */
    net_check_get_str(f->client, "after", "ok");
}

static void test_largest_value_scans_back(void **state)
{
    net_fixture_t *f = *state;
    /* RawPutRequest{ key "k", value }: 3 bytes of key, 1 + 4 of the value's
     * tag and length, and the value: RPC_REQUEST_MAX in all. */
    const size_t len = RPC_REQUEST_MAX - 8;
    uint8_t *v = big_value(len);
    net_put(f->client, "", "k", 1, v, len);
    net_check_get(f->client, "", "k", v, len);
    Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    req.limit = 10;
    Kvrpcpb__RawScanResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "RawScan", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawScan of one value of %zu bytes (the largest a RawPut carries) failed: %s", len,
                 tkv_last_error());
    if (resp->n_kvs != 1 || resp->kvs[0]->value.len != len ||
        memcmp(resp->kvs[0]->value.data, v, len) != 0)
        fail_msg("RawScan should return the one %zu-byte value; got %zu pairs", len, resp->n_kvs);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(v);
}

const tkv_test_t large_tests[] = {
    { "frame", "rpc_request_over_limit_is_bad_request", 0,
      "a request payload over RPC_REQUEST_MAX gets STATUS_BAD_REQUEST; the connection goes on",
      test_request_over_limit_is_bad_request, 0, net_setup_memstore, net_teardown },
    { "project1", "server_largest_value_scans_back", 1,
      "a value of the largest size a RawPut carries is got and scanned back through the server",
      test_largest_value_scans_back, 0, net_setup_standalone, net_teardown },
    { 0 },
};
