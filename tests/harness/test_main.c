/*
 * The main() of every test binary.
 *
 *   <binary> --list        one line per test: suite, name, points, timeout, description
 *   <binary> --run NAME    run one test (NAME or suite/NAME) in this process
 *   <binary>               run every test in this process, one after another
 *                          (handy under gdb; the grader never does this)
 *   <binary> --quiet ...   the same, each test in a child process whose output
 *                          is shown without cmocka's framing, then a verdict
 *                          line per test (PASS/FAIL, and how a crash ended)
 *   <binary> --help        what these do
 *
 * Exit status: 0 when every test run passed, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/cmocka_lines.h"
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

/* ---- --quiet: the test in a child, its output filtered here ---------------- */

/* Writes the complete lines of buf[0..*len) without cmocka's framing and
 * with runs of blank lines folded into one, and keeps an unfinished last
 * line for later (all of it when `flush`). *blank says whether the last
 * line shown was blank, across calls. */
static void show_filtered(char *buf, size_t *len, int flush, int *blank)
{
    size_t i = 0;
    while (i < *len) {
        char *nl = memchr(buf + i, '\n', *len - i);
        if (nl == NULL && !flush)
            break;
        size_t n = nl ? (size_t)(nl - (buf + i)) : *len - i, skip = 0;
        if (!tkv_cmocka_framing(buf + i, n, &skip) && !(n == skip && *blank)) {
            fwrite(buf + i + skip, 1, n - skip, stdout);
            fputc('\n', stdout);
            *blank = n == skip;
        }
        i += n + (nl != NULL);
    }
    memmove(buf, buf + i, *len - i);
    *len -= i;
    fflush(stdout);
}

/* Runs t in a child with stdout and stderr on a pipe, shows what it prints
 * as it comes, then the verdict. Reading stops once the child has ended and
 * the pipe is drained, even if a process it started still holds the pipe. */
static int run_one_quiet(const tkv_test_t *t)
{
    int p[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(p) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", self, strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", self, strerror(errno));
        return 1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr in order */
        exit(run_one(t));                 /* exit(): sanitizers report at exit */
    }
    close(p[1]);
    char buf[8192];
    size_t len = 0;
    int status = 0, ended = 0, blank = 1;
    for (;;) {
        struct pollfd pfd = { p[0], POLLIN, 0 };
        int ready = poll(&pfd, 1, ended ? 0 : 100);
        if (ready > 0) {
            if (len == sizeof(buf))
                show_filtered(buf, &len, 1, &blank); /* a line longer than buf: show it in pieces */
            ssize_t n = read(p[0], buf + len, sizeof(buf) - len);
            if (n > 0) {
                len += (size_t)n;
                show_filtered(buf, &len, 0, &blank);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            break; /* end of output */
        }
        if (ready < 0 && errno == EINTR)
            continue;
        if (ended)
            break; /* ended and drained */
        if (waitpid(pid, &status, WNOHANG) == pid)
            ended = 1;
    }
    show_filtered(buf, &len, 1, &blank);
    close(p[0]);
    if (!ended) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("PASS  %s/%s\n", t->suite, t->name);
        return 0;
    }
    /* A test that failed an assertion said what and why above; a crash
     * said nothing, so its verdict names the rule. */
    if (WIFSIGNALED(status))
        printf("FAIL  %s/%s: killed by signal %d (%s); the rule: %s\n", t->suite, t->name,
               WTERMSIG(status), strsignal(WTERMSIG(status)), t->desc);
    else
        printf("FAIL  %s/%s\n", t->suite, t->name);
    return 1;
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
    /* --quiet (-q) may stand anywhere; the rest is one of the forms above. */
    int quiet = 0, n = 0;
    char *args[3] = { NULL, NULL, NULL };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (n < 3)
            args[n++] = argv[i];
        else
            n = 4;
    }
    if (n == 1 && (strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0)) {
        printf("usage: %s [--quiet] [--list | --run NAME]\n"
               "  --list       one line per test: suite, name, points, time limit (s), rule\n"
               "  --run NAME   run one test (NAME or suite/NAME) here, e.g. under gdb\n"
               "  (nothing)    run every test of this binary, one after another\n"
               "  --quiet      run each test in a child process and show its output without\n"
               "               cmocka's own lines, then PASS or FAIL (and how it ended)\n"
               "SEED=n replays one seed of a randomized test; SEEDS=k runs k seeds.\n"
               "The grader (make test, make project1 ...) runs each test in its own process.\n"
               "Exit status: 0 when every test run passed, 1 when one failed, 2 on bad usage.\n",
               argv[0]);
        return 0;
    }
    if (n == 1 && strcmp(args[0], "--list") == 0) {
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++)
                printf("%s\t%s\t%d\t%d\t%s\n", t->suite, t->name, t->points,
                       t->timeout_s > 0 ? t->timeout_s : 60, t->desc);
        }
        return 0;
    }
    if (n == 2 && strcmp(args[0], "--run") == 0) {
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++) {
                if (matches(t, args[1]))
                    return quiet ? run_one_quiet(t) : run_one(t);
            }
        }
        fprintf(stderr, "%s: no test named '%s' (try --list)\n", argv[0], args[1]);
        return 2;
    }
    if (n == 0) {
        int failed = 0, total = 0;
        for (int i = 0; tables[i] != NULL; i++) {
            for (const tkv_test_t *t = tables[i]; t->name != NULL; t++) {
                failed += quiet ? run_one_quiet(t) : run_one(t);
                total++;
            }
        }
        if (quiet)
            printf("%d passed, %d failed\n", total - failed, failed);
        return failed ? 1 : 0;
    }
    fprintf(stderr, "%s: unknown arguments (try %s --help)\n", argv[0], argv[0]);
    fprintf(stderr, "usage: %s [--quiet] [--list | --run NAME]\n", argv[0]);
    return 2;
}
