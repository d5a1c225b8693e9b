/*
 * The grader (tools/grade.c) run on a fake test binary: a shell script that
 * answers --list and --run the way a test binary does and misbehaves on
 * purpose. These are the promises an instructor relies on: results files
 * stay valid UTF-8 whatever a test prints, long output is cut with the cut
 * marked, a test's scratch dir is gone after it even when it was killed,
 * old results never survive a new run, bad JOBS/SEEDS stop the run, and
 * TEST takes a glob.
 *
 * The grader under test is the one built next to this binary
 * (<build>/tests/frame -> <build>/bin/grade).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/test.h"

typedef struct {
    char dir[512];
    char grader[512];
} fixture_t;

/* Every fake test the script knows; each prints or does one bad thing. */
static const char fake_script[] =
    "#!/bin/sh\n"
    "case \"$1\" in\n"
    "--list)\n"
    "  printf 'frame\\tbad_bytes\\t0\\t30\\tprints bytes that are not UTF-8\\n'\n"
    "  printf 'frame\\tlong_output\\t0\\t30\\tprints far too much\\n'\n"
    "  printf 'frame\\tkilled\\t0\\t30\\tfills its scratch dir, then dies of SIGKILL\\n'\n"
    "  printf 'frame\\tpasses_one\\t0\\t30\\tpasses\\n'\n"
    "  printf 'frame\\tpasses_two\\t0\\t30\\tpasses too\\n' ;;\n"
    "--run)\n"
    "  case \"$2\" in\n"
    "  */bad_bytes) printf 'seen \\377\\376 <&> \\001 end\\n'; exit 1 ;;\n"
    "  */long_output) i=0; while [ $i -lt 4000 ]; do\n"
    "      echo \"line $i of output nobody reads to the end\"; i=$((i+1)); done; exit 1 ;;\n"
    "  */killed) echo data > \"$TMPDIR/left-behind\"; echo \"$TMPDIR\" > \"$FAKE_NOTE\";\n"
    "      kill -9 $$ ;;\n"
    "  *) exit 0 ;;\n"
    "  esac ;;\n"
    "esac\n";

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        fail_msg("cannot find this test binary through /proc/self/exe");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* <build>/tests */
    *strrchr(exe, '/') = '\0'; /* <build> */
    snprintf(f->grader, sizeof(f->grader), "%s/bin/grade", exe);
    if (access(f->grader, X_OK) != 0)
        fail_msg("the grader %s is not built", f->grader);
    char path[600];
    snprintf(path, sizeof(path), "%s/fake", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(fake_script, out);
    fclose(out);
    chmod(path, 0755);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    tkv_rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs the grader in the fixture dir with `args` (and `env` before it);
 * returns its exit status. Its output goes to <dir>/grader.out. */
static int run_grader(const fixture_t *f, const char *env, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && FAKE_NOTE='%s/note' %s '%s' --out out %s >grader.out 2>&1", f->dir, f->dir,
             env, f->grader, args);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole file (caller frees), or NULL when it does not exist. */
static char *slurp(const fixture_t *f, const char *rel, size_t *len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return NULL;
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, in);
    data[got] = '\0';
    fclose(in);
    if (len != NULL)
        *len = got;
    return data;
}

/* Offset of the first byte that breaks UTF-8, or -1 when all of it is valid.
 * Written apart from the grader's own validator on purpose. */
static long first_bad_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more = c >= 0xc2 && c <= 0xdf   ? 1
                      : c >= 0xe0 && c <= 0xef ? 2
                      : c >= 0xf0 && c <= 0xf4 ? 3
                                               : 0;
        if (more == 0 || i + more >= n)
            return (long)i;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return (long)i;
        }
        i += more + 1;
    }
    return -1;
}

static void test_results_stay_valid_utf8(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(run_grader(f, "", "--test bad_bytes ./fake"), 1);
    const char *files[] = { "out/results.json", "out/junit.xml" };
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *data = slurp(f, files[i], &len);
        if (data == NULL)
            fail_msg("the grader wrote no %s", files[i]);
        long bad = first_bad_utf8((const unsigned char *)data, len);
        if (bad >= 0)
            fail_msg("%s is not valid UTF-8 at byte %ld", files[i], bad);
        if (strstr(data, "xff") == NULL || strstr(data, "xfe") == NULL)
            fail_msg("%s should show the bad bytes escaped as \\xff \\xfe, but has neither",
                     files[i]);
        if (i == 1 && strstr(data, "<&>") != NULL)
            fail_msg("junit.xml holds the markup characters '<&>' unescaped");
        free(data);
    }
}

static void test_long_output_is_cut_and_marked(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(run_grader(f, "", "--test long_output ./fake"), 1);
    size_t len = 0;
    char *json = slurp(f, "out/results.json", &len);
    assert_non_null(json);
    /* The test printed about 170 kB. */
    if (len > 32 * 1024)
        fail_msg("results.json is %zu bytes for one failing test: its output was not cut", len);
    if (strstr(json, "bytes cut") == NULL)
        fail_msg("results.json cut the output without saying so (no 'bytes cut' marker)");
    if (strstr(json, "line 0 of output") == NULL || strstr(json, "line 3999 of output") == NULL)
        fail_msg("the cut output should keep its first and its last line");
    free(json);
    char *log = slurp(f, "out/logs/frame.long_output.log", &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "line 2000 of output"));
    free(log);
}

