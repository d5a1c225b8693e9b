/*
 * The scheduler's tests: project3c (region heartbeats, balance-region and
 * the moves it hands out) and frame (region tree, TSO, ids, store liveness,
 * region checks, operators, the replica checker, service handlers, the
 * tinykv-scheduler program).
 */
#include "tests/harness/test.h"

extern const tkv_test_t heartbeat_tests[];
extern const tkv_test_t balance_tests[];
extern const tkv_test_t region_tree_tests[];
extern const tkv_test_t tso_tests[];
extern const tkv_test_t cluster_tests[];
extern const tkv_test_t service_tests[];
extern const tkv_test_t binary_tests[];
extern const tkv_test_t operator_tests[];
extern const tkv_test_t epoch_rules_tests[];
extern const tkv_test_t replica_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        heartbeat_tests, balance_tests,  region_tree_tests,
        tso_tests,       cluster_tests,  service_tests,
        binary_tests,    operator_tests, epoch_rules_tests,
        replica_tests,   NULL,
    };
    return tables;
}
