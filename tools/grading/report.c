/*
 * The grader's outputs (run.h): the failure block and the scorecard on the
 * terminal, results.json in Gradescope's shape, and junit.xml.
 *
 * Optional extension suites (names ending in 'x') are scored apart: their
 * own block and total, never part of the course total, and tagged
 * "extension" in results.json. Ungraded items (lint, compiler messages,
 * ignored files) are reported, never scored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/grading/run.h"
#include "tools/grading/text.h"

/* What of a failing test's output is kept: the headline (where cmocka says
 * what went wrong) and the tail (the replay command, the trace path). */
#define TERM_HEAD 1200
#define TERM_TAIL 800
#define FILE_HEAD 6000
#define FILE_TAIL 4000

int suite_is_extension(const char *suite)
{
    size_t n = strlen(suite);
    return n > 1 && suite[n - 1] == 'x' && strncmp(suite, "project", 7) == 0;
}

void suite_part(const char *suite, char *out, size_t size)
{
    if (strncmp(suite, "project", 7) != 0) {
        snprintf(out, size, "%s", suite);
        return;
    }
    snprintf(out, size, "%s", suite + 7);
    for (char *p = out; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    }
}

test_t *run_add_test(run_t *run)
{
    if (run->n == run->cap) {
        run->cap = run->cap ? run->cap * 2 : 64;
        run->tests = xrealloc(run->tests, run->cap * sizeof(test_t));
    }
    test_t *t = &run->tests[run->n++];
    memset(t, 0, sizeof(*t));
    return t;
}

void run_add_item(run_t *run, const char *name, int ok, char *text)
{
    if (run->n_items == run->cap_items) {
        run->cap_items = run->cap_items ? run->cap_items * 2 : 8;
        run->items = xrealloc(run->items, run->cap_items * sizeof(item_t));
    }
    item_t *it = &run->items[run->n_items++];
    it->name = strdup(name);
    it->ok = ok;
    it->text = text ? text : strdup("");
}

void run_free(run_t *run)
{
    for (size_t i = 0; i < run->n; i++) {
        test_t *t = &run->tests[i];
        free(t->bin);
        free(t->suite);
        free(t->name);
        free(t->desc);
        free(t->log_path);
        free(t->scratch);
        free(t->build_log);
    }
    for (size_t i = 0; i < run->n_items; i++) {
        free(run->items[i].name);
        free(run->items[i].text);
    }
    free(run->tests);
    free(run->items);
    free(run->ignored);
    memset(run, 0, sizeof(*run));
}

/* A test's output (or, when its binary did not build, the build log) for
 * the terminal, cut to head + tail. Caller frees. */
static char *test_output(const run_t *run, const test_t *t, size_t head, size_t tail)
{
    const char *path = t->build_log ? t->build_log : t->log_path;
    char *raw = text_excerpt(path, head, tail, run->quiet);
    tkv_buf_t out = TKV_BUF_INIT;
    text_plain(&out, raw, strlen(raw));
    free(raw);
    buf_append_byte(&out, '\0');
    return (char *)buf_take(&out);
}

void report_failure(const run_t *run, const test_t *t, FILE *out)
{
    fprintf(out, "    rule:  %s\n", t->desc);
    fprintf(out, "    why:   %s\n", t->reason);
    char *text = test_output(run, t, TERM_HEAD, TERM_TAIL);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        fprintf(out, "    | %s\n", line);
    free(text);
    if (t->build_log != NULL) {
        fprintf(out, "    rerun: make build   (then: make %s TEST=%s)\n", t->suite, t->name);
        fprintf(out, "    build log: %s\n", t->build_log);
        return;
    }
    fprintf(out, "    rerun: make %s TEST=%s\n", t->suite, t->name);
    fprintf(out, "           %s --run %s/%s\n", t->shown_bin ? t->shown_bin : t->bin, t->suite,
            t->name);
    fprintf(out, "    full output: %s\n", t->log_path);
}

typedef struct {
    int score, max;
    size_t passed, n;
} tally_t;

