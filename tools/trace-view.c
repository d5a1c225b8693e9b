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

#include "common/cli.h"
#include "tests/harness/trace_page.h"
#include "tests/harness/trace_synth.h"

static const char usage_text[] =
    "usage: trace-view [-o PAGE] [--title TEXT] [--replay CMD] TRACE\n"
    "       trace-view --synthetic N [-o PAGE] TRACE\n"
    "\n"
    "Turns a simulator trace (written by a failing test) into one self-contained\n"
    "HTML page that draws the run; open it in any browser.\n"
    "\n"
    "  -o PAGE          where the page goes (default: TRACE with .html for .trace)\n"
    "  --title TEXT     the page's heading\n"
    "  --replay CMD     the command that replays the run, shown on the page\n"
    "  --synthetic N    first write a made-up trace of N >= 100 events to TRACE\n"
    "  --help           this text\n"
    "\n"
    "Exit status: 0 when the page was written, 1 when the trace cannot be read\n"
    "or the page written, 2 on bad usage.\n";

int main(int argc, char **argv)
{
    const char *trace = NULL, *page = NULL;
    trace_page_info_t info = { NULL, NULL };
    long long synthetic = 0;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (cli_is_help(flag)) {
            fputs(usage_text, stdout);
            return 0;
        }
        int takes_value = strcmp(flag, "--synthetic") == 0 || strcmp(flag, "-o") == 0 ||
                          strcmp(flag, "--title") == 0 || strcmp(flag, "--replay") == 0;
        if (takes_value && i + 1 >= argc)
            return cli_usage_error("trace-view", "%s needs a value", flag);
        if (strcmp(flag, "--synthetic") == 0) {
            uint64_t n = 0;
            if (cli_parse_u64(argv[++i], 100, 100000000, &n) != 0)
                return cli_usage_error(
                    "trace-view", "--synthetic wants a count in 100..100000000, not '%s'", argv[i]);
            synthetic = (long long)n;
        } else if (strcmp(flag, "-o") == 0) {
            page = argv[++i];
        } else if (strcmp(flag, "--title") == 0) {
            info.title = argv[++i];
        } else if (strcmp(flag, "--replay") == 0) {
            info.replay = argv[++i];
        } else if (flag[0] == '-') {
            return cli_usage_error("trace-view", "unknown option '%s'", flag);
        } else if (trace != NULL) {
            return cli_usage_error("trace-view", "one TRACE only, not '%s' and '%s'", trace, flag);
        } else {
            trace = flag;
        }
    }
    if (trace == NULL)
        return cli_usage_error("trace-view", "which TRACE file?");
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
