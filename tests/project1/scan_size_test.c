/*
 * RawScan stays under the frame limit: it stops before a pair that would take
 * the response past RAW_SCAN_MAX_BYTES and says so (resp->more), so that a
 * client scanning again from after the last key gets every pair back. (That
 * a value of the largest size a request can carry scans back through the
 * server is checked in tests/net/large_test.c.)
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/project1/fixture.h"

#define MIB (1024u * 1024u)

static uint8_t *big_value(size_t len, uint8_t seed)
{
    uint8_t *v = malloc(len);
    for (size_t i = 0; i < len; i++)
        v[i] = (uint8_t)(seed + i * 31);
    return v;
}

static Kvrpcpb__RawScanResponse *scan_from(storage_t *s, const tkv_buf_t *start, uint32_t limit)
{
    Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    req.start_key.data = start->data;
    req.start_key.len = start->len;
    req.limit = limit;
    Kvrpcpb__RawScanResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_scan_response__init(resp);
    expect_err(raw_scan(s, &req, resp), TKV_OK, "raw_scan(s, &req, resp)");
    if (resp->error != NULL && resp->error[0] != '\0')
        fail_msg("RawScan answered with an error: %s", resp->error);
    size_t packed = kvrpcpb__raw_scan_response__get_packed_size(resp);
    if (packed > RAW_SCAN_MAX_BYTES + 64)
        fail_msg("a RawScan response of %zu pairs packs to %zu bytes, over RAW_SCAN_MAX_BYTES "
                 "(%u): it could never be sent",
                 resp->n_kvs, packed, RAW_SCAN_MAX_BYTES);
    return resp;
}

static void test_scan_stops_under_frame_limit(void **state)
{
    p1_fixture_t *f = *state;
    const size_t len = 6 * MIB; /* two fit in a response, three do not */
    const char keys[] = "abcd";
    for (int i = 0; i < 4; i++) {
        uint8_t *v = big_value(len, (uint8_t)i);
        p1_put(f->storage, "", &keys[i], 1, v, len);
        free(v);
    }
    tkv_buf_t start = TKV_BUF_INIT;
    int got = 0, calls = 0;
    for (;;) {
        Kvrpcpb__RawScanResponse *resp = scan_from(f->storage, &start, 100);
        calls++;
        if (resp->n_kvs == 0 && resp->more)
            fail_msg("RawScan said more but returned no pair: a client would loop forever");
        for (size_t i = 0; i < resp->n_kvs; i++, got++) {
            if (got >= 4)
                fail_msg("more than the 4 pairs stored came back");
            Kvrpcpb__KvPair *p = resp->kvs[i];
            uint8_t *want = big_value(len, (uint8_t)got);
            int same = p->key.len == 1 && p->key.data[0] == (uint8_t)keys[got] &&
                       p->value.len == len && memcmp(p->value.data, want, len) == 0;
            free(want);
            if (!same)
                fail_msg("pair %d came back wrong (key '%.*s', %zu bytes)", got, (int)p->key.len,
                         (const char *)p->key.data, p->value.len);
            buf_set(&start, p->key.data, p->key.len);
            buf_append_byte(&start, 0); /* the next key after it */
        }
        int more = resp->more;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        if (!more)
            break;
        if (calls > 8)
            fail_msg("RawScan keeps saying more after %d calls", calls);
    }
    buf_free(&start);
    if (got != 4)
        fail_msg("scanning on while resp->more is set returned %d of 4 pairs of 6 MiB (the first "
                 "response stops early, with more set)",
                 got);
    if (calls < 2)
        fail_msg("24 MiB came back in one response: it cannot fit in a frame");
}

static void test_limit_is_not_more(void **state)
{
    p1_fixture_t *f = *state;
    p1_put_str(f->storage, "", "a", "1");
    p1_put_str(f->storage, "", "b", "2");
    tkv_buf_t start = TKV_BUF_INIT;
    Kvrpcpb__RawScanResponse *resp = scan_from(f->storage, &start, 1);
    if (resp->n_kvs != 1 || resp->more)
        fail_msg("a scan cut by its limit returns `limit` pairs and no more flag (the flag is "
                 "for the size limit only); got %zu pairs, more=%d",
                 resp->n_kvs, resp->more);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    buf_free(&start);
}

const tkv_test_t scan_size_tests[] = {
    { "project1", "scan_stops_under_frame_limit", 3,
      "RawScan stops before the frame limit with more set; scanning on returns every pair",
      test_scan_stops_under_frame_limit, 0, p1_setup, p1_teardown },
    { "project1", "scan_limit_is_not_more", 1,
      "a scan cut by its limit does not set more: that flag means the size limit",
      test_limit_is_not_more, 0, p1_setup, p1_teardown },
    { 0 },
};