static tally_t tally_suite(const run_t *run, size_t from, size_t *end)
{
    tally_t s = { 0 };
    size_t j = from;
    while (j < run->n && strcmp(run->tests[j].suite, run->tests[from].suite) == 0) {
        const test_t *t = &run->tests[j];
        s.passed += t->state == T_PASSED;
        s.score += t->state == T_PASSED ? t->points : 0;
        s.max += t->points;
        s.n++;
        j++;
    }
    *end = j;
    return s;
}

static void totals(const run_t *run, int extension, int *score, int *max)
{
    *score = *max = 0;
    for (size_t i = 0; i < run->n; i++) {
        const test_t *t = &run->tests[i];
        if (suite_is_extension(t->suite) != extension)
            continue;
        *max += t->points;
        *score += t->state == T_PASSED ? t->points : 0;
    }
}

static void scorecard_block(const run_t *run, FILE *out, int extension, const char *total_name)
{
    int any = 0;
    size_t i = 0;
    while (i < run->n) {
        size_t j;
        tally_t s = tally_suite(run, i, &j);
        const char *suite = run->tests[i].suite;
        if (suite_is_extension(suite) == extension) {
            if (!any && extension)
                fprintf(out, "optional extensions (not in the total above)\n");
            any = 1;
            char tests[32], points[32];
            snprintf(tests, sizeof(tests), "%zu/%zu", s.passed, s.n);
            if (s.max > 0)
                snprintf(points, sizeof(points), "%d/%d", s.score, s.max);
            else
                snprintf(points, sizeof(points), "(ungraded)");
            fprintf(out, "%-12s %12s %14s\n", suite, tests, points);
        }
        i = j;
    }
    if (!any)
        return;
    int score, max;
    totals(run, extension, &score, &max);
    char sum[32];
    snprintf(sum, sizeof(sum), "%d/%d", score, max);
    fprintf(out, "%-12s %12s %14s\n", total_name, "", sum);
}

void report_scorecard(const run_t *run, FILE *out)
{
    fprintf(out, "\n%-12s %12s %14s\n", "suite", "tests", "points");
    scorecard_block(run, out, 0, "total");
    scorecard_block(run, out, 1, "extensions");
    if (run->n_items > 0)
        fprintf(out, "not graded:\n");
    for (size_t i = 0; i < run->n_items; i++) {
        const item_t *it = &run->items[i];
        fprintf(out, "  %-50s %s\n", it->name, it->ok ? "ok" : "FAILED");
    }
    if (run->ignored != NULL && run->ignored[0] != '\0') {
        size_t n = 0;
        for (const char *p = run->ignored; *p; p++)
            n += *p == '\n';
        fprintf(out,
                "ignored: %zu changed file(s) outside the student files, graded as handed "
                "out\n",
                n);
    }
}

static const char *visibility_of(const run_t *run, const char *suite)
{
    const char *v = "visible";
    for (int i = 0; i < run->n_visibility; i++) {
        if (strcmp(run->visibility[i][0], suite) == 0 || strcmp(run->visibility[i][0], "*") == 0)
            v = run->visibility[i][1];
    }
    return v;
}

static void json_str(tkv_buf_t *b, const char *s)
{
    text_json(b, s, strlen(s));
}

