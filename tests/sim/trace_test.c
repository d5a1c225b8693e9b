/*
 * The trace: equal events give equal digests and any difference changes
 * it; the memory ring keeps the last lines while the digest covers all; and
 * a failing test gets its trace written to a file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/test.h"
#include "tests/harness/trace.h"

static uint64_t digest_of(int variant)
{
    tkv_vclock_t vc;
    vclock_init(&vc, 0);
    trace_t *tr = trace_new(&vc.clock, 0);
    for (int i = 0; i < 100; i++) {
        vclock_advance(&vc, 3);
        trace_event(tr, i % 3, "send", "to n%d seq %d", (i + 1) % 3, i);
    }
    if (variant == 1)
        trace_event(tr, 1, "role", "leader");
    if (variant == 2)
        vclock_advance(&vc, 1); /* same events, one at a later time */
    trace_event(tr, 2, "apply", "index 7");
    uint64_t d = trace_digest(tr);
    trace_free(tr);
    return d;
}

static void test_digest_is_a_function_of_the_events(void **state)
{
    (void)state;
    assert_int_equal(digest_of(0), digest_of(0));
    assert_true(digest_of(0) != digest_of(1));
    assert_true(digest_of(0) != digest_of(2));
}

static void test_ring_keeps_last_lines_digest_covers_all(void **state)
{
    (void)state;
    tkv_vclock_t vc;
    vclock_init(&vc, 0);
    trace_t *small = trace_new(&vc.clock, 10), *big = trace_new(&vc.clock, 0);
    for (int i = 0; i < 50; i++) {
        trace_event(small, 1, i % 2 ? "send" : "recv", "m%d", i);
        trace_event(big, 1, i % 2 ? "send" : "recv", "m%d", i);
    }
    assert_int_equal(trace_count(small), 50);
    assert_int_equal(trace_digest(small), trace_digest(big));
    assert_int_equal(trace_count_kind(small, 1, "send"), 5); /* only the kept ten */
    assert_int_equal(trace_count_kind(big, 1, "send"), 25);
    assert_int_equal(trace_count_kind(big, -1, "recv"), 25);
    assert_int_equal(trace_count_kind(big, 2, "recv"), 0);
    trace_event(NULL, 1, "x", "a NULL trace records nothing");
    trace_free(small);
    trace_free(big);
}

static void test_failure_writes_the_trace(void **state)
{
    (void)state;
    char dir[256], path[512];
    tkv_tmpdir(dir, sizeof(dir));
    setenv("TKV_TRACE_DIR", dir, 1);
    tkv_vclock_t vc;
    vclock_init(&vc, 1234);
    trace_t *tr = trace_new(&vc.clock, 0);
    trace_write_on_failure(tr, "demo");
    trace_event(tr, 3, "role", "leader at term %d", 2);
    /* What test_main.c does when a test fails. */
    tkv_run_failure_hooks("some_test", 42);
    snprintf(path, sizeof(path), "%s/some_test-seed42-demo.trace", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_non_null(strstr(line, "1234 ms"));
    assert_non_null(strstr(line, "n3"));
    assert_non_null(strstr(line, "leader at term 2"));
    /* And the viewer page beside it. */
    snprintf(path, sizeof(path), "%s/some_test-seed42-demo.html", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    fclose(f);
    /* Hooks run once; freeing after that is safe. */
    tkv_run_failure_hooks("some_test", 42);
    trace_free(tr);
    /* A freed trace has no hook left behind. */
    tr = trace_new(&vc.clock, 0);
    trace_write_on_failure(tr, "gone");
    trace_free(tr);
    tkv_run_failure_hooks("some_test", 43);
    snprintf(path, sizeof(path), "%s/some_test-seed43-gone.trace", dir);
    assert_null(fopen(path, "r"));
    unsetenv("TKV_TRACE_DIR");
    tkv_rmdir(dir);
}

const tkv_test_t trace_tests[] = {
    { "frame", "trace_digest_follows_events", 0,
      "equal events give equal digests; an extra event or a shifted time changes it",
      test_digest_is_a_function_of_the_events },
    { "frame", "trace_ring_and_digest", 0,
      "memory keeps the last lines, the digest and count cover all of them",
      test_ring_keeps_last_lines_digest_covers_all },
    { "frame", "trace_written_on_failure", 0,
      "a failing test's trace is written to $TKV_TRACE_DIR/<test>-seed<n>-<label>.trace",
      test_failure_writes_the_trace },
    { 0 },
};
