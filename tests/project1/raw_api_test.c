/*
 * Project 1, through the raw API: the behaviours of TinyKV's project 1 tests
 * and the edges they leave out (column families, zero bytes, large values,
 * empty ranges, restarts, bad column families).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/project1/fixture.h"

#define STORAGE(state) (((p1_fixture_t *)*(state))->storage)

static void test_get_missing_key_is_not_found(void **state)
{
    p1_expect_missing(STORAGE(state), NULL, "nothing-here");
    p1_expect_missing(STORAGE(state), CF_LOCK, "nothing-here");
}

static void test_put_then_get(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, NULL, "apple", "red");
    p1_put_str(s, CF_DEFAULT, "banana", "yellow");
    p1_expect_str(s, CF_DEFAULT, "apple", "red");
    p1_expect_str(s, NULL, "banana", "yellow");
}

static void test_put_overwrites(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, NULL, "k", "v1");
    p1_put_str(s, NULL, "k", "v2");
    p1_expect_str(s, NULL, "k", "v2");
}

static void test_delete_then_get(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, NULL, "k", "v");
    p1_put_str(s, NULL, "other", "stays");
    p1_delete(s, NULL, "k", 1);
    p1_expect_missing(s, NULL, "k");
    p1_expect_str(s, NULL, "other", "stays");
}

static void test_delete_of_missing_key_succeeds(void **state)
{
    storage_t *s = STORAGE(state);
    p1_delete(s, NULL, "never-written", 13);
    p1_expect_missing(s, NULL, "never-written");
}

static void test_empty_value_is_a_value(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put(s, NULL, "k", 1, "", 0);
    tkv_buf_t v = TKV_BUF_INIT;
    expect_true(p1_get(s, NULL, "k", 1, &v), "RawGet of key k, put with an empty value, must find "
                                             "it (an empty value is a value, not a missing key)");
    expect_u64(v.len, 0, "the length of the value RawGet returns for k, put with an empty value");
    buf_free(&v);
}

static void test_scan_from_start_key_with_limit(void **state)
{
    storage_t *s = STORAGE(state);
    const char *keys[] = { "k1", "k2", "k3", "k4", "k5" };
    for (int i = 0; i < 5; i++)
        p1_put_str(s, NULL, keys[i], keys[i] + 1);
    Kvrpcpb__RawScanResponse *r = p1_scan(s, NULL, "k2", 2);
    p1_expect_scan_keys(r, (const char *[]){ "k2", "k3", NULL });
    expect_bytes(r->kvs[0]->value.data, r->kvs[0]->value.len, "2", 1,
                 "the value of k2, the first pair RawScan from k2 returns");
    expect_bytes(r->kvs[1]->value.data, r->kvs[1]->value.len, "3", 1,
                 "the value of k3, the second pair RawScan from k2 returns");
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* A start key between keys starts at the next one; a limit past the end stops there. */
    r = p1_scan(s, NULL, "k3x", 10);
    p1_expect_scan_keys(r, (const char *[]){ "k4", "k5", NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_scan_after_puts_and_deletes(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, NULL, "a", "1");
    p1_put_str(s, NULL, "b", "2");
    p1_put_str(s, NULL, "c", "3");
    p1_delete(s, NULL, "b", 1);
    p1_put_str(s, NULL, "d", "4");
    Kvrpcpb__RawScanResponse *r = p1_scan(s, NULL, "", 10);
    p1_expect_scan_keys(r, (const char *[]){ "a", "c", "d", NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
    p1_delete(s, NULL, "a", 1);
    p1_put_str(s, NULL, "b", "again");
    r = p1_scan(s, NULL, "", 2);
    p1_expect_scan_keys(r, (const char *[]){ "b", "c", NULL });
    expect_bytes(r->kvs[0]->value.data, r->kvs[0]->value.len, "again", 5,
                 "the value of b, put again after its delete, as RawScan returns it");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_scan_limit_zero_returns_nothing(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, NULL, "a", "1");
    Kvrpcpb__RawScanResponse *r = p1_scan(s, NULL, "", 0);
    p1_expect_scan_keys(r, (const char *[]){ NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_scan_of_empty_ranges(void **state)
{
    storage_t *s = STORAGE(state);
    Kvrpcpb__RawScanResponse *r = p1_scan(s, NULL, "", 5);
    p1_expect_scan_keys(r, (const char *[]){ NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
    p1_put_str(s, NULL, "a", "1");
    p1_put_str(s, CF_WRITE, "z", "1"); /* a later key, but in another family */
    r = p1_scan(s, NULL, "b", 5);
    p1_expect_scan_keys(r, (const char *[]){ NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_column_families_do_not_leak(void **state)
{
    storage_t *s = STORAGE(state);
    p1_put_str(s, CF_DEFAULT, "k", "in-default");
    p1_put_str(s, CF_LOCK, "k", "in-lock");
    p1_put_str(s, CF_WRITE, "k", "in-write");
    p1_put_str(s, CF_LOCK, "only-lock", "x");
    p1_expect_str(s, CF_DEFAULT, "k", "in-default");
    p1_expect_str(s, CF_LOCK, "k", "in-lock");
    p1_expect_str(s, CF_WRITE, "k", "in-write");
    p1_expect_missing(s, CF_DEFAULT, "only-lock");
    p1_delete(s, CF_LOCK, "k", 1);
    p1_expect_missing(s, CF_LOCK, "k");
    p1_expect_str(s, CF_DEFAULT, "k", "in-default");
    p1_expect_str(s, CF_WRITE, "k", "in-write");
    Kvrpcpb__RawScanResponse *r = p1_scan(s, CF_LOCK, "", 10);
    p1_expect_scan_keys(r, (const char *[]){ "only-lock", NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
    r = p1_scan(s, CF_DEFAULT, "", 10);
    p1_expect_scan_keys(r, (const char *[]){ "k", NULL });
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_large_value(void **state)
{
    storage_t *s = STORAGE(state);
    size_t n = 1 << 20;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    p1_put(s, NULL, "big", 3, big, n);
    tkv_buf_t v = TKV_BUF_INIT;
    expect_true(p1_get(s, NULL, "big", 3, &v),
                "RawGet of key big, put with a 1 MiB value, must find it");
    expect_bytes(v.data, v.len, big, n, "the 1 MiB value RawGet returns for key big");
    buf_free(&v);
    free(big);
}

static void test_binary_keys_with_zero_bytes(void **state)
{
    storage_t *s = STORAGE(state);
    /* Four distinct keys that a C-string implementation would confuse. */
    p1_put(s, NULL, "a", 1, "1", 1);
    p1_put(s, NULL, "a\0", 2, "2", 1);
    p1_put(s, NULL, "a\0b", 3, "3", 1);
    p1_put(s, NULL, "a\0c", 3, "4", 1);
    const struct {
        const char *key;
        size_t len;
        char val;
    } want[] = { { "a", 1, '1' }, { "a\0", 2, '2' }, { "a\0b", 3, '3' }, { "a\0c", 3, '4' } };
    tkv_buf_t v = TKV_BUF_INIT;
    for (int i = 0; i < 4; i++) {
        expect_true(p1_get(s, NULL, want[i].key, want[i].len, &v),
                    "RawGet of key %d of 4 (\"a\", \"a\\0\", \"a\\0b\", \"a\\0c\": keys are bytes, "
                    "zero bytes included) must find it",
                    i + 1);
        expect_bytes(
            v.data, v.len, &want[i].val, 1,
            "the value RawGet returns for key %d of 4 (\"a\", \"a\\0\", \"a\\0b\", \"a\\0c\")",
            i + 1);
    }
    buf_free(&v);
    Kvrpcpb__RawScanResponse *r = p1_scan(s, NULL, "", 10);
    expect_u64(r->n_kvs, 4,
               "pairs RawScan returns of keys \"a\", \"a\\0\", \"a\\0b\", \"a\\0c\" (distinct "
               "keys, zero bytes included)");
    for (int i = 0; i < 4; i++) {
        expect_bytes(r->kvs[i]->key.data, r->kvs[i]->key.len, want[i].key, want[i].len,
                     "key %d RawScan returns (in byte order)", i + 1);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_data_survives_restart(void **state)
{
    p1_fixture_t *f = *state;
    p1_put_str(f->storage, NULL, "kept", "yes");
    p1_put_str(f->storage, CF_WRITE, "w", "1");
    p1_put_str(f->storage, NULL, "dropped", "no");
    p1_delete(f->storage, NULL, "dropped", 7);
    p1_restart(f);
    p1_expect_str(f->storage, NULL, "kept", "yes");
    p1_expect_str(f->storage, CF_WRITE, "w", "1");
    p1_expect_missing(f->storage, NULL, "dropped");
}

static void test_unknown_column_family_is_reported(void **state)
{
    storage_t *s = STORAGE(state);
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.cf = "bogus";
    req.key.data = (uint8_t *)"k";
    req.key.len = 1;
    req.value.data = (uint8_t *)"v";
    req.value.len = 1;
    Kvrpcpb__RawPutResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_put_response__init(resp);
    expect_err(raw_put(s, &req, resp), TKV_OK,
               "raw_put's return for a request naming column family 'bogus' (the error goes in "
               "resp->error)");
    expect_true(resp->error != NULL && strstr(resp->error, "bogus") != NULL,
                "RawPut to column family 'bogus' must answer an error naming 'bogus' in "
                "resp->error; it was %s",
                resp->error ? resp->error : "empty");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    /* Nothing landed in any real family, and reads name the problem too. */
    const char *cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };
    for (int i = 0; i < 3; i++) {
        Kvrpcpb__RawScanResponse *r = p1_scan(s, cfs[i], "", 10);
        p1_expect_scan_keys(r, (const char *[]){ NULL });
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    Kvrpcpb__RawGetRequest get = KVRPCPB__RAW_GET_REQUEST__INIT;
    get.cf = "bogus";
    get.key = req.key;
    Kvrpcpb__RawGetResponse *got = malloc(sizeof(*got));
    kvrpcpb__raw_get_response__init(got);
    expect_err(raw_get(s, &get, got), TKV_OK,
               "raw_get's return for a request naming column family 'bogus' (the error goes in "
               "resp->error)");
    expect_true(got->error != NULL && strstr(got->error, "bogus") != NULL,
                "RawGet from column family 'bogus' must answer an error naming 'bogus' in "
                "resp->error; it was %s",
                got->error ? got->error : "empty");
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

#define P1(name, points, desc)                                                                     \
    {                                                                                              \
        "project1", #name, points, desc, test_##name, 0, p1_setup, p1_teardown                     \
    }

const tkv_test_t raw_api_tests[] = {
    P1(get_missing_key_is_not_found, 2,
       "RawGet of a missing key sets not_found and reports no error"),
    P1(put_then_get, 3, "a value put is the value got, in the named or the default CF"),
    P1(put_overwrites, 2, "a second put of a key replaces its value"),
    P1(delete_then_get, 3, "a deleted key is not found; other keys stay"),
    P1(delete_of_missing_key_succeeds, 1, "deleting a key that was never written is not an error"),
    P1(empty_value_is_a_value, 1, "a key put with an empty value is found, with length 0"),
    P1(scan_from_start_key_with_limit, 4,
       "RawScan starts at the first key >= start and stops at the limit"),
    P1(scan_after_puts_and_deletes, 4, "RawScan sees the latest puts and skips deleted keys"),
    P1(scan_limit_zero_returns_nothing, 1, "RawScan with limit 0 returns no pairs"),
    P1(scan_of_empty_ranges, 2, "RawScan of an empty store or past the last key returns no pairs"),
    P1(column_families_do_not_leak, 4,
       "the same key in default, lock and write holds three values"),
    P1(large_value, 2, "a 1 MiB value reads back byte for byte"),
    P1(binary_keys_with_zero_bytes, 3, "keys are bytes: zero bytes inside keys keep them distinct"),
    P1(data_survives_restart, 3, "puts and deletes survive stopping and starting the storage"),
    P1(unknown_column_family_is_reported, 2,
       "an unknown CF is an error in the response and writes nothing"),
    { 0 },
};
