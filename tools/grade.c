/*
 * The grader: runs graded tests one process each, prints a scorecard and
 * writes machine-readable results.
 *
 *   grade [options] TEST_BINARY...      (grade --help lists the options)
 *
 * It asks every test binary for its tests (`BIN --list`), or reads them from
 * an instructor's catalogue (--catalog), keeps those of the chosen suites,
 * and runs each as `BIN --run suite/name` in a process group of its own, at
 * most N at a time. A test passes when its process exits 0 within its time
 * limit; a crash, a failed assertion or a hang fails that test alone.
 *
 * Each test runs with TMPDIR set to a scratch directory of its own,
 * ROOT/<suite>.<test>, removed when the test ends however it ends (ROOT is
 * in memory when there is room, else OUT/scratch: scratch.h says why), and
 * TKV_TRACE_DIR set to OUT/traces; its output goes to
 * OUT/logs/<suite>.<test>.log. A run first removes the results of the last
 * one, so a run that stops early leaves no stale score behind.
 *
 * At the end: a scorecard per suite (optional extension suites, named
 * project<N>x, in a block and total of their own), ungraded lines for lint
 * and the build, OUT/results.json (Gradescope's shape) and OUT/junit.xml,
 * OUT/summary.tsv (for scripts), and a closing line "N passed, N failed". Exit status: 0 when every
 * test passed, 1 when one failed, 2 on bad usage.
 *
 * --expect-fail-from STAGE turns the grader into the handout check: graded
 * tests of STAGE and later must fail (their code was stripped), all others
 * must pass; the exit status says whether every test behaved as expected.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "tools/grading/run.h"
#include "tools/grading/scratch.h"

static const char *const suite_order[] = {
    "frame",     "project1",  "project2a", "project2b", "project2c", "project2x", "project3a",
    "project3b", "project3c", "project3x", "project4a", "project4b", "project4c", NULL,
};

/* A test may write at most this much into any one file (its log included):
 * a test stuck printing in a loop fills neither the disk nor the report. */
#define MAX_FILE_BYTES (64L * 1024 * 1024)
/* Each suite's wall-clock budget unless --suite-budget says otherwise,
 * before scaling by SEEDS and --timeout-scale. */
#define DEFAULT_SUITE_BUDGET_S 900.0

typedef struct {
    const char *suites[32];
    int n_suites;
    const char *test_glob, *out_dir, *expect_from, *catalog, *build_errors, *lint, *ignored;
    const char *scratch_opt; /* --scratch, or NULL */
    char *scratch;           /* the root in use (scratch.h) */
    const char *budget_names[32];
    double budget_secs[32];
    int n_budgets;
    double default_budget;
    int jobs, verbose, fail_fast;
    double timeout_scale, seed_scale;
} options_t;

static volatile sig_atomic_t interrupted;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int suite_rank(const char *suite)
{
    for (int i = 0; suite_order[i] != NULL; i++) {
        if (strcmp(suite_order[i], suite) == 0)
            return i;
    }
    return 100;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: grade [options] TEST_BINARY...\n"
                 "  --suite S             grade only suite S (repeatable; default: all)\n"
                 "  --test GLOB           only tests whose name or suite/name matches GLOB\n"
                 "  --jobs N              run N tests at once (default: one per core)\n"
                 "  --out DIR             results, logs and traces (build/grade)\n"
                 "  --scratch DIR         the tests' scratch dirs (default: in /dev/shm when it\n"
                 "                        has 1 GiB free, else OUT/scratch)\n"
                 "  --timeout-scale K     multiply every time limit by K (sanitizers: 4)\n"
                 "  --suite-budget [S=]SECS  wall-clock budget of suite S (or of each suite)\n"
                 "  --catalog FILE        the tests to grade, as `BIN --list` lines prefixed by\n"
                 "                        the binary's name; a missing binary fails its tests\n"
                 "  --build-errors DIR    compiler messages of a grading build (*.log, *.warn)\n"
                 "  --lint FILE           lint result to report, ungraded (first line: ok)\n"
                 "  --ignored FILE        submission files that did not count, to report\n"
                 "  --visibility S=V      Gradescope visibility of suite S (or *)\n"
                 "  --verbose             show cmocka's own lines in failure reports\n"
                 "  --fail-fast           after the first failure, stop: the tests still\n"
                 "                        running or waiting count as failed, shown as skip\n"
                 "  --expect-fail-from STAGE  handout check: graded tests from STAGE on must fail\n"
                 "Environment: SEED=n replays one seed; SEEDS=k runs k seeds and multiplies\n"
                 "time limits by k.\n");
}

