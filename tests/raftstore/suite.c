/*
 * The replicated store's suites: peer storage units (project2b/2c) and, on
 * top, whole clusters on the simulator.
 */
#include "tests/harness/test.h"

extern const tkv_test_t keys_tests[];
extern const tkv_test_t peer_storage_tests[];
extern const tkv_test_t cluster_tests[];
extern const tkv_test_t crash_tests[];
extern const tkv_test_t snapshot_tests[];
extern const tkv_test_t snapshot_fault_tests[];
extern const tkv_test_t proposal_tests[];
extern const tkv_test_t raft_storage_tests[];
extern const tkv_test_t regions_tests[];
extern const tkv_test_t read_index_tests[];
extern const tkv_test_t overwritten_slot_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        keys_tests,           peer_storage_tests,
        snapshot_fault_tests, proposal_tests,
        cluster_tests,        crash_tests,
        snapshot_tests,       regions_tests,
        raft_storage_tests,   overwritten_slot_tests,
        read_index_tests,     NULL,
    };
    return tables;
}
