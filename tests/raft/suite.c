/*
 * The Raft core's tests: project2a (log, elections, replication, RawNode,
 * randomized safety), project2c (snapshots), project3a (leader transfer,
 * membership) and frame (memory storage, protobuf conversion).
 */
#include "tests/harness/test.h"

extern const tkv_test_t raft_election_tests[];
extern const tkv_test_t raft_replication_tests[];
extern const tkv_test_t raft_log_tests[];
extern const tkv_test_t rawnode_tests[];
extern const tkv_test_t raft_random_tests[];
extern const tkv_test_t raft_snapshot_tests[];
extern const tkv_test_t raft_membership_tests[];
extern const tkv_test_t raft_unapplied_conf_tests[];
extern const tkv_test_t raft_prevote_tests[];
extern const tkv_test_t raft_read_index_tests[];
extern const tkv_test_t raft_flow_tests[];
extern const tkv_test_t raft_joint_tests[];
extern const tkv_test_t memory_storage_tests[];
extern const tkv_test_t raft_pb_tests[];
extern const tkv_test_t raft_rules_tests[];
extern const tkv_test_t raft_snapshot_rules_tests[];
extern const tkv_test_t raft_transfer_rules_tests[];
extern const tkv_test_t raft_validate_tests[];
extern const tkv_test_t raft_determinism_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    /* clang-format off */
    static const tkv_test_t *const tables[] = {
        /* project2a in the order docs/project2-raft.md suggests writing
         * it: the log, elections, replication (then the rule tables of
         * both), RawNode, and the randomized safety run last. */
        raft_log_tests,
        raft_election_tests,
        raft_replication_tests,
        raft_rules_tests,
        rawnode_tests,
        raft_random_tests,
        raft_snapshot_tests,
        raft_membership_tests,
        raft_unapplied_conf_tests,
        raft_prevote_tests,
        raft_read_index_tests,
        raft_flow_tests,
        raft_joint_tests,
        memory_storage_tests,
        raft_pb_tests,
        raft_snapshot_rules_tests,
        raft_transfer_rules_tests,
        raft_validate_tests,
        raft_determinism_tests,
        NULL,
    };
    /* clang-format on */
    return tables;
}