static void bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "grade: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(grade --help lists the options)\n");
    exit(2);
}

/* A whole decimal number in [lo, hi], or the usage error naming `what`. */
static long parse_count(const char *s, const char *what, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s must be a whole number from %ld to %ld, not '%%s'", what, lo,
                 hi);
        bad_usage(msg, s);
    }
    return v;
}

static double parse_secs(const char *s, const char *what)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v > 0)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s must be a positive number, not '%%s'", what);
        bad_usage(msg, s);
    }
    return v;
}

/* SEED and SEEDS reach the tests through the environment; a typo there must
 * stop the run, not quietly grade the default seed. */
static double check_seed_env(void)
{
    const char *seed = getenv("SEED"), *seeds = getenv("SEEDS");
    if (seed != NULL && *seed != '\0') {
        char *end = NULL;
        errno = 0;
        (void)strtoull(seed, &end, 10);
        if (*end != '\0' || errno != 0 || *seed == '-')
            bad_usage("SEED must be a whole number (the seed to replay), not '%s'", seed);
    }
    if (seeds != NULL && *seeds != '\0') {
        long k = parse_count(seeds, "SEEDS", 1, 1000000);
        if (seed == NULL || *seed == '\0')
            return (double)k; /* each randomized test runs k times */
    }
    return 1.0;
}

/* The options that take a value (all but --help, --verbose, --fail-fast), so that a
 * misspelt one is reported as unknown rather than as missing its value. */
static int takes_value(const char *a)
{
    static const char *const names[] = { "--suite",         "--test",
                                         "--jobs",          "--out",
                                         "--timeout-scale", "--suite-budget",
                                         "--catalog",       "--build-errors",
                                         "--lint",          "--ignored",
                                         "--visibility",    "--expect-fail-from",
                                         "--scratch",       NULL };
    for (int i = 0; names[i] != NULL; i++) {
        if (strcmp(a, names[i]) == 0)
            return 1;
    }
    return 0;
}

