/*
 * What one grading run knows, shared by the grader's parts: the tests
 * (tools/grade.c collects and runs them) and the ungraded items around them
 * (lint, compiler errors and warnings, files a submission changed that do
 * not count), which tools/grading/report.c turns into the scorecard,
 * results.json and junit.xml.
 *
 * Every string in these structs is owned by the run and freed by run_free().
 */
#ifndef TKV_TOOLS_GRADING_RUN_H
#define TKV_TOOLS_GRADING_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

typedef enum { T_WAITING, T_RUNNING, T_PASSED, T_FAILED } test_state_t;

typedef struct {
    char *bin;   /* path of the test binary */
    char *suite; /* "project2a"; a name ending in 'x' is an optional extension */
    char *name;
    char *desc;
    int points;
    double limit_s; /* the time limit after every scaling */
    test_state_t state;
    pid_t pid;
    double started, elapsed;
    char reason[200];      /* why it failed, in words */
    char *log_path;        /* its whole output */
    char *scratch;         /* its TMPDIR while it runs; removed afterwards */
    char *build_log;       /* when its binary did not build: that log, else NULL */
    const char *shown_bin; /* the binary as the rerun command names it */
    int skipped;           /* --fail-fast: not run, or stopped, after another test failed */
} test_t;

/* An ungraded line of the report: lint, a file that did not compile, ... */
typedef struct {
    char *name; /* "lint", "build project4-txn/kv_commit.c" */
    int ok;
    char *text; /* what to show; may be long, is escaped on output */
} item_t;

typedef struct {
    test_t *tests;
    size_t n, cap;
    item_t *items;
    size_t n_items, cap_items;
    char *ignored;           /* files of a submission that did not count, one a line */
    char *visibility[64][2]; /* suite -> Gradescope visibility (borrowed from argv) */
    int n_visibility;
    double elapsed;
    int quiet;
} run_t;

int suite_is_extension(const char *suite);
/* The part a suite grades, for tags: "project2a" -> "2A", "frame" -> "frame". */
void suite_part(const char *suite, char *out, size_t size);

test_t *run_add_test(run_t *run);
void run_add_item(run_t *run, const char *name, int ok, char *text /* taken */);
void run_free(run_t *run);

/* ---- report.c ---- */
/* The terminal block of a test that failed: rule, reason, the headline and
 * tail of its output, and the commands that rerun it. */
void report_failure(const run_t *run, const test_t *t, FILE *out);
void report_scorecard(const run_t *run, FILE *out);
/* Both return 0, or -1 after printing why the file could not be written. */
int report_json(const run_t *run, const char *path);
int report_junit(const run_t *run, const char *path);
/* summary.tsv, for scripts (tools/grade-class): tab-separated lines
 *   suite NAME SCORE MAX PASSED TESTS | total core|extension SCORE MAX |
 *   item lint|build ok|failed TEXT | ignored COUNT | test SUITE/NAME passed|failed POINTS */
int report_summary(const run_t *run, const char *path);

#endif
