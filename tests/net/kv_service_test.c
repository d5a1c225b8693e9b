/*
 * The standalone TinyKv service (project1-standalone/kv_service.h) over real
 * loopback TCP: the raw API of project 1 on standalone storage in a scratch
 * directory, behind rpc_server, called through rpc_client.
 *
 * These are in suite project1 rather than frame, worth 0 points: they need
 * the student's raw API and standalone storage, so on a handout they fail
 * until project 1 is done (frame tests must pass there). When they pass, the
 * lab's code works through the real server too: what tinykv-server runs.
 */
#include <stdio.h>
#include <string.h>

#include "proto/tinykvpb.pb-c.h"
#include "tests/harness/expect.h"
#include "tests/net/net_fixture.h"

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
    expect_true(resp->error[0] == '\0', "RawScan from \"%s\" over the wire failed: %s", start,
                resp->error);
    expect_u64(resp->n_kvs, n, "pairs RawScan from \"%s\" with limit %u returns over the wire",
               start, (unsigned)limit);
    for (size_t i = 0; i < n; i++) {
        char got[256];
        snprintf(got, sizeof(got), "%.*s=%.*s", (int)resp->kvs[i]->key.len,
                 (const char *)resp->kvs[i]->key.data, (int)resp->kvs[i]->value.len,
                 (const char *)resp->kvs[i]->value.data);
        expect_bytes(got, strlen(got), want[i], strlen(want[i]),
                     "pair %zu (key=value) RawScan from \"%s\" returns over the wire", i, start);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void test_raw_methods_round_trip(void **state)
{
    net_fixture_t *f = *state;
    rpc_client_t *c = f->client;
    net_put_str(c, "b", "2");
    net_put_str(c, "a", "1");
    net_put_str(c, "c", "3");
    net_put(c, "lock", "a", 1, "in lock", 7);
    const uint8_t binary[] = { 0, 1, 0, 255 };
    net_put(c, "", "z", 1, binary, sizeof(binary));

    net_check_get_str(c, "a", "1");
    net_check_get(c, "lock", "a", "in lock", 7);
    net_check_get(c, "", "z", binary, sizeof(binary));
    net_check_get_str(c, "missing", NULL);
    net_check_get(c, "write", "a", NULL, 0);

    const char *all[] = { "a=1", "b=2", "c=3" };
    check_scan(c, "", 3, all, 3);
    check_scan(c, "b", 1, all + 1, 1);
    check_scan(c, "a", 0, NULL, 0);

    net_delete(c, "b");
    net_check_get_str(c, "b", NULL);
    const char *after[] = { "a=1", "c=3" };
    check_scan(c, "", 2, after, 2);
    net_check_get(c, "lock", "a", "in lock", 7);
}

static void test_storage_errors_reach_the_client(void **state)
{
    net_fixture_t *f = *state;
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)"k";
    req.key.len = 1;
    req.cf = "no-such-cf";
    Kvrpcpb__RawPutResponse *resp = NULL;
    expect_err(rpc_client_call(f->client, &tinykvpb__tiny_kv__descriptor, "RawPut", &req.base,
                               (ProtobufCMessage **)&resp),
               TKV_OK, "the RawPut call to column family no-such-cf (the error goes in the reply)");
    expect_true(strstr(resp->error, "no-such-cf") != NULL,
                "the error of a RawPut to column family no-such-cf must name it; it is \"%s\"",
                resp->error);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void test_concurrent_clients_on_standalone_storage(void **state)
{
    net_fixture_t *f = *state;
    expect_u64(net_run_concurrent_clients(f->addr, 8, 50), 0,
               "calls of 8 concurrent clients (50 puts each, every key read back) that failed or "
               "read back something else");
    const char *want[] = { "w3-00=v3-00", "w3-01=v3-01" };
    check_scan(f->client, "w3-", 2, want, 2);
}

#define P1(name, desc, fn)                                                                         \
    {                                                                                              \
        "project1", name, 2, desc, fn, 0, net_setup_standalone, net_teardown                       \
    }

const tkv_test_t kv_service_tests[] = {
    P1("server_raw_methods_round_trip",
       "RawPut/RawGet/RawScan/RawDelete through tinykv's TCP server read back what was written",
       test_raw_methods_round_trip),
    P1("server_storage_errors_reach_the_client",
       "a storage error (unknown column family) travels in the response's error field",
       test_storage_errors_reach_the_client),
    P1("server_concurrent_clients",
       "8 clients at once through the server each read back their own writes",
       test_concurrent_clients_on_standalone_storage),
    { 0 },
};
