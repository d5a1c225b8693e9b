/*
 * The project 4 test binary: MVCC (4A), the Kv* commands (4B, 4C), the
 * randomized model check, and frame tests of the encodings and latches.
 */
#include "tests/harness/test.h"

extern const tkv_test_t txn_frame_tests[];
extern const tkv_test_t mvcc_tests[];
extern const tkv_test_t commands4b_tests[];
extern const tkv_test_t commands4c_tests[];
extern const tkv_test_t model_tests[];
extern const tkv_test_t prewrite_rules_tests[];
extern const tkv_test_t damage_txn_tests[];
extern const tkv_test_t response_limit_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        txn_frame_tests,  mvcc_tests,           commands4b_tests,
        commands4c_tests, model_tests,          prewrite_rules_tests,
        damage_txn_tests, response_limit_tests, NULL,
    };
    return tables;
}
