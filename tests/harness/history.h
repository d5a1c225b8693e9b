/*
 * An operation history: what clients asked for, what they were told, and
 * when (in virtual time), for the checkers (linearizability.h,
 * client_check.h) to judge.
 *
 * Each operation is a get, put, append or delete on one key. A client calls
 * history_invoke() when it sends the request and, when the answer comes,
 * history_complete() (with the value for a get). An operation that never
 * completes (the client timed out, the node crashed) stays PENDING: its
 * outcome is unknown, so the checkers allow it to have taken effect at any
 * moment after its invocation, or never. An operation the system reported
 * as definitely not done (an error that guarantees no effect, such as "not
 * leader" before proposing) is marked with history_fail() and ignored.
 *
 *     size_t op = history_invoke(h, client, HIST_APPEND, key, klen, val, vlen, sim_now(sim));
 *     ... later, when the reply arrives ...
 *     history_complete(h, op, sim_now(sim), 0, NULL, 0);          // writes: no result
 *     history_complete(h, get_op, sim_now(sim), 1, value, vlen);  // get: found, value
 *
 * A client is sequential: it invokes its next operation only after the last
 * one completed or was given up on. Keys and values are bytes.
 *
 * Attached to a trace (history_set_trace), the history also writes each
 * call and answer into it as "op" lines (trace.h), so the trace viewer
 * draws client operations as intervals beside the cluster's events, and
 * the checkers write there which operations they reject.
 *
 * Ownership: history_new() returns a history the caller frees with
 * history_free(). An attached trace is borrowed: detach it (NULL) or free
 * the history before the trace goes. Keys and values are copied in. history_op() returns a
 * pointer borrowed until the next history_invoke() or history_free().
 */
#ifndef TKV_TESTS_HARNESS_HISTORY_H
#define TKV_TESTS_HARNESS_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "tests/harness/trace.h"

typedef enum { HIST_GET, HIST_PUT, HIST_APPEND, HIST_DELETE } hist_kind_t;

typedef enum {
    HIST_PENDING, /* no answer: may or may not have taken effect */
    HIST_OK,      /* answered: took effect (for a get: returned `result`) */
    HIST_FAILED,  /* answered with an error that guarantees no effect */
} hist_status_t;

/* The unknown return time of a pending operation. */
#define HIST_NEVER UINT64_MAX

typedef struct {
    size_t id; /* its index in the history */
    int client;
    hist_kind_t kind;
    tkv_buf_t key;
    tkv_buf_t value; /* put/append: the argument */
    hist_status_t status;
    int found;        /* get, completed: whether the key existed */
    tkv_buf_t result; /* get, completed and found: the value read */
    uint64_t call;    /* virtual ms when invoked */
    uint64_t ret;     /* virtual ms when completed; HIST_NEVER while pending */
} hist_op_t;

typedef struct history history_t;

history_t *history_new(void);
void history_free(history_t *h);

/* Records an invocation; returns its id. `value` is ignored for get/delete. */
size_t history_invoke(history_t *h, int client, hist_kind_t kind, const void *key, size_t klen,
                      const void *value, size_t vlen, uint64_t now);
/* Convenience for C-string keys and values (value may be NULL). */
size_t history_invoke_str(history_t *h, int client, hist_kind_t kind, const char *key,
                          const char *value, uint64_t now);
/* Records the answer. For a get, `found` and result[0..rlen) are what it
 * read; for the others they are ignored. Completing twice is ignored. */
void history_complete(history_t *h, size_t id, uint64_t now, int found, const void *result,
                      size_t rlen);
/* Records a definite failure (no effect). */
void history_fail(history_t *h, size_t id, uint64_t now);

/* From now on, records operations in `tr` too, client c's under endpoint
 * first_ep + c (the cluster's sim_cluster_client_ep(c, 0)). NULL stops. */
void history_set_trace(history_t *h, trace_t *tr, int first_ep);
/* The attached trace (NULL if none), and the endpoint of `client`. */
trace_t *history_trace(const history_t *h);
int history_client_ep(const history_t *h, int client);

size_t history_len(const history_t *h);
const hist_op_t *history_op(const history_t *h, size_t id);

/* "get", "put", "append", "delete". Static storage. */
const char *hist_kind_name(hist_kind_t kind);
/* One line describing an operation, e.g.
 *   #12 c3 [1200..1260] append("k1", "x 3 4 y") ok */
void hist_op_print(const hist_op_t *op, FILE *out);
/* Appends the same line (with a newline) to `out`. */
void hist_op_describe(const hist_op_t *op, tkv_buf_t *out);
/* Appends bytes as a quoted string, escaping the unprintable and eliding
 * the middle of long values. */
void hist_quote(const void *data, size_t len, tkv_buf_t *out);

#endif
