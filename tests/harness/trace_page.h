/*
 * The trace viewer page: one self-contained HTML file drawn from a trace.
 *
 * trace_page_write() reads a trace file (trace_model.h), writes the model
 * as a JavaScript object into the page together with the page's own CSS and
 * script (tests/harness/trace_page.css and .js, compiled into the program
 * at build time), and nothing else: the page loads no network resource, so
 * it opens from a CI artifact or a student's /tmp alike.
 *
 * What the page shows and how to read it is in docs/simulator.md. The
 * failure hook of trace.h calls this for every failing test's trace;
 * tools/trace-view is the same as a command.
 *
 * Ownership: everything passed in is borrowed for the call.
 */
#ifndef TKV_TESTS_HARNESS_TRACE_PAGE_H
#define TKV_TESTS_HARNESS_TRACE_PAGE_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "tests/harness/trace_model.h"

typedef struct {
    const char *title;  /* shown at the top; NULL: the trace's file name */
    const char *replay; /* the command that replays the run; NULL: none */
} trace_page_info_t;

/* What went into a page (for the tool's summary line and for tests). */
typedef struct {
    size_t events, messages, dropped, states, ops, failed_ops;
    int nodes, clients;
} trace_page_stats_t;

/* Reads `trace_path`, writes the page to `html_path`. `info` and `stats`
 * may be NULL. */
tkv_err_t trace_page_write(const char *trace_path, const char *html_path,
                           const trace_page_info_t *info, trace_page_stats_t *stats);
/* The page of an already loaded model, to `out`. */
void trace_page_render(const trace_model_t *m, const trace_page_info_t *info, FILE *out);

#endif