static void parse_args(int argc, char **argv, options_t *o, run_t *run, int *first_bin)
{
    memset(o, 0, sizeof(*o));
    o->out_dir = "build/grade";
    o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    o->timeout_scale = 1.0;
    o->default_budget = DEFAULT_SUITE_BUDGET_S;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--verbose") == 0) {
            o->verbose = 1;
            continue;
        }
        if (strcmp(a, "--fail-fast") == 0) {
            o->fail_fast = 1; /* the mutation check needs one failure, not all */
            continue;
        }
        if (!takes_value(a))
            bad_usage("unknown option '%s'", a);
        if (i + 1 >= argc)
            bad_usage("%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--suite") == 0) {
            if (o->n_suites == 32)
                bad_usage("too many --suite options (at most 32), at '%s'", v);
            o->suites[o->n_suites++] = v;
        } else if (strcmp(a, "--test") == 0) {
            o->test_glob = v;
        } else if (strcmp(a, "--jobs") == 0) {
            o->jobs = (int)parse_count(v, "JOBS (--jobs)", 1, 256);
        } else if (strcmp(a, "--out") == 0) {
            o->out_dir = v;
        } else if (strcmp(a, "--scratch") == 0) {
            o->scratch_opt = v;
        } else if (strcmp(a, "--timeout-scale") == 0) {
            o->timeout_scale = parse_secs(v, "--timeout-scale");
        } else if (strcmp(a, "--suite-budget") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL) {
                o->default_budget = parse_secs(v, "--suite-budget");
            } else if (o->n_budgets < 32) {
                o->budget_names[o->n_budgets] = strndup(v, (size_t)(eq - v));
                o->budget_secs[o->n_budgets++] = parse_secs(eq + 1, "--suite-budget");
            }
        } else if (strcmp(a, "--catalog") == 0) {
            o->catalog = v;
        } else if (strcmp(a, "--build-errors") == 0) {
            o->build_errors = v;
        } else if (strcmp(a, "--lint") == 0) {
            o->lint = v;
        } else if (strcmp(a, "--ignored") == 0) {
            o->ignored = v;
        } else if (strcmp(a, "--visibility") == 0) {
            char *eq = strchr(v, '=');
            if (eq == NULL || run->n_visibility == 64)
                bad_usage("--visibility takes SUITE=VISIBILITY, not '%s'", v);
            run->visibility[run->n_visibility][0] = strndup(v, (size_t)(eq - v));
            run->visibility[run->n_visibility][1] = strdup(eq + 1);
            run->n_visibility++;
        } else if (strcmp(a, "--expect-fail-from") == 0) {
            o->expect_from = v;
        } else {
            bad_usage("unknown option '%s'", a);
        }
    }
    if (i >= argc && o->catalog == NULL)
        bad_usage("%s", "no test binaries given");
    if (o->expect_from != NULL && suite_rank(o->expect_from) == 100)
        bad_usage("unknown stage '%s' (project1 ... project4c)", o->expect_from);
    o->seed_scale = check_seed_env();
    *first_bin = i;
}

/* ---- small file helpers ------------------------------------------------------ */

static int make_dir(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "grade: cannot make %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file, NUL-terminated (caller frees), or NULL. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    tkv_buf_t b = TKV_BUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, got);
    fclose(f);
    buf_append_byte(&b, '\0');
    return (char *)buf_take(&b);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* ---- collecting tests ------------------------------------------------------- */

/* Splits one `--list` line (suite, name, points, timeout, description) into
 * a new test of the run. Returns 0, or -1 for a line it cannot read. */
static int add_listed(run_t *run, const char *bin, char *line)
{
    char *fields[5];
    char *save = NULL;
    int nf = 0;
    for (char *f = strtok_r(line, "\t", &save); f != NULL && nf < 5;
         f = strtok_r(NULL, "\t", &save))
        fields[nf++] = f;
    if (nf < 5)
        return -1;
    test_t *t = run_add_test(run);
    t->bin = strdup(bin);
    t->suite = strdup(fields[0]);
    t->name = strdup(fields[1]);
    t->points = atoi(fields[2]);
    t->limit_s = atoi(fields[3]) > 0 ? atoi(fields[3]) : 60;
    t->desc = strdup(fields[4]);
    return 0;
}

static void list_tests(run_t *run, const options_t *o, const char *bin)
{
    if (o->build_errors != NULL && access(bin, X_OK) != 0) {
        /* A grading build that left this binary out: say so, grade the rest. */
        char name[PATH_MAX + 64];
        snprintf(name, sizeof(name), "build: %s missing, its tests not run", bin);
        run_add_item(run, name, 0, strdup("see the link message for it above\n"));
        return;
    }
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "'%s' --list", bin);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        fprintf(stderr, "grade: cannot run %s: %s\n", bin, strerror(errno));
        exit(1);
    }
    char line[4096];
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (add_listed(run, bin, line) != 0)
            fprintf(stderr, "grade: %s --list printed a line I cannot read: %s\n", bin, line);
    }
    if (pclose(p) != 0) {
        fprintf(stderr, "grade: %s --list failed; is it built? (make build)\n", bin);
        exit(1);
    }
}

