/*
 * The faults folder: the store under bad input it cannot see through the
 * Raft core (snapshot data), a failing disk (writes and reads that fail)
 * and damaged databases at start. Frame tests for the checks that live in
 * frame code; graded ones for what the student's store must do.
 */
#include "tests/harness/test.h"

extern const tkv_test_t snapshot_door_tests[];
extern const tkv_test_t apply_read_tests[];
extern const tkv_test_t failed_write_tests[];
extern const tkv_test_t corrupt_start_tests[];
extern const tkv_test_t round_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = { snapshot_door_tests, apply_read_tests,
                                                failed_write_tests,  corrupt_start_tests,
                                                round_tests,         NULL };
    return tables;
}
