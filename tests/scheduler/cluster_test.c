/*
 * Frame: the cluster bookkeeping students build on: store liveness (the
 * store-down rule), persistence of stores, and refusal of malformed regions.
 */
#include "tests/harness/expect.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

static void test_store_down_after_silence(void **state)
{
    sfix_t *f = *state;
    sfix_add_store(f, 1);
    sched_store_t *s = cluster_get_store(f->c, 1);
    uint64_t limit = cluster_config(f->c)->max_store_down_ms;
    assert_true(cluster_store_is_suitable(f->c, s));
    vclock_advance(&f->vc, limit - 1);
    assert_false(cluster_store_is_down(f->c, s));
    vclock_advance(&f->vc, 1);
    assert_true(cluster_store_is_down(f->c, s));
    assert_false(cluster_store_is_suitable(f->c, s));
    sfix_heartbeat_stores(f);
    assert_true(cluster_store_is_suitable(f->c, s));
    /* Offline stores are up to date but not suitable. */
    sfix_set_store_state(f, 1, METAPB__STORE_STATE__STORE_OFFLINE);
    assert_false(cluster_store_is_suitable(f->c, cluster_get_store(f->c, 1)));
    /* Unknown stores cannot send heartbeats. */
    Schedulerpb__StoreStats stats = SCHEDULERPB__STORE_STATS__INIT;
    stats.store_id = 9;
    expect_err(cluster_store_heartbeat(f->c, &stats), TKV_ERR_NOT_FOUND,
               "cluster_store_heartbeat(f->c, &stats)");
    /* Stores survive a restart. */
    sfix_reopen(f);
    assert_non_null(cluster_get_store(f->c, 1));
    assert_int_equal(cluster_get_store(f->c, 1)->meta->state, METAPB__STORE_STATE__STORE_OFFLINE);
}

static void test_inverted_range_refused(void **state)
{
    sfix_t *f = *state;
    uint64_t none[1] = { 0 };
    sched_region_t *r = mk_region(1, "m", "c", 1, 1, none, 0, -1, 0);
    expect_err(cluster_put_region(f->c, r), TKV_ERR_INVALID, "cluster_put_region(f->c, r)");
    region_free(r);
    r = mk_region(1, "m", "m", 1, 1, none, 0, -1, 0);
    expect_err(cluster_put_region(f->c, r), TKV_ERR_INVALID, "cluster_put_region(f->c, r)");
    region_free(r);
    assert_int_equal(cluster_region_count(f->c), 0);
    r = mk_region(1, "m", "", 1, 1, none, 0, -1, 0);
    expect_err(cluster_put_region(f->c, r), TKV_OK, "cluster_put_region(f->c, r)");
    region_free(r);
    assert_int_equal(cluster_region_count(f->c), 1);
}

const tkv_test_t cluster_tests[] = {
    { "frame", "store_down_after_silence", 0,
      "a store is down after max_store_down_ms without a heartbeat and up after one",
      test_store_down_after_silence, 0, sfix_setup, sfix_teardown },
    { "frame", "cluster_refuses_inverted_range", 0,
      "a region whose start key is not below its end key is refused", test_inverted_range_refused,
      0, sfix_setup, sfix_teardown },
    { 0 },
};