/* The catalogue is the instructor's list of tests, each line a binary's
 * name, a tab, and that binary's --list line: points, limits and names come
 * from it, never from the binaries a submission built. A test whose binary
 * is missing fails, showing the build's message for it. */
static void read_catalog(run_t *run, const options_t *o, char **bins, int n_bins)
{
    FILE *f = fopen(o->catalog, "r");
    if (f == NULL) {
        fprintf(stderr, "grade: cannot read the catalogue %s: %s\n", o->catalog, strerror(errno));
        exit(2);
    }
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            continue;
        *tab = '\0';
        const char *bin_name = line;
        const char *found = NULL;
        for (int i = 0; i < n_bins; i++) {
            const char *slash = strrchr(bins[i], '/');
            if (strcmp(slash ? slash + 1 : bins[i], bin_name) == 0)
                found = bins[i];
        }
        size_t before = run->n;
        if (add_listed(run, found ? found : bin_name, tab + 1) != 0) {
            fprintf(stderr, "grade: %s has a line I cannot read\n", o->catalog);
            continue;
        }
        test_t *t = &run->tests[before];
        if (found == NULL || access(found, X_OK) != 0) {
            char *dir = path_join(o->build_errors ? o->build_errors : ".", "tests");
            char *log = path_join(dir, bin_name);
            t->build_log = xmalloc(strlen(log) + 10);
            sprintf(t->build_log, "%s.link.log", log);
            free(dir);
            free(log);
            if (access(t->build_log, R_OK) != 0) {
                free(t->build_log);
                t->build_log = strdup("/dev/null");
            }
            snprintf(t->reason, sizeof(t->reason), "its test binary (tests/%.60s) did not build",
                     bin_name);
            t->state = T_FAILED;
        }
    }
    fclose(f);
}

static int cmp_tests(const void *a, const void *b)
{
    const test_t *x = a, *y = b;
    int r = suite_rank(x->suite) - suite_rank(y->suite);
    if (r != 0)
        return r;
    return strcmp(x->suite, y->suite);
}

static int wanted(const options_t *o, const test_t *t)
{
    int keep = o->n_suites == 0;
    for (int s = 0; s < o->n_suites; s++)
        keep |= strcmp(o->suites[s], t->suite) == 0;
    if (keep && o->test_glob != NULL) {
        char full[600];
        snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
        keep = fnmatch(o->test_glob, t->name, 0) == 0 || fnmatch(o->test_glob, full, 0) == 0;
    }
    return keep;
}

/* Keeps the wanted tests, in suite order and, within a suite, in the order
 * the binaries registered them (an insertion sort, because it is stable). */
static void choose_tests(run_t *run, const options_t *o)
{
    size_t kept = 0;
    for (size_t i = 0; i < run->n; i++) {
        test_t *t = &run->tests[i];
        if (wanted(o, t)) {
            run->tests[kept++] = *t;
            continue;
        }
        free(t->bin);
        free(t->suite);
        free(t->name);
        free(t->desc);
        free(t->build_log);
    }
    run->n = kept;
    /* Stable: sort by suite rank with the original position as tie-break. */
    for (size_t i = 1; i < run->n; i++) {
        test_t cur = run->tests[i];
        size_t j = i;
        while (j > 0 && cmp_tests(&run->tests[j - 1], &cur) > 0) {
            run->tests[j] = run->tests[j - 1];
            j--;
        }
        run->tests[j] = cur;
    }
}

/* ---- running tests -------------------------------------------------------------- */

static int expects_failure(const options_t *o, const test_t *t)
{
    return o->expect_from != NULL && strcmp(t->suite, "frame") != 0 &&
           !suite_is_extension(t->suite) && suite_rank(t->suite) >= suite_rank(o->expect_from);
}

