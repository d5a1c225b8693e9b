/*
 * Project 3B: TinyKV's generic test with conf changes and splits.
 */
#include "tests/harness/mr_cluster.h"

const tkv_test_t generic3b_tests[] = {
    { 0 },
};
