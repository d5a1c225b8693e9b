/*
 * Project 3C, region epochs across regions: which half of an epoch compares
 * with a *different* region. conf_ver counts one region's own membership
 * changes, so a neighbour's conf_ver says nothing about whether a heartbeat
 * is old; only version (splits and merges) orders overlapping regions. A
 * scheduler that compares conf_ver across regions refuses a merge whose
 * absorbed neighbour had more membership changes, and keeps a region that
 * no longer exists.
 */
#include <stdlib.h>

#include "tests/harness/expect.h"
#include "tests/scheduler/sched_fixture.h"

static void heartbeat(sfix_t *f, const sched_region_t *r, tkv_err_t want, const char *what)
{
    tkv_err_t got = cluster_process_region_heartbeat(f->c, r);
    expect_err(got, want, "heartbeat of region %llu at epoch (conf_ver %llu, version %llu): %s",
               (unsigned long long)region_id(r), (unsigned long long)region_conf_ver(r),
               (unsigned long long)region_version(r), what);
}

static void test_merge_with_busier_neighbour_accepted(void **state)
{
    sfix_t *f = *state;
    for (uint64_t s = 1; s <= 3; s++)
        sfix_add_store(f, s);
    uint64_t stores[3] = { 1, 2, 3 };
    /* Region 3 went through many membership changes (conf_ver 9); region 2
     * went through one (conf_ver 2). Both were split once (version 2). */
    sched_region_t *left = mk_region(2, "a", "m", 2, 2, stores, 3, 0, 10);
    sched_region_t *right = mk_region(3, "m", "z", 9, 2, stores, 3, 1, 10);
    heartbeat(f, left, TKV_OK, "a new region");
    heartbeat(f, right, TKV_OK, "a new region");
    /* Region 2 absorbs region 3: a merge raises version, not conf_ver. */
    sched_region_t *merged = mk_region(2, "a", "z", 2, 3, stores, 3, 0, 20);
    heartbeat(f, merged, TKV_OK,
              "region 2 merged region 3 (conf_ver 9, version 2) away: its version 3 is newer, "
              "and conf_ver 9 counts region 3's own membership changes");
    expect_true(cluster_get_region(f->c, 3) == NULL,
                "region 3 must be gone once the merged region 2 covers its range");
    sched_region_t *at_m = cluster_search_region(f->c, slice_of_str("m"));
    expect_u64(at_m ? region_id(at_m) : 0, 2, "the region holding key \"m\" after the merge");
    expect_u64(cluster_region_count(f->c), 1, "regions known after the merge");
    /* Region 3's old leader is behind on version: still refused. */
    heartbeat(f, right, TKV_ERR_STALE, "region 3 from before the merge (version 2 < 3)");
    expect_u64(cluster_region_count(f->c), 1, "regions known after the stale heartbeat");

    /* The other way round: a split-off region with a low conf_ver next to
     * a neighbour with a high one is news too. */
    sched_region_t *split = mk_region(4, "m", "z", 1, 4, stores, 3, 2, 10);
    sched_region_t *shrunk = mk_region(2, "a", "m", 2, 4, stores, 3, 0, 10);
    heartbeat(f, shrunk, TKV_OK, "region 2 after splitting off region 4 (version 4)");
    heartbeat(f, split, TKV_OK, "region 4 (conf_ver 1), split off region 2 (conf_ver 2)");
    expect_u64(cluster_region_count(f->c), 2, "regions known after the split");
    region_free(left);
    region_free(right);
    region_free(merged);
    region_free(split);
    region_free(shrunk);
}

#define S(name, pts, desc, fn)                                                                     \
    {                                                                                              \
        "project3c", name, pts, desc, fn, 0, sfix_setup, sfix_teardown                             \
    }
const tkv_test_t epoch_rules_tests[] = {
    S("merge_with_busier_neighbour_accepted", 3,
      "only version orders overlapping regions: a neighbour's higher conf_ver is no reason to "
      "refuse",
      test_merge_with_busier_neighbour_accepted),
    { 0 },
};
