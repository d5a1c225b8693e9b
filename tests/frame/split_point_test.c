/*
 * Where the split checker cuts a region (project3-multiraft/raftstore/
 * split_check.c, frame code): raw data anywhere; transactional data only at
 * a boundary that keeps each user key's lock and versions in one region
 * whichever order they are compared in (at most 8 bytes, no zero byte).
 */
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "project3-multiraft/raftstore/mr_internal.h"
#include "project4-txn/mvcc/mvcc_codec.h"
#include "tests/harness/eng_fixture.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

typedef eng_fixture_t fixture_t;

/* The split key of a whole-range region holding what the test wrote. */
static void split_key_of(fixture_t *f, tkv_buf_t *key)
{
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = 1;
    r.region_epoch = &ep;
    uint64_t size = 0;
    expect_err(mr_split_check(f->eng, &r, 1000, 500, &size, key), TKV_OK, "mr_split_check");
}

static void put_txn(fixture_t *f, const char *user, uint64_t ts)
{
    tkv_buf_t k = TKV_BUF_INIT;
    mvcc_encode_key(&k, slice_of_str(user), ts);
    char value[64];
    memset(value, 'v', sizeof(value));
    expect_err(eng_put(f->eng, CF_DEFAULT, buf_slice(&k), slice_of(value, sizeof(value))), TKV_OK,
               "putting a version into the default CF");
    buf_free(&k);
}

/* Versions of user keys "bt000000NN": the boundary is their 8-byte prefix
 * only once a key past that prefix comes; never the encoded key with its
 * timestamp, which would split a key's versions from each other. */
static void test_txn_data_splits_at_a_short_prefix(void **state)
{
    fixture_t *f = *state;
    char user[16];
    for (int i = 0; i < 40; i++) {
        snprintf(user, sizeof(user), "bt%08d", i * 5);
        put_txn(f, user, 100);
        put_txn(f, user, 90);
    }
    tkv_buf_t key = TKV_BUF_INIT;
    split_key_of(f, &key);
    if (key.len == 0 || key.len > 8 || memchr(key.data, 0, key.len) != NULL)
        fail_msg("transactional data split at a %zu-byte key, expected a boundary of 1 to 8 bytes "
                 "with no zero byte (a longer one sorts a key's lock and its versions into "
                 "different regions)",
                 key.len);
    if (memcmp(key.data, "bt", 2) != 0)
        fail_msg("the boundary %.*s is not a prefix of the keys written", (int)key.len,
                 (char *)key.data);
    buf_free(&key);
}

/* Raw data splits at the key where the size passes the threshold. */
static void test_raw_data_splits_at_a_key(void **state)
{
    fixture_t *f = *state;
    char k[32], value[64];
    memset(value, 'v', sizeof(value));
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof(k), "raw-key-%04d", i);
        expect_err(eng_put(f->eng, CF_DEFAULT, slice_of_str(k), slice_of(value, sizeof(value))),
                   TKV_OK, "eng_put");
    }
    tkv_buf_t key = TKV_BUF_INIT;
    split_key_of(f, &key);
    if (key.len != strlen("raw-key-0000") || memcmp(key.data, "raw-key-", 8) != 0)
        fail_msg("raw data split at '%.*s', expected one of the raw keys written", (int)key.len,
                 (char *)key.data);
    buf_free(&key);
}

const tkv_test_t split_point_tests[] = {
    { "frame", "txn_data_splits_at_a_short_prefix", 0,
      "transactional data splits at a boundary of at most 8 bytes, never inside a key's versions",
      test_txn_data_splits_at_a_short_prefix, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "raw_data_splits_at_a_key", 0, "raw data splits at the key past the split size",
      test_raw_data_splits_at_a_key, 0, eng_fixture_setup, eng_fixture_teardown },
    { 0 },
};
