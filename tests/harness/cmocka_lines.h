/*
 * Which lines of a test's output are cmocka's own framing ("[ RUN      ]",
 * "[  PASSED  ]", " 1 FAILED TEST(S)" ...): nothing a student needs to read.
 * The grader's reports (tools/grading/text.c) and a test binary's --quiet
 * mode (test_main.c) drop the same lines, so both show a failure the same
 * way.
 */
#ifndef TKV_TESTS_HARNESS_CMOCKA_LINES_H
#define TKV_TESTS_HARNESS_CMOCKA_LINES_H

#include <stddef.h>

/* line[0..len) is one line without its newline (not NUL-terminated).
 * Returns 1 when it is framing to drop. Otherwise returns 0 and sets *skip
 * to the length of the cmocka prefixes to cut from its start ("[  ERROR   ] --- "
 * before a failure message, "[   LINE   ] --- " before its file:line, or
 * both), or 0. */
int tkv_cmocka_framing(const char *line, size_t len, size_t *skip);

#endif
