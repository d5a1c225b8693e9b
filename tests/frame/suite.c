/*
 * The frame suite: ungraded checks of the code students read but do not
 * write (common/, the grader's helpers, networking). It must pass on the
 * reference and on every handout.
 */
#include "tests/harness/test.h"

extern const tkv_test_t cli_tests[];
extern const tkv_test_t codec_tests[];
extern const tkv_test_t engine_tests[];
extern const tkv_test_t grader_tests[];
extern const tkv_test_t prng_tests[];
extern const tkv_test_t pb_check_tests[];
extern const tkv_test_t quiet_tests[];
extern const tkv_test_t seeds_tests[];
extern const tkv_test_t split_point_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        cli_tests,      codec_tests, engine_tests, grader_tests,      prng_tests,
        pb_check_tests, quiet_tests, seeds_tests,  split_point_tests, NULL,
    };
    return tables;
}
