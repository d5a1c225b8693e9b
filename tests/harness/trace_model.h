/*
 * A trace file (trace.h) read back into what the trace viewer draws.
 *
 * The trace is text, one event per line ("  1530 ms  n2  kind  detail");
 * this module parses it once and pairs up what belongs together: each
 * message sent with its arrival or the drop that ended it, each crash with
 * the restart, each partition with the next change, each client operation's
 * call with its answer, and the checkers' verdicts with the operations they
 * name. trace_page.h turns the result into the HTML page; the frame tests
 * read it directly to check what the page will show.
 *
 * Lines it does not recognise stay plain events: every line is an event,
 * and the kinds it understands only add structure on top.
 *
 * Ownership: trace_model_load() returns a model the caller frees with
 * trace_model_free(); every string in it belongs to the model.
 */
#ifndef TKV_TESTS_HARNESS_TRACE_MODEL_H
#define TKV_TESTS_HARNESS_TRACE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define TM_NEVER       UINT64_MAX
#define TM_MAX_EPS     64 /* endpoints the viewer tells apart (nodes + clients) */
#define TM_MAX_CLASSES 64 /* message classes that can have a name */

typedef struct {
    uint64_t time;
    int node;
    int kind; /* index into trace_model_t.kinds */
    char *detail;
} tm_event_t;

typedef enum {
    TM_MSG_DELIVERED, /* sent, and nothing in the trace says it was lost */
    TM_MSG_DROPPED,   /* lost at send (partition, loss, filter, endpoint down) */
    TM_MSG_LOST,      /* sent, then lost in flight (receiver down, partitioned) */
} tm_msg_fate_t;

typedef struct {
    size_t ev;             /* the net-send / net-dup / net-drop event */
    uint64_t sent, arrive; /* arrive == sent for a message dropped at send */
    int from, to, cls;
    int dup; /* the copy of a duplicated message */
    tm_msg_fate_t fate;
    size_t drop_ev; /* the in-flight net-drop event when LOST */
    char *reason;   /* why it was lost ("random loss", ...); NULL if delivered */
} tm_msg_t;

typedef struct {
    size_t ev;
    uint64_t time;
    int node;
    uint64_t region;
    char role[16];
    uint64_t term, commit, applied; /* commit unknown (older traces): TM_NEVER */
    uint64_t conf_ver, version;
} tm_state_t;

typedef struct {
    int node;
    uint64_t down, up; /* up == TM_NEVER: still down at the end */
} tm_crash_t;

typedef struct {
    uint64_t from, to;     /* to == TM_NEVER: lasts to the end */
    int group[TM_MAX_EPS]; /* per endpoint; all 0 when only the description is known */
    char *desc;
} tm_partition_t;

typedef enum { TM_OP_PENDING, TM_OP_OK, TM_OP_FAILED } tm_op_status_t;

typedef struct {
    int present; /* the trace held this op's call */
    size_t id;   /* the history's id */
    int client, ep;
    char kind[8];
    char *key, *value, *result; /* as quoted in the trace; value/result may be NULL */
    uint64_t call, ret;         /* ret == TM_NEVER while pending */
    tm_op_status_t status;
    int failed_check;  /* named by a check-fail line */
    size_t prefix_pos; /* 1-based place in the longest linearizable prefix; 0: not in it */
} tm_op_t;

typedef struct {
    char *text;
    size_t ev;
} tm_check_t;

typedef struct {
    tm_event_t *events;
    size_t n_events;
    char **kinds;
    size_t n_kinds;
    tm_msg_t *msgs;
    size_t n_msgs;
    tm_state_t *states;
    size_t n_states;
    tm_crash_t *crashes;
    size_t n_crashes;
    tm_partition_t *parts;
    size_t n_parts;
    tm_op_t *ops; /* indexed by history id; absent ones have present == 0 */
    size_t n_ops;
    tm_check_t *checks;
    size_t n_checks;
    char *class_names[TM_MAX_CLASSES]; /* from class lines; NULL: unnamed */
    int nodes, clients, first_client;  /* from the cluster line, or guessed */
    int max_ep;                        /* the highest endpoint seen */
    uint64_t t_end;                    /* the last event's time */
    uint64_t dropped_earlier;          /* events the ring had dropped before the file was written */
} trace_model_t;

/* Reads a trace file. Lines that are not events (the header and footer
 * trace_print() writes) are skipped; an unreadable file is an error. */
tkv_err_t trace_model_load(const char *path, trace_model_t **out);
/* The same from text in memory. */
tkv_err_t trace_model_parse(const char *text, size_t len, trace_model_t **out);
void trace_model_free(trace_model_t *m);

/* Ops marked by a check-fail line (failed_check), counted. */
size_t trace_model_failed_ops(const trace_model_t *m);

#endif