static void start_test(test_t *t, const char *out_dir, const char *scratch_root)
{
    char base[600];
    snprintf(base, sizeof(base), "%s.%s", t->suite, t->name);
    char rel[700];
    snprintf(rel, sizeof(rel), "logs/%s.log", base);
    t->log_path = path_join(out_dir, rel);
    t->scratch = path_join(scratch_root, base);
    char *traces = path_join(out_dir, "traces");
    remove_tree(t->scratch);
    make_dir(t->scratch);
    char run_name[600];
    snprintf(run_name, sizeof(run_name), "%s/%s", t->suite, t->name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "grade: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0) {
        setpgid(0, 0); /* a group of its own, so a timeout kills its children too */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGXFSZ, SIG_IGN); /* past the cap a write fails; the test goes on */
        struct rlimit fs = { MAX_FILE_BYTES, MAX_FILE_BYTES };
        setrlimit(RLIMIT_FSIZE, &fs);
        setenv("TMPDIR", t->scratch, 1);
        setenv("TKV_TRACE_DIR", traces, 1);
        int fd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(t->bin, t->bin, "--run", run_name, (char *)NULL);
        fprintf(stderr, "grade: cannot run %s: %s\n", t->bin, strerror(errno));
        _exit(127);
    }
    free(traces);
    setpgid(pid, pid);
    t->pid = pid;
    t->state = T_RUNNING;
    t->started = now_s();
}

static void finish_test(test_t *t, int status)
{
    t->elapsed = now_s() - t->started;
    /* Whatever the test left in its group dies with the scratch dir. */
    kill(-t->pid, SIGKILL);
    remove_tree(t->scratch);
    struct stat st;
    int capped = stat(t->log_path, &st) == 0 && st.st_size >= MAX_FILE_BYTES;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && t->reason[0] == '\0') {
        t->state = T_PASSED;
        return;
    }
    t->state = T_FAILED;
    if (t->reason[0] == '\0') {
        if (WIFSIGNALED(status))
            snprintf(t->reason, sizeof(t->reason), "crashed (%s)", strsignal(WTERMSIG(status)));
        else if (WEXITSTATUS(status) == 127)
            snprintf(t->reason, sizeof(t->reason), "could not be started");
        else
            snprintf(t->reason, sizeof(t->reason), "failed (exit status %d)", WEXITSTATUS(status));
    }
    if (capped) {
        size_t n = strlen(t->reason);
        snprintf(t->reason + n, sizeof(t->reason) - n, "; its output stopped at %ld MB",
                 MAX_FILE_BYTES / (1024 * 1024));
    }
}

static void report_test(const run_t *run, const options_t *o, const test_t *t, size_t done, int tty)
{
    int expect_fail = expects_failure(o, t);
    int as_expected = (t->state == T_PASSED) != expect_fail;
    const char *tag;
    if (o->expect_from != NULL && suite_is_extension(t->suite))
        tag = t->state == T_PASSED ? "ok" : "fails";
    else if (t->skipped)
        tag = "skip";
    else if (expect_fail)
        tag = as_expected ? "fails" : "PASSES";
    else
        tag = t->state == T_PASSED ? "ok" : "FAIL";
    const char *color = "", *reset = "";
    if (tty) {
        color = as_expected ? "\033[32m" : "\033[31m";
        reset = "\033[0m";
        printf("\r\033[K"); /* wipe the status line first */
    }
    printf("[%3zu/%zu] %s%-6s%s %s/%s", done, run->n, color, tag, reset, t->suite, t->name);
    if (t->points > 0)
        printf(" (%d pt%s)", t->points, t->points == 1 ? "" : "s");
    printf(" %.2fs\n", t->elapsed);
    if (t->state == T_FAILED && o->expect_from == NULL && !t->skipped)
        report_failure(run, t, stdout);
    else if (t->state == T_PASSED && expect_fail)
        printf("         graded test passes although its stage was stripped: it checks too "
               "little\n");
    fflush(stdout);
}

/* On a terminal, one line that is rewritten in place: which tests are running
 * and for how long, so a long test never looks like a hung grader. */
