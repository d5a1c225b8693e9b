/*
 * Frame: the region tree answers "which region holds this key" and "which
 * regions overlap this range" like a brute-force scan would, through random
 * inserts and removals.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/prng.h"
#include "project3-multiraft/scheduler/region_tree.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

static sched_region_t *mk(uint64_t id, int lo, int hi)
{
    char s[16], e[16];
    snprintf(s, sizeof(s), "%03d", lo);
    snprintf(e, sizeof(e), "%03d", hi);
    uint64_t none[1] = { 0 };
    return mk_region(id, lo < 0 ? "" : s, hi < 0 ? "" : e, 1, 1, none, 0, -1, 0);
}

static void test_search_and_overlaps(void **state)
{
    (void)state;
    region_tree_t *t = rtree_new();
    rtree_insert(t, mk(2, 10, 20));
    rtree_insert(t, mk(1, -1, 5));
    rtree_insert(t, mk(3, 30, -1));
    assert_int_equal(rtree_count(t), 3);
    assert_int_equal(region_id(rtree_at(t, 0)), 1);
    assert_int_equal(region_id(rtree_at(t, 2)), 3);
    assert_int_equal(region_id(rtree_search(t, slice_of_str(""))), 1);
    assert_int_equal(region_id(rtree_search(t, slice_of_str("010"))), 2);
    assert_int_equal(region_id(rtree_search(t, slice_of_str("0199"))), 2);
    assert_null(rtree_search(t, slice_of_str("020")));
    assert_null(rtree_search(t, slice_of_str("007")));
    assert_int_equal(region_id(rtree_search(t, slice_of_str("999"))), 3);
    assert_int_equal(region_id(rtree_get(t, 3)), 3);
    assert_null(rtree_get(t, 4));

    sched_region_t **o = NULL;
    assert_int_equal(rtree_overlaps(t, slice_of_str("004"), slice_of_str("031"), &o), 3);
    free(o);
    assert_int_equal(rtree_overlaps(t, slice_of_str("005"), slice_of_str("010"), &o), 0);
    assert_null(o);
    assert_int_equal(rtree_overlaps(t, slice_of_str("015"), slice_of_str(""), &o), 2);
    assert_int_equal(region_id(o[0]), 2);
    assert_int_equal(region_id(o[1]), 3);
    free(o);
    sched_region_t *r = rtree_get(t, 2);
    rtree_remove(t, r);
    region_free(r);
    assert_null(rtree_search(t, slice_of_str("015")));
    assert_int_equal(rtree_count(t), 2);
    rtree_free(t);
}

/* Random disjoint regions over keys 000..099: a model array says which
 * region (if any) owns each key. */
static void random_body(uint64_t seed, void *arg)
{
    (void)arg;
    tkv_prng_t p;
    prng_seed(&p, seed);
    region_tree_t *t = rtree_new();
    uint64_t owner[100] = { 0 };
    uint64_t next = 1;
    for (int step = 0; step < 400; step++) {
        int lo = (int)prng_below(&p, 100), hi = lo + 1 + (int)prng_below(&p, 10);
        if (hi > 100)
            hi = 100;
        /* Like a heartbeat: drop what the new range overlaps, insert it. */
        sched_region_t **o = NULL;
        char s[16], e[16];
        snprintf(s, sizeof(s), "%03d", lo);
        snprintf(e, sizeof(e), "%03d", hi);
        size_t n = rtree_overlaps(t, slice_of_str(s), slice_of_str(e), &o);
        for (size_t i = 0; i < n; i++) {
            for (int k = 0; k < 100; k++) {
                if (owner[k] == region_id(o[i]))
                    owner[k] = 0;
            }
            rtree_remove(t, o[i]);
            region_free(o[i]);
        }
        free(o);
        /* The model agrees nothing in [lo, hi) is owned any more. */
        for (int k = lo; k < hi; k++)
            assert_int_equal(owner[k], 0);
        uint64_t id = next++;
        rtree_insert(t, mk(id, lo, hi));
        for (int k = lo; k < hi; k++)
            owner[k] = id;
        for (int k = 0; k < 100; k++) {
            char key[16];
            snprintf(key, sizeof(key), "%03d", k);
            const sched_region_t *r = rtree_search(t, slice_of_str(key));
            assert_int_equal(r ? region_id(r) : 0, owner[k]);
        }
        for (size_t i = 1; i < rtree_count(t); i++)
            assert_true(
                slice_compare(region_start(rtree_at(t, i - 1)), region_start(rtree_at(t, i))) < 0);
    }
    rtree_free(t);
}

static void test_random_against_model(void **state)
{
    (void)state;
    /* Cheap (a few ms a seed): more seeds than the default. */
    tkv_for_each_seed_n(3, 20, random_body, NULL);
}

const tkv_test_t region_tree_tests[] = {
    { "frame", "region_tree_search_and_overlaps", 0,
      "the region tree finds the region holding a key and the regions overlapping a range",
      test_search_and_overlaps },
    { "frame", "region_tree_random_against_model", 0,
      "through random replacements the tree agrees with a key-by-key model",
      test_random_against_model },
    { 0 },
};
