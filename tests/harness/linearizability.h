/*
 * A linearizability checker for key-value histories (history.h).
 *
 * A history is linearizable if every operation can be given a single
 * instant between its invocation and its completion such that, taken in the
 * order of those instants, the operations obey a sequential key-value store:
 * a get returns what the last put/append/delete left (not found after a
 * delete or before any write), a put replaces, an append concatenates, a
 * delete removes. Pending operations (no answer) may take effect at any
 * instant after their invocation, or never; failed ones never do.
 *
 * The search is Wing & Gong's, with Lowe's memoization, as in Porcupine:
 * walk the history's call/return events in time order, try to linearize each
 * pending call (apply it to the model state), backtrack when a return is
 * reached whose call could not be placed, and remember every (set of
 * linearized operations, model state) already explored so no configuration
 * is searched twice. Keys are independent (P-compositionality), so each key
 * is checked on its own, which keeps the sets small.
 *
 * The search is exponential in the worst case, so it has a budget (model
 * steps over the whole check). When the budget runs out the verdict is
 * LIN_UNKNOWN: neither proof nor refutation. A test should treat UNKNOWN as
 * a failure of the test's design (too much concurrency on one key), not of
 * the system.
 *
 *     tkv_buf_t why = TKV_BUF_INIT;
 *     lin_verdict_t v = lin_check(h, NULL, &why);
 *     if (v != LIN_OK)
 *         fail_msg("%s: %.*s", lin_verdict_name(v), (int)why.len, (char *)why.data);
 *     buf_free(&why);
 *
 * On LIN_ILLEGAL `explain` names the key, how far the longest linearizable
 * prefix went and the state it left, and a window of the operations that
 * could not be placed after it, with their times and clients: usually the
 * bug is among them.
 *
 * lin_check_report() gives the same verdict with the failure as data: the
 * longest linearizable prefix and the operations that could not follow it,
 * by history id. When the history is attached to a trace
 * (history_set_trace), both checks also write the failure there
 * ("check-fail" naming the stuck operations, "check-prefix" listing the
 * prefix in order), so the trace viewer highlights them.
 *
 * Ownership: lin_check() only reads the history; it appends to `explain`
 * (caller-owned; NULL for no text). A report's arrays are freed by
 * lin_report_free().
 */
#ifndef TKV_TESTS_HARNESS_LINEARIZABILITY_H
#define TKV_TESTS_HARNESS_LINEARIZABILITY_H

#include <stdint.h>

#include "common/buf.h"
#include "tests/harness/history.h"

typedef enum {
    LIN_OK,      /* linearizable */
    LIN_ILLEGAL, /* not linearizable: a key's operations admit no order */
    LIN_UNKNOWN, /* the budget ran out before an answer */
} lin_verdict_t;

typedef struct {
    uint64_t budget; /* model steps over the whole check; 0: 20 million */
} lin_opts_t;

/* `opts` may be NULL for the defaults. */
lin_verdict_t lin_check(const history_t *h, const lin_opts_t *opts, tkv_buf_t *explain);

/* A LIN_ILLEGAL verdict, as data. For other verdicts only `verdict` is set. */
typedef struct {
    lin_verdict_t verdict;
    tkv_buf_t key;  /* the key whose operations admit no order */
    size_t key_ops; /* operations on it that the check considered */
    size_t *prefix; /* the longest linearizable prefix, history ids in order */
    size_t n_prefix;
    size_t *stuck; /* ops that could not go next, by call time; ... */
    size_t n_stuck;
    size_t first_stuck; /* ... of which this one completes first (one had to go) */
} lin_report_t;

/* lin_check() filling `report` (which may be NULL). */
lin_verdict_t lin_check_report(const history_t *h, const lin_opts_t *opts, lin_report_t *report,
                               tkv_buf_t *explain);
void lin_report_free(lin_report_t *report);

/* "linearizable", "not linearizable", "unknown". Static storage. */
const char *lin_verdict_name(lin_verdict_t v);

#endif