static void json_raw(tkv_buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* The run's summary for Gradescope's top-level "output". Caller frees. */
static char *summary_text(const run_t *run)
{
    tkv_buf_t b = TKV_BUF_INIT;
    char line[512];
    int score, max, xscore, xmax;
    totals(run, 0, &score, &max);
    totals(run, 1, &xscore, &xmax);
    snprintf(line, sizeof(line), "Score: %d/%d.\n", score, max);
    json_raw(&b, line);
    if (xmax > 0) {
        snprintf(line, sizeof(line), "Optional extensions (not counted): %d/%d.\n", xscore, xmax);
        json_raw(&b, line);
    }
    for (size_t i = 0; i < run->n_items; i++) {
        const item_t *it = &run->items[i];
        snprintf(line, sizeof(line), "%s: %s (ungraded).\n", it->name, it->ok ? "ok" : "FAILED");
        json_raw(&b, line);
    }
    if (run->ignored != NULL && run->ignored[0] != '\0') {
        json_raw(&b, "Files changed outside the student files were ignored (the handout's "
                     "version was graded):\n");
        json_raw(&b, run->ignored);
    }
    buf_append_byte(&b, '\0');
    return (char *)buf_take(&b);
}

static int write_file(const char *path, const tkv_buf_t *b)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "grade: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int report_json(const run_t *run, const char *path)
{
    tkv_buf_t b = TKV_BUF_INIT;
    char num[64];
    int score, max, xscore, xmax;
    totals(run, 0, &score, &max);
    totals(run, 1, &xscore, &xmax);
    snprintf(num, sizeof(num), "{\n  \"score\": %d,\n  \"max_score\": %d,\n", score, max);
    json_raw(&b, num);
    snprintf(num, sizeof(num), "  \"extension_score\": %d,\n  \"extension_max_score\": %d,\n",
             xscore, xmax);
    json_raw(&b, num);
    snprintf(num, sizeof(num), "  \"execution_time\": %.1f,\n  \"output\": ", run->elapsed);
    json_raw(&b, num);
    char *summary = summary_text(run);
    json_str(&b, summary);
    free(summary);
    json_raw(&b, ",\n  \"tests\": [\n");
    int index_in_suite = 0;
    for (size_t i = 0; i < run->n; i++) {
        const test_t *t = &run->tests[i];
        index_in_suite =
            i > 0 && strcmp(run->tests[i - 1].suite, t->suite) == 0 ? index_in_suite + 1 : 1;
        char part[32], name[300];
        suite_part(t->suite, part, sizeof(part));
        snprintf(name, sizeof(name), "%s/%s", t->suite, t->name);
        json_raw(&b, "    {\"name\": ");
        json_str(&b, name);
        snprintf(num, sizeof(num), ", \"number\": \"%s.%d\"", part, index_in_suite);
        json_raw(&b, num);
        snprintf(num, sizeof(num), ", \"score\": %d, \"max_score\": %d, \"status\": ",
                 t->state == T_PASSED ? t->points : 0, t->points);
        json_raw(&b, num);
        json_str(&b, t->state == T_PASSED ? "passed" : "failed");
        json_raw(&b, ", \"output\": ");
        if (t->state == T_PASSED) {
            json_str(&b, "");
        } else {
            tkv_buf_t o = TKV_BUF_INIT;
            json_raw(&o, t->reason);
            json_raw(&o, ": ");
            json_raw(&o, t->desc);
            json_raw(&o, "\n");
            char *text = text_excerpt(t->build_log ? t->build_log : t->log_path, FILE_HEAD,
                                      FILE_TAIL, run->quiet);
            json_raw(&o, text);
            free(text);
            text_json(&b, (const char *)o.data, o.len);
            buf_free(&o);
        }
        json_raw(&b, ", \"tags\": [");
        snprintf(num, sizeof(num), "\"suite:%s\", \"part:%s\"%s", t->suite, part,
                 suite_is_extension(t->suite) ? ", \"extension\"" : "");
        json_raw(&b, num);
        json_raw(&b, "], \"visibility\": ");
        json_str(&b, visibility_of(run, t->suite));
        json_raw(&b, i + 1 < run->n || run->n_items > 0 ? "},\n" : "}\n");
    }
    for (size_t i = 0; i < run->n_items; i++) {
        const item_t *it = &run->items[i];
        json_raw(&b, "    {\"name\": ");
        json_str(&b, it->name);
        json_raw(&b, ", \"score\": 0, \"max_score\": 0, \"status\": ");
        json_str(&b, it->ok ? "passed" : "failed");
        json_raw(&b, ", \"output\": ");
        json_str(&b, it->text);
        json_raw(&b, ", \"tags\": [\"ungraded\"], \"visibility\": \"visible\"}");
        json_raw(&b, i + 1 < run->n_items ? ",\n" : "\n");
    }
    json_raw(&b, "  ]\n}\n");
    int rc = write_file(path, &b);
    buf_free(&b);
    return rc;
}

static void xml_str(tkv_buf_t *b, const char *s)
{
    text_xml(b, s, strlen(s));
}

int report_junit(const run_t *run, const char *path)
{
    tkv_buf_t b = TKV_BUF_INIT;
    char num[256];
    json_raw(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    size_t i = 0;
    while (i < run->n) {
        size_t j;
        tally_t s = tally_suite(run, i, &j);
        double secs = 0;
        for (size_t k = i; k < j; k++)
            secs += run->tests[k].elapsed;
        json_raw(&b, "  <testsuite name=\"");
        xml_str(&b, run->tests[i].suite);
        snprintf(num, sizeof(num), "\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n", s.n,
                 s.n - s.passed, secs);
        json_raw(&b, num);
        for (size_t k = i; k < j; k++) {
            const test_t *t = &run->tests[k];
            json_raw(&b, "    <testcase classname=\"");
            xml_str(&b, t->suite);
            json_raw(&b, "\" name=\"");
            xml_str(&b, t->name);
            snprintf(num, sizeof(num), "\" time=\"%.3f\"", t->elapsed);
            json_raw(&b, num);
            if (t->state == T_PASSED) {
                json_raw(&b, "/>\n");
                continue;
            }
            json_raw(&b, ">\n      <failure message=\"");
            xml_str(&b, t->reason);
            json_raw(&b, ": ");
            xml_str(&b, t->desc);
            json_raw(&b, "\">");
            char *text = text_excerpt(t->build_log ? t->build_log : t->log_path, FILE_HEAD,
                                      FILE_TAIL, run->quiet);
            xml_str(&b, text);
            free(text);
            json_raw(&b, "</failure>\n    </testcase>\n");
        }
        json_raw(&b, "  </testsuite>\n");
        i = j;
    }
    if (run->n_items > 0) {
        json_raw(&b, "  <testsuite name=\"ungraded\">\n");
        for (size_t k = 0; k < run->n_items; k++) {
            const item_t *it = &run->items[k];
            json_raw(&b, "    <testcase classname=\"ungraded\" name=\"");
            xml_str(&b, it->name);
            json_raw(&b, "\"");
            if (it->ok) {
                json_raw(&b, "/>\n");
                continue;
            }
            json_raw(&b, ">\n      <failure message=\"ungraded\">");
            xml_str(&b, it->text);
            json_raw(&b, "</failure>\n    </testcase>\n");
        }
        json_raw(&b, "  </testsuite>\n");
    }
    json_raw(&b, "</testsuites>\n");
    int rc = write_file(path, &b);
    buf_free(&b);
    return rc;
}

int report_summary(const run_t *run, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "grade: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t i = 0;
    while (i < run->n) {
        size_t j;
        tally_t s = tally_suite(run, i, &j);
        fprintf(f, "suite\t%s\t%d\t%d\t%zu\t%zu\n", run->tests[i].suite, s.score, s.max, s.passed,
                s.n);
        i = j;
    }
    int score, max;
    totals(run, 0, &score, &max);
    fprintf(f, "total\tcore\t%d\t%d\n", score, max);
    totals(run, 1, &score, &max);
    fprintf(f, "total\textension\t%d\t%d\n", score, max);
    for (size_t k = 0; k < run->n_items; k++) {
        const item_t *it = &run->items[k];
        const char *name = strcmp(it->name, "lint") == 0 ? "lint" : "build";
        fprintf(f, "item\t%s\t%s\t", name, it->ok ? "ok" : "failed");
        for (const char *p = it->name; *p; p++)
            fputc(*p == '\t' || *p == '\n' ? ' ' : *p, f);
        fputc('\n', f);
    }
    size_t ignored = 0;
    for (const char *p = run->ignored ? run->ignored : ""; *p; p++)
        ignored += *p == '\n';
    fprintf(f, "ignored\t%zu\n", ignored);
    for (size_t k = 0; k < run->n; k++) {
        const test_t *t = &run->tests[k];
        fprintf(f, "test\t%s/%s\t%s\t%d\n", t->suite, t->name,
                t->state == T_PASSED ? "passed" : "failed", t->points);
    }
    return fclose(f) == 0 ? 0 : -1;
}
