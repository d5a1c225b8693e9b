/*
 * What a student sees of a test: cmocka's framing lines are dropped the same
 * way by the grader's reports and by a test binary's --quiet mode
 * (tests/harness/cmocka_lines.c), and --quiet ends with a verdict.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/cmocka_lines.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static void test_framing_lines_are_recognised(void **state)
{
    (void)state;
    const char *drop[] = { "[==========] Running 1 test(s).",
                           "[ RUN      ] put_then_get",
                           "[       OK ] put_then_get",
                           "[  PASSED  ] 1 test(s).",
                           "[  FAILED  ] 1 test(s), listed below:",
                           " 1 FAILED TEST(S)",
                           NULL };
    for (int i = 0; drop[i] != NULL; i++) {
        size_t skip = 0;
        expect_true(tkv_cmocka_framing(drop[i], strlen(drop[i]), &skip),
                    "\"%s\" is cmocka framing, to drop", drop[i]);
    }
    struct {
        const char *line;
        size_t skip;
    } keep[] = {
        { "tests/x.c:3: commit index: expected 3, saw 2", 0 },
        { "[  ERROR   ] --- 0x1 != 0x2", 17 },
        { "[  ERROR   ] --- [   LINE   ] --- tests/x.c:3: error: Failure!", 34 },
        { "[   LINE   ] --- tests/x.c:3: error: Failure!", 17 },
        { "a sentence that mentions 1 FAILED TEST(S) is kept", 0 },
    };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        size_t skip = 99;
        expect_true(!tkv_cmocka_framing(keep[i].line, strlen(keep[i].line), &skip),
                    "\"%s\" is a message to keep", keep[i].line);
        expect_u64(skip, keep[i].skip, "the prefix to cut from \"%s\"", keep[i].line);
    }
}

static void test_quiet_run_ends_with_a_verdict(void **state)
{
    (void)state;
    char self[4096], cmd[4300], out[8192];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(cmd, sizeof(cmd), "'%s' --quiet --run frame/cli_flag_value_forms 2>&1", self);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    expect_true(status == 0 && strcmp(out, "PASS  frame/cli_flag_value_forms\n") == 0,
                "a passing test under --quiet prints only \"PASS  frame/cli_flag_value_forms\" "
                "and exits 0; it exited with status %d and printed:\n%s",
                status, out);
}

const tkv_test_t quiet_tests[] = {
    { "frame", "cmocka_framing_lines", 0,
      "cmocka's framing lines are dropped, and its prefixes cut from messages",
      test_framing_lines_are_recognised },
    { "frame", "quiet_run_ends_with_a_verdict", 0,
      "a test binary's --quiet shows a passing test as one PASS line",
      test_quiet_run_ends_with_a_verdict },
    { 0 },
};
