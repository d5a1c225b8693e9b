/*
 * trace-view: turns a simulator trace into the trace viewer page.
 *
 *   trace-view [-o PAGE] [--title TEXT] [--replay CMD] TRACE
 *   trace-view --synthetic N [-o PAGE] TRACE
 *
 * TRACE is a file written by the harness when a test fails (trace.h); the
 * page goes to PAGE, by default beside TRACE with .html for .trace. It is
 * one self-contained HTML file with its script and styles inline, no
 * network: open it in any browser. Failing tests make this page themselves
 * (the failure hook calls the same code, tests/harness/trace_page.c); this
 * program is for traces made otherwise, or to redo a page. --synthetic N
 * first writes a made-up trace of N events to TRACE (trace_synth.h), to
 * try the page on a large trace.
 *
 * Prints one line: the page's path and what is in it. Exit status 0 on
 * success, 1 if the trace cannot be read or the page written, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/trace_page.h"
#include "tests/harness/trace_synth.h"

static int usage(void)
{
    fprintf(stderr, "usage: trace-view [--synthetic N] [-o PAGE] [--title TEXT] [--replay CMD] "
                    "TRACE\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *trace = NULL, *page = NULL;
    trace_page_info_t info = { NULL, NULL };
    long long synthetic = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--synthetic") == 0 && i + 1 < argc) {
            char *end = NULL;
            synthetic = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || synthetic < 100) {
                fprintf(stderr, "trace-view: --synthetic wants a count of at least 100, not %s\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            page = argv[++i];
        else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc)
            info.title = argv[++i];
        else if (strcmp(argv[i], "--replay") == 0 && i + 1 < argc)
            info.replay = argv[++i];
        else if (argv[i][0] == '-' || trace != NULL)
            return usage();
        else
            trace = argv[i];
    }
    if (trace == NULL)
        return usage();
    char def[4096];
    if (page == NULL) {
        size_t n = strlen(trace);
        if (n > 6 && strcmp(trace + n - 6, ".trace") == 0)
            n -= 6;
        if (n + 6 > sizeof(def)) {
            fprintf(stderr, "trace-view: path too long: %s\n", trace);
            return 2;
        }
        snprintf(def, sizeof(def), "%.*s.html", (int)n, trace);
        page = def;
    }
    if (synthetic > 0 && trace_synth_write(trace, (size_t)synthetic, 1) != TKV_OK) {
        fprintf(stderr, "trace-view: %s\n", tkv_last_error());
        return 1;
    }
    trace_page_stats_t st;
    if (trace_page_write(trace, page, &info, &st) != TKV_OK) {
        fprintf(stderr, "trace-view: %s\n", tkv_last_error());
        return 1;
    }
    printf("%s: %zu events, %zu messages (%zu lost), %zu state changes, %zu operations "
           "(%zu named by a checker), %d nodes, %d clients\n",
           page, st.events, st.messages, st.dropped, st.states, st.ops, st.failed_ops, st.nodes,
           st.clients);
    return 0;
}
