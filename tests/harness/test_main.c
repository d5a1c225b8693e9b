/*
 * The main() of every test binary.
 *
 *   <binary> --list        one line per test: suite, name, points, timeout, description
 *   <binary> --run NAME    run one test (NAME or suite/NAME) in this process
 *   <binary>               run every test in this process, one after another
 *                          (handy under gdb; the grader never does this)
 *   <binary> --help        what these do
 *
 * Exit status: 0 when every test run passed, 1 otherwise, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "tests/harness/test.h"

static const tkv_test_t *running;
static const char *self; /* argv[0], so the rerun line names this binary */

const char *tkv_running_suite(void)
{
    return running != NULL ? running->suite : "";
}

static void print_replay_hint(void)
{
    uint64_t seed = tkv_current_seed();
    fprintf(stderr, "\n%s/%s failed: %s\n", running->suite, running->name, running->desc);
    if (seed != 0) {
        /* A scaled run (SCALE, test.h) replays only with its sizes. */
        char scale[320] = "";
        if (*tkv_scale_spec() != '\0')
            snprintf(scale, sizeof(scale), " SCALE=%s", tkv_scale_spec());
        fprintf(stderr, "replay this run: make %s TEST=%s SEED=%llu%s\n", running->suite,
                running->name, (unsigned long long)seed, scale);
        fprintf(stderr, "             or: SEED=%llu%s %s --run %s/%s\n", (unsigned long long)seed,
                scale, self, running->suite, running->name);
    }
    tkv_run_failure_hooks(running->name, seed);
    tkv_shrink_failure(running->suite, running->name, seed);
}

static int run_one(const tkv_test_t *t)
{
    struct CMUnitTest unit = { t->name, t->fn, t->setup, t->teardown, NULL };
    running = t;
    int failed = _cmocka_run_group_tests(t->suite, &unit, 1, NULL, NULL);
    if (failed)
        print_replay_hint();
    return failed ? 1 : 0;
}

static int matches(const tkv_test_t *t, const char *want)
{
    if (strcmp(t->name, want) == 0)
        return 1;
    size_t n = strlen(t->suite);
    return strncmp(want, t->suite, n) == 0 && want[n] == '/' && strcmp(want + n + 1, t->name) == 0;
}

int main(int argc, char **argv)
{
    const tkv_test_t *const *tables = tkv_suite();
    self = argv[0];
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s [--list | --run NAME]\n"
               "  --list       one line per test: suite, name, points, time limit (s), rule\n"
               "  --run NAME   run one test (NAME or suite/NAME) here, e.g. under gdb\n"
               "  (nothing)    run every test of this binary, one after another\n"
               "SEED=n replays one seed of a randomized test; SEEDS=k runs k seeds.\n"
               "The grader (make test, make project1 ...) runs each test in its own process.\n",
               argv[0]);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++)
                printf("%s\t%s\t%d\t%d\t%s\n", t->suite, t->name, t->points,
                       t->timeout_s > 0 ? t->timeout_s : 60, t->desc);
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--run") == 0) {
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++) {
                if (matches(t, argv[2]))
                    return run_one(t);
            }
        }
        fprintf(stderr, "%s: no test named '%s' (try --list)\n", argv[0], argv[2]);
        return 2;
    }
    if (argc == 1) {
        int failed = 0;
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++)
                failed += run_one(t);
        }
        return failed ? 1 : 0;
    }
    fprintf(stderr, "usage: %s [--list | --run NAME]\n", argv[0]);
    return 2;
}
