/*
 * The fuzz folder: seeded, structured fuzzers that feed mutated real traffic
 * to the doors of the Raft core (rawnode_step) and of the store
 * (store_step). Frame tests with a small budget in `make test`; `make fuzz`
 * runs them with a large one (and the libFuzzer targets of tools/fuzz/).
 */
#include "tests/harness/test.h"

extern const tkv_test_t raft_fuzz_tests[];
extern const tkv_test_t store_fuzz_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = { raft_fuzz_tests, store_fuzz_tests, NULL };
    return tables;
}
