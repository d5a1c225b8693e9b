/*
 * The graded-test registry and what every test may use.
 *
 * Each folder under tests/ builds into one test binary. A test file declares
 * its tests in a table, ending with an all-zero entry:
 *
 *     const tkv_test_t raw_api_tests[] = {
 *         { "project1", "get_missing_key", 5, "RawGet of a missing key reports not_found",
 *           test_get_missing_key },
 *         { 0 },
 *     };
 *
 * and the folder's suite.c returns the list of tables from tkv_suite(). The grader
 * (tools/grade.c) asks the binary for the list with --list and runs each test
 * in its own process with --run NAME, so a crash or a hang costs that test
 * alone. Test bodies use cmocka's assertions (assert_int_equal, ...).
 *
 * Suite "frame" holds the ungraded checks of frame code: worth 0 points,
 * shown apart in the scorecard, and expected to pass on the handout too.
 */
#ifndef TKV_TESTS_HARNESS_TEST_H
#define TKV_TESTS_HARNESS_TEST_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef void (*tkv_test_fn)(void **state);

typedef struct {
    const char *suite; /* "frame", "project1", "project2a", ... */
    const char *name;  /* unique within the suite; states the rule under test */
    int points;        /* 0 for frame tests */
    const char *desc;  /* one line, shown when the test fails */
    tkv_test_fn fn;
    int timeout_s; /* the grader's limit for this test; 0 means 60 s */
    /* Optional cmocka fixtures: setup fills *state, teardown runs even when
     * the test fails (so scratch directories are removed). */
    CMFixtureFunction setup;
    CMFixtureFunction teardown;
} tkv_test_t;

/* Provided by each folder's suite.c: the tables of its test files, NULL-terminated. */
const tkv_test_t *const *tkv_suite(void);

/* ---- seeds ------------------------------------------------------------------
 * A randomized test takes its seeds from here. By default it runs a few fixed
 * seeds, default_seed .. default_seed+TKV_DEFAULT_SEEDS-1, so grades are
 * reproducible; SEED=n runs seed n alone; SEEDS=k runs k seeds,
 * default_seed .. default_seed+k-1. Before each run the harness records the
 * seed, and if the test fails it prints the command that replays exactly
 * that run. A cheap test may ask for more seeds by default with
 * tkv_for_each_seed_n (SEED and SEEDS still override it). */
#define TKV_DEFAULT_SEEDS 5
typedef void (*tkv_seeded_fn)(uint64_t seed, void *arg);
void tkv_for_each_seed(uint64_t default_seed, tkv_seeded_fn body, void *arg);
void tkv_for_each_seed_n(uint64_t default_seed, uint64_t default_count, tkv_seeded_fn body,
                         void *arg);
/* The seed currently running (0 if none). */
uint64_t tkv_current_seed(void);

/* ---- scale: smaller runs of a failing seed ----------------------------------
 * A randomized scenario takes the sizes it may shrink (rounds, virtual time,
 * clients, operations) through tkv_scaled(what, full, min), which normally
 * returns `full`. SCALE=what:value,... (as SEED, from the environment or
 * make's command line) sets named sizes, each clamped to [min, full]; the
 * replay command of a scaled run names it.
 *
 * With SHRINK=1, when a seeded test that used tkv_scaled() fails, the
 * harness replays the same seed with smaller sizes, each replay a fresh
 * process: one size at a time, in the order the scenario asked for them,
 * it tries the minimum, a quarter and a half, keeps the smallest that still
 * fails, and goes on to the next. It reports the smallest failing run with
 * its replay command, its sizes, its trace and its page. Ask for the sizes
 * whose cut keeps the run's beginning first (rounds, then time per round):
 * the same seed then replays the same first part, so a failure early in
 * the run survives the cut. `what` must be a string literal. */
uint64_t tkv_scaled(const char *what, uint64_t full, uint64_t min);
/* The SCALE setting in force ("" when none). Static storage. */
const char *tkv_scale_spec(void);
/* Shrinks a failure of suite/name at `seed` now (whatever SHRINK says),
 * reporting on stderr; 1 with the smallest failing SCALE in smallest[0..size)
 * if one was found, else 0. */
int tkv_shrink(const char *suite, const char *name, uint64_t seed, char *smallest, size_t size);
/* Called by test_main.c after a failure: shrinks if SHRINK=1. */
void tkv_shrink_failure(const char *suite, const char *name, uint64_t seed);

/* ---- scratch directories ----------------------------------------------------
 * A fresh empty directory under $TMPDIR (or /tmp), written into `out`
 * (at least 64 bytes). Fails the test if it cannot be made. */
void tkv_tmpdir(char *out, size_t size);
/* Removes a directory and everything in it. */
void tkv_rmdir(const char *path);

/* ---- failure hooks ----------------------------------------------------------
 * Something a test built that can explain a failure (the simulator's trace,
 * see trace.h) registers a hook. If the test fails, test_main.c prints the
 * replay command and then calls each hook once with the test's name and
 * seed, and forgets them. Whoever registered a hook removes it before the
 * thing it points to is freed. At most 16 hooks at a time; more are ignored
 * with a warning. */
typedef void (*tkv_failure_fn)(void *arg, const char *test_name, uint64_t seed);
void tkv_on_failure(tkv_failure_fn fn, void *arg);
void tkv_on_failure_remove(tkv_failure_fn fn, void *arg);
/* The suite of the test running in this process ("" if none): what a
 * failure hook needs to spell the replay command. */
const char *tkv_running_suite(void);
/* Called by test_main.c after a failure; also forgets every hook. */
void tkv_run_failure_hooks(const char *test_name, uint64_t seed);

#endif