static void show_status(const run_t *run, size_t done)
{
    double now = now_s();
    char line[160];
    int n = snprintf(line, sizeof(line), "[%3zu/%zu] running:", done, run->n);
    for (size_t i = 0; i < run->n && n < (int)sizeof(line) - 40; i++) {
        const test_t *t = &run->tests[i];
        if (t->state == T_RUNNING)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %s (%.0fs)", t->name,
                          now - t->started);
    }
    printf("\r\033[K%s", line);
    fflush(stdout);
}

static double suite_budget(const options_t *o, const char *suite)
{
    double b = o->default_budget;
    for (int i = 0; i < o->n_budgets; i++) {
        if (strcmp(o->budget_names[i], suite) == 0)
            b = o->budget_secs[i];
    }
    return b * o->timeout_scale * o->seed_scale;
}

/* Seconds the suite of tests[k] has used so far, running tests included. */
static double suite_used(const run_t *run, size_t k, double now)
{
    double used = 0;
    for (size_t i = 0; i < run->n; i++) {
        const test_t *t = &run->tests[i];
        if (strcmp(t->suite, run->tests[k].suite) != 0)
            continue;
        if (t->state == T_RUNNING)
            used += now - t->started;
        else if (t->state != T_WAITING)
            used += t->elapsed;
    }
    return used;
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Ctrl-C or a kill of the grader: stop every test group, remove their
 * scratch dirs, and leave without results (the old ones are gone already). */
static void abandon(run_t *run, const options_t *o)
{
    for (size_t i = 0; i < run->n; i++) {
        test_t *t = &run->tests[i];
        if (t->state != T_RUNNING)
            continue;
        kill(-t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        remove_tree(t->scratch);
    }
    rmdir(o->scratch);
    fprintf(stderr, "\ngrade: interrupted; no results written\n");
    exit(130);
}

static void run_all(run_t *run, const options_t *o)
{
    size_t next = 0, done = 0, running = 0;
    int tty = isatty(1);
    int stop = 0; /* --fail-fast, and a test failed */
    double last_status = 0;
    for (size_t i = 0; i < run->n; i++) {
        test_t *t = &run->tests[i];
        t->limit_s *= o->timeout_scale * o->seed_scale;
        if (t->state == T_FAILED) { /* did not build */
            report_test(run, o, t, ++done, tty);
            stop = o->fail_fast;
        }
    }
    while (done < run->n) {
        if (interrupted)
            abandon(run, o);
        while (running < (size_t)o->jobs && next < run->n) {
            test_t *t = &run->tests[next++];
            if (t->state != T_WAITING)
                continue;
            if (stop) {
                t->state = T_FAILED;
                t->skipped = 1;
                snprintf(t->reason, sizeof(t->reason),
                         "not run: an earlier test failed (--fail-fast)");
                t->log_path = strdup("/dev/null");
                report_test(run, o, t, ++done, tty);
                continue;
            }
            if (suite_used(run, next - 1, now_s()) >= suite_budget(o, t->suite)) {
                t->state = T_FAILED;
                snprintf(t->reason, sizeof(t->reason),
                         "not run: suite %s used up its time budget (%.0fs)", t->suite,
                         suite_budget(o, t->suite));
                t->log_path = strdup("/dev/null");
                report_test(run, o, t, ++done, tty);
                continue;
            }
            start_test(t, o->out_dir, o->scratch);
            running++;
        }
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (size_t i = 0; i < run->n; i++) {
                test_t *t = &run->tests[i];
                if (t->state == T_RUNNING && t->pid == pid) {
                    finish_test(t, status);
                    running--;
                    report_test(run, o, t, ++done, tty);
                    if (t->state == T_FAILED && !t->skipped && o->fail_fast && !stop) {
                        stop = 1;
                        for (size_t j = 0; j < run->n; j++) {
                            test_t *u = &run->tests[j];
                            if (u->state != T_RUNNING || u->reason[0] != '\0')
                                continue;
                            u->skipped = 1;
                            snprintf(u->reason, sizeof(u->reason),
                                     "stopped: an earlier test failed (--fail-fast)");
                            kill(-u->pid, SIGKILL);
                        }
                    }
                }
            }
            continue;
        }
        /* Nothing finished: enforce time limits, then wait a little. This is
         * the grader's own wall clock; tests themselves never read it. */
        double now = now_s();
        for (size_t i = 0; i < run->n; i++) {
            test_t *t = &run->tests[i];
            if (t->state != T_RUNNING || t->reason[0] != '\0')
                continue;
            if (now - t->started > t->limit_s) {
                snprintf(t->reason, sizeof(t->reason), "timed out after %.0fs", t->limit_s);
                kill(-t->pid, SIGKILL);
            } else if (suite_used(run, i, now) > suite_budget(o, t->suite)) {
                snprintf(t->reason, sizeof(t->reason),
                         "stopped: suite %s used up its time budget (%.0fs)", t->suite,
                         suite_budget(o, t->suite));
                kill(-t->pid, SIGKILL);
            }
        }
        if (tty && now - last_status > 0.5) {
            show_status(run, done);
            last_status = now;
        }
        struct timespec pause = { 0, 5 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

/* ---- what the build and lint said ------------------------------------------------ */

static run_t *walk_run;
static const char *walk_root;
static tkv_buf_t walk_warnings;

/* One compiler message file of a grading build: FILE.c.log (did not
 * compile), tests/BIN.link.log (did not link), FILE.c.warn (warnings). */
static int add_build_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F || sb->st_size == 0)
        return 0;
    const char *rel = path + strlen(walk_root) + 1;
    size_t n = strlen(rel);
    char *text = read_all(path);
    if (text == NULL)
        return 0;
    if (n > 5 && strcmp(rel + n - 5, ".warn") == 0) {
        buf_append(&walk_warnings, text, strlen(text));
        free(text);
        return 0;
    }
    if (n > 4 && strcmp(rel + n - 4, ".log") == 0) {
        char name[700];
        if (n > 9 && strcmp(rel + n - 9, ".link.log") == 0)
            snprintf(name, sizeof(name), "build: %.*s does not link", (int)(n - 9), rel);
        else
            snprintf(name, sizeof(name), "build: %.*s does not compile", (int)(n - 4), rel);
        run_add_item(walk_run, name, 0, text);
        return 0;
    }
    free(text);
    return 0;
}

/* A long message is cut for the report; the files keep all of it. */
static char *capped(char *text, size_t max)
{
    if (strlen(text) <= max)
        return text;
    strcpy(text + max - 40, "\n[... cut; see the build log ...]\n");
    return text;
}

static void add_side_items(run_t *run, const options_t *o)
{
    if (o->lint != NULL) {
        char *text = read_all(o->lint);
        if (text == NULL)
            text = strdup("lint did not run\n");
        int ok = strncmp(text, "ok", 2) == 0;
        run_add_item(run, "lint", ok, capped(text, 8000));
    }
    if (o->build_errors != NULL) {
        walk_run = run;
        walk_root = o->build_errors;
        buf_init(&walk_warnings);
        nftw(o->build_errors, add_build_file, 16, FTW_PHYS);
        for (size_t i = 0; i < run->n_items; i++)
            run->items[i].text = capped(run->items[i].text, 8000);
        if (walk_warnings.len > 0) {
            buf_append_byte(&walk_warnings, '\0');
            char *text = (char *)buf_take(&walk_warnings);
            size_t n = 0;
            for (const char *p = text; (p = strstr(p, "warning:")) != NULL; p++)
                n++;
            char name[64];
            snprintf(name, sizeof(name), "build: %zu compiler warning%s", n, n == 1 ? "" : "s");
            run_add_item(run, name, 1, capped(text, 8000));
        }
        buf_free(&walk_warnings);
    }
    if (o->ignored != NULL)
        run->ignored = read_all(o->ignored);
}

static void clear_old_results(const char *out_dir)
{
    static const char *const old[] = { "results.json", "junit.xml", "logs",
                                       "traces",       "scratch",   NULL };
    for (int i = 0; old[i] != NULL; i++) {
        char *p = path_join(out_dir, old[i]);
        remove_tree(p);
        free(p);
    }
}

int main(int argc, char **argv)
{
    options_t o;
    run_t run = { 0 };
    int first_bin = 0;
    parse_args(argc, argv, &o, &run, &first_bin);
    run.quiet = !o.verbose;

    if (make_dir(o.out_dir) != 0)
        return 1;
    char out_abs[PATH_MAX];
    if (realpath(o.out_dir, out_abs) == NULL) {
        fprintf(stderr, "grade: cannot resolve %s: %s\n", o.out_dir, strerror(errno));
        return 1;
    }
    const char *out_shown = o.out_dir; /* as the user wrote it, for messages */
    o.out_dir = out_abs;
    clear_old_results(o.out_dir);

    if (o.catalog != NULL)
        read_catalog(&run, &o, argv + first_bin, argc - first_bin);
    else
        for (int i = first_bin; i < argc; i++)
            list_tests(&run, &o, argv[i]);
    for (size_t i = 0; i < run.n; i++)
        run.tests[i].shown_bin = run.tests[i].bin;
    choose_tests(&run, &o);
    if (run.n == 0) {
        fprintf(stderr, "grade: no tests match%s%s%s%s\n", o.n_suites ? " suite " : "",
                o.n_suites ? o.suites[0] : "", o.test_glob ? " test " : "",
                o.test_glob ? o.test_glob : "");
        run_free(&run);
        return 2;
    }
    add_side_items(&run, &o);
    char *logs = path_join(o.out_dir, "logs"), *traces = path_join(o.out_dir, "traces");
    if (make_dir(logs) != 0 || make_dir(traces) != 0)
        return 1;
    o.scratch = scratch_root(o.scratch_opt, o.out_dir);
    if (o.scratch == NULL)
        return 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    printf("grade: %zu tests, %d at a time, logs in %s/logs\n", run.n, o.jobs, out_shown);
    double t0 = now_s();
    run_all(&run, &o);
    run.elapsed = now_s() - t0;
    rmdir(o.scratch); /* empty now: every test removed its own */

    size_t passed = 0, failed = 0, skipped = 0, unexpected = 0;
    for (size_t k = 0; k < run.n; k++) {
        const test_t *t = &run.tests[k];
        passed += t->state == T_PASSED;
        failed += t->state != T_PASSED && !t->skipped;
        skipped += t->skipped;
        if (!(o.expect_from != NULL && suite_is_extension(t->suite)))
            unexpected += (t->state == T_PASSED) == expects_failure(&o, t);
    }
    int rc;
    if (o.expect_from != NULL) {
        printf("\nhandout check (stripped from %s): %zu of %zu tests behaved as expected, %zu "
               "did not\n",
               o.expect_from, run.n - unexpected, run.n, unexpected);
        rc = unexpected ? 1 : 0;
    } else {
        report_scorecard(&run, stdout);
        char *json = path_join(out_shown, "results.json"),
             *junit = path_join(out_shown, "junit.xml");
        report_json(&run, json);
        report_junit(&run, junit);
        char *summary = path_join(o.out_dir, "summary.tsv");
        report_summary(&run, summary);
        free(summary);
        printf("results: %s, %s (%.1fs)\n", json, junit, run.elapsed);
        if (skipped > 0)
            printf("%zu passed, %zu failed, %zu skipped (--fail-fast)\n", passed, failed, skipped);
        else
            printf("%zu passed, %zu failed\n", passed, failed);
        free(json);
        free(junit);
        rc = failed || skipped ? 1 : 0;
    }
    free(logs);
    free(traces);
    free(o.scratch);
    run_free(&run);
    return rc;
}
