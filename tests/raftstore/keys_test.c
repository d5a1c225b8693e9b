/*
 * The local key layout (frame): metadata keys sort as the store relies on,
 * and never among user data.
 */
#include <string.h>

#include "project2-raft/raftstore/keys.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static void test_log_keys_sort_by_region_then_index(void **state)
{
    (void)state;
    tkv_buf_t a = TKV_BUF_INIT, b = TKV_BUF_INIT;
    keys_raft_log_key(&a, 1, 255);
    keys_raft_log_key(&b, 1, 256);
    assert_true(slice_compare(buf_slice(&a), buf_slice(&b)) < 0);
    keys_raft_log_key(&a, 1, UINT64_MAX);
    keys_raft_state_key(&b, 1); /* right after the region's last log key */
    assert_true(slice_compare(buf_slice(&a), buf_slice(&b)) < 0);
    keys_raft_log_key(&a, 2, 0);
    assert_true(slice_compare(buf_slice(&b), buf_slice(&a)) < 0);
    uint64_t rid = 0, idx = 0;
    keys_raft_log_key(&a, 7, 12345);
    expect_err(keys_decode_raft_log_key(buf_slice(&a), &rid, &idx), TKV_OK,
               "keys_decode_raft_log_key(buf_slice(&a), &rid, &idx)");
    assert_int_equal(rid, 7);
    assert_int_equal(idx, 12345);
    expect_err(keys_decode_raft_log_key(buf_slice(&b), &rid, &idx), TKV_ERR_CORRUPT,
               "keys_decode_raft_log_key(buf_slice(&b), &rid, &idx)");
    buf_free(&a);
    buf_free(&b);
}

static void test_metadata_sorts_before_user_data(void **state)
{
    (void)state;
    tkv_buf_t k = TKV_BUF_INIT;
    keys_region_state_key(&k, UINT64_MAX);
    /* Column family keys start with their name: "default_", "lock_", "write_". */
    assert_true(slice_compare(buf_slice(&k), slice_of_str("default_")) < 0);
    assert_true(slice_compare(buf_slice(&k), slice_of_str("lock_")) < 0);
    keys_store_ident(&k);
    assert_int_equal(k.data[0], KEYS_LOCAL_PREFIX);
    uint64_t rid = 0;
    keys_region_state_key(&k, 42);
    expect_err(keys_decode_region_state_key(buf_slice(&k), &rid), TKV_OK,
               "keys_decode_region_state_key(buf_slice(&k), &rid)");
    assert_int_equal(rid, 42);
    buf_free(&k);
}

const tkv_test_t keys_tests[] = {
    { "frame", "log_keys_sort_by_region_then_index", 0,
      "raft log keys sort by region, then index, before the region's raft state",
      test_log_keys_sort_by_region_then_index },
    { "frame", "metadata_sorts_before_user_data", 0,
      "metadata keys start with 0x01 and sort before every column family",
      test_metadata_sorts_before_user_data },
    { 0 },
};
