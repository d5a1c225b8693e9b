/*
 * Project 1's graded suite: standalone storage and the raw API.
 */
#include "tests/harness/test.h"

extern const tkv_test_t raw_api_tests[];
extern const tkv_test_t storage_tests[];
extern const tkv_test_t damage_tests[];
extern const tkv_test_t scan_size_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = { raw_api_tests, storage_tests, damage_tests,
                                                scan_size_tests, NULL };
    return tables;
}
