/*
 * Frame: the timestamp oracle and the id allocator never go back, not even
 * across a restart on a clock that is behind.
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/id_alloc.h"
#include "project3-multiraft/scheduler/tso.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

static uint64_t next_ts(sched_tso_t *t, uint32_t count)
{
    int64_t phys = 0, logi = 0;
    expect_err(tso_get(t, count, &phys, &logi), TKV_OK, "tso_get(t, count, &phys, &logi)");
    assert_true(logi > 0 && logi < TSO_MAX_LOGICAL);
    return tso_compose(phys, logi);
}

static void test_tso_monotonic_across_restart(void **state)
{
    sfix_t *f = *state;
    tkv_vclock_t vc;
    vclock_init(&vc, 5000000);
    sched_tso_t *t = NULL;
    expect_err(tso_open(f->eng, &vc.clock, 1000, &t), TKV_OK,
               "tso_open(f->eng, &vc.clock, 1000, &t)");
    uint64_t last = 0;
    /* Within one millisecond, past the logical limit, and across windows. */
    for (int i = 0; i < 3000; i++) {
        uint64_t ts = next_ts(t, i % 7 == 0 ? 1000 : 1);
        assert_true(ts > last);
        last = ts;
        if (i % 500 == 0)
            vclock_advance(&vc, 700);
    }
    /* A batch takes `count` values: the next starts above its last. */
    uint64_t a = next_ts(t, 10), b = next_ts(t, 1);
    assert_true(b == a + 1 || (b >> TSO_LOGICAL_BITS) > (a >> TSO_LOGICAL_BITS));
    last = b;
    int64_t p = 0, l = 0;
    expect_err(tso_get(t, 0, &p, &l), TKV_ERR_INVALID, "tso_get(t, 0, &p, &l)");
    expect_err(tso_get(t, TSO_MAX_LOGICAL, &p, &l), TKV_ERR_INVALID,
               "tso_get(t, TSO_MAX_LOGICAL, &p, &l)");
    tso_free(t);

    /* Restart on a clock an hour behind. */
    tkv_vclock_t behind;
    vclock_init(&behind, 5000000 - 3600 * 1000);
    expect_err(tso_open(f->eng, &behind.clock, 1000, &t), TKV_OK,
               "tso_open(f->eng, &behind.clock, 1000, &t)");
    for (int i = 0; i < 100; i++) {
        uint64_t ts = next_ts(t, 1);
        assert_true(ts > last);
        last = ts;
    }
    tso_free(t);
}

static void test_ids_unique_across_restart(void **state)
{
    sfix_t *f = *state;
    sched_id_alloc_t *a = NULL;
    expect_err(idalloc_open(f->eng, 7, &a), TKV_OK, "idalloc_open(f->eng, 7, &a)");
    uint64_t last = 0, id = 0;
    for (int i = 0; i < 50; i++) {
        expect_err(idalloc_next(a, &id), TKV_OK, "idalloc_next(a, &id)");
        assert_true(id > last);
        last = id;
    }
    idalloc_free(a);
    for (int round = 0; round < 3; round++) {
        expect_err(idalloc_open(f->eng, 7, &a), TKV_OK, "idalloc_open(f->eng, 7, &a)");
        for (int i = 0; i < 5; i++) {
            expect_err(idalloc_next(a, &id), TKV_OK, "idalloc_next(a, &id)");
            assert_true(id > last);
            last = id;
        }
        idalloc_free(a);
    }
}

const tkv_test_t tso_tests[] = {
    { "frame", "tso_monotonic_across_restart", 0,
      "timestamps only grow: past the logical limit, and after a restart on a clock behind",
      test_tso_monotonic_across_restart, 0, sfix_setup, sfix_teardown },
    { "frame", "ids_unique_across_restart", 0,
      "ids only grow, also across restarts that waste part of a batch",
      test_ids_unique_across_restart, 0, sfix_setup, sfix_teardown },
    { 0 },
};
