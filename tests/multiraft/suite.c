/*
 * Project 3B's graded suite: regions that move their leader, change their
 * members and split, under the faults of 2B and 2C, checked the same way
 * (client views, linearizability) plus what only 3B can get wrong
 * (tombstones, stale leaders across a split, many regions per store).
 */
#include "tests/harness/test.h"

extern const tkv_test_t admin_tests[];
extern const tkv_test_t confchange_tests[];
extern const tkv_test_t split_tests[];
extern const tkv_test_t generic3b_tests[];
extern const tkv_test_t replica_sched_tests[];
extern const tkv_test_t determinism_tests[];
extern const tkv_test_t region_report_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        /* The quick single-rule tests first: `make mutation` stops at the first failure. */
        region_report_tests, admin_tests,         confchange_tests,  split_tests,
        generic3b_tests,     replica_sched_tests, determinism_tests, NULL,
    };
    return tables;
}
