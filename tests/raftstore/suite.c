/*
 * The replicated store's suites: peer storage units (project2b/2c) and, on
 * top, whole clusters driven tick by tick.
 */
#include "tests/harness/test.h"

extern const tkv_test_t peer_storage_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = { peer_storage_tests, NULL };
    return tables;
}