/* Runs the fake test that SIGKILLs itself and returns the TMPDIR it noted
 * (caller frees), after checking that the grader reported the crash and
 * removed that dir and its root (empty, so nothing is left in /dev/shm). */
static char *killed_test_scratch(fixture_t *f, const char *args)
{
    assert_int_equal(run_grader(f, "", args), 1);
    char *note = slurp(f, "note", NULL);
    if (note == NULL)
        fail_msg("the fake test never ran (no note of its TMPDIR)");
    note[strcspn(note, "\n")] = '\0';
    const char *leaf = strrchr(note, '/');
    if (leaf == NULL || strcmp(leaf, "/frame.killed") != 0)
        fail_msg("the test's TMPDIR was %s, not a scratch dir of its own named frame.killed", note);
    struct stat st;
    if (stat(note, &st) == 0)
        fail_msg("the scratch dir %s is still there after its test was killed", note);
    char root[600];
    snprintf(root, sizeof(root), "%.*s", (int)(leaf - note), note);
    if (stat(root, &st) == 0)
        fail_msg("the scratch root %s is still there after the run", root);
    char *out = slurp(f, "grader.out", NULL);
    assert_non_null(strstr(out, "crashed"));
    free(out);
    return note;
}

static void test_scratch_dir_removed_after_a_kill(void **state)
{
    fixture_t *f = *state;
    char *note = killed_test_scratch(f, "--scratch scr --test killed ./fake");
    char want[700];
    snprintf(want, sizeof(want), "%s/scr/frame.killed", f->dir);
    if (strcmp(note, want) != 0)
        fail_msg("with --scratch scr the test's TMPDIR was %s, not %s", note, want);
    free(note);
    /* By default: in memory or under the output dir. */
    note = killed_test_scratch(f, "--test killed ./fake");
    snprintf(want, sizeof(want), "%s/out/scratch/frame.killed", f->dir);
    if (strcmp(note, want) != 0 && strstr(note, "/dev/shm/tinykv-grade.") != note)
        fail_msg("by default the test's TMPDIR was %s, neither /dev/shm/tinykv-grade.*/ nor %s",
                 note, want);
    free(note);
}

static void test_old_results_removed_first(void **state)
{
    fixture_t *f = *state;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/out/logs' && echo stale > '%s/out/results.json'",
             f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    /* A run that stops before grading anything: no test matches. */
    assert_int_equal(run_grader(f, "", "--test 'no_such_test*' ./fake"), 2);
    char *old = slurp(f, "out/results.json", NULL);
    if (old != NULL)
        fail_msg("a run that graded nothing left the old results.json (\"%.20s\") behind", old);
}

static void test_bad_numbers_are_refused(void **state)
{
    fixture_t *f = *state;
    const char *env[] = { "", "", "SEEDS=abc", "SEEDS=0", "SEED=12x" };
    const char *args[] = { "--jobs abc ./fake", "--jobs 0 ./fake", "./fake", "./fake", "./fake" };
    for (int i = 0; i < 5; i++) {
        int rc = run_grader(f, env[i], args[i]);
        if (rc != 2)
            fail_msg("'%s grade %s' should be refused with exit status 2, got %d", env[i], args[i],
                     rc);
    }
    char *out = slurp(f, "grader.out", NULL);
    assert_non_null(strstr(out, "SEED"));
    free(out);
}

static void test_test_takes_a_glob(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(run_grader(f, "", "--test 'passes_*' ./fake"), 0);
    char *out = slurp(f, "grader.out", NULL);
    assert_non_null(out);
    if (strstr(out, "2 passed, 0 failed") == NULL)
        fail_msg("TEST='passes_*' should run exactly the two passes_ tests; the grader said:\n%s",
                 out);
    free(out);
}

const tkv_test_t grader_tests[] = {
    { "frame", "grader_results_stay_valid_utf8", 0,
      "results.json and junit.xml are valid UTF-8 (bad bytes escaped) whatever a test prints",
      test_results_stay_valid_utf8, 0, setup, teardown },
    { "frame", "grader_cuts_long_output_and_marks_it", 0,
      "a test's long output is cut to head and tail in results.json, the cut marked",
      test_long_output_is_cut_and_marked, 0, setup, teardown },
    { "frame", "grader_removes_scratch_after_a_kill", 0,
      "each test's TMPDIR is a scratch dir of its own (--scratch, else /dev/shm or the output "
      "dir), "
      "removed even after a SIGKILL",
      test_scratch_dir_removed_after_a_kill, 0, setup, teardown },
    { "frame", "grader_removes_old_results_first", 0,
      "a grading run that stops early leaves no results.json of an earlier run",
      test_old_results_removed_first, 0, setup, teardown },
    { "frame", "grader_refuses_bad_jobs_and_seeds", 0,
      "JOBS=abc, JOBS=0, SEEDS=abc, SEEDS=0, SEED=12x stop the grader with exit status 2",
      test_bad_numbers_are_refused, 0, setup, teardown },
    { "frame", "grader_test_takes_a_glob", 0, "TEST='passes_*' selects tests by glob",
      test_test_takes_a_glob, 0, setup, teardown },
    { 0 },
};
