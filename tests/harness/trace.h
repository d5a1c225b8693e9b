/*
 * The simulator's event trace: what each node did, in virtual-time order.
 *
 * Nodes, the network and the cluster record events as they happen: role
 * changes, messages sent and received, entries persisted and applied,
 * snapshots, crashes. Each event is one line
 *
 *     1530 ms  n2  send       to n1: AppendEntries term 3 idx 17
 *
 * kept in memory (the last `keep` lines; older ones are dropped but still
 * counted). Every event ever recorded feeds a running FNV-1a 64 digest, so a
 * test can assert that one seed gives the same run twice by comparing two
 * digests, and a failure can be replayed and compared line by line.
 *
 * How a test uses it: the cluster (sim_node.h) makes one and hands it to
 * nodes; a test that builds its own calls
 *
 *     trace_t *tr = trace_new(sim_clock(sim), 0);
 *     trace_write_on_failure(tr, "mytest");   // dumped to a file if the test fails
 *     trace_event(tr, 2, "role", "leader at term %d", term);
 *     ...
 *     uint64_t d = trace_digest(tr);
 *     trace_free(tr);
 *
 * If the test fails while the trace is alive, the harness writes it to
 * $TKV_TRACE_DIR (else $TMPDIR, else /tmp) as <test>-seed<seed>-<label>.trace,
 * renders it next to it as <...>.html (the trace viewer page, trace_page.h)
 * and prints both paths under the replay command.
 *
 * Besides free-form events, a few kinds have a fixed shape that the trace
 * viewer (tools/trace-view) reads; the helpers below write them:
 *
 *     cluster    5 nodes, 3 clients from n6            trace_cluster()
 *     class      3 MsgAppend                            trace_class_name()
 *     state      region 1 role leader term 3 commit 17 applied 17 epoch 1/1
 *                                                       trace_state()
 *     op         #12 c3 append "0" "x 3 4 y"           history.h, when a history
 *     op         #12 ok                                 is attached to the trace
 *     check-fail client 3 read #40 misses append #33   the checkers, naming ops
 *     check-prefix #1 #4 #5 ...                        linearizability's prefix
 *
 * and the network's own (net-send, net-drop, net-dup, partition) and the
 * cluster's (start, crash) lines.
 *
 * Ownership: trace_new() returns a trace the caller frees with trace_free()
 * (which also removes its failure hook). The clock is borrowed and must
 * outlive the trace.
 */
#ifndef TKV_TESTS_HARNESS_TRACE_H
#define TKV_TESTS_HARNESS_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/clock.h"
#include "common/err.h"

typedef struct trace trace_t;

/* A trace stamping events with `clock`, keeping the last `keep` lines
 * in memory (0: 100000). */
trace_t *trace_new(const tkv_clock_t *clock, size_t keep);
void trace_free(trace_t *tr);

/* Records one event. `node` is the node or endpoint id (0: the simulator
 * itself); `kind` is a short word ("send", "recv", "role", "apply"...),
 * `fmt` the details. A NULL trace is allowed and records nothing, so a
 * node can trace unconditionally. */
void trace_event(trace_t *tr, int node, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* FNV-1a 64 over every line recorded so far (dropped ones included). */
uint64_t trace_digest(const trace_t *tr);
/* Events recorded so far (dropped ones included). */
uint64_t trace_count(const trace_t *tr);
/* Kept events of `kind` (any node when node < 0). */
size_t trace_count_kind(const trace_t *tr, int node, const char *kind);

/* Writes the kept lines to `out` or to the file `path`. */
void trace_print(const trace_t *tr, FILE *out);
tkv_err_t trace_write(const trace_t *tr, const char *path);

/* One node's Raft state for one region, as the viewer's state strips show
 * it. trace_state() records it only when it differs from the last state
 * recorded for that node and region (a node's "start" and "crash" events
 * forget what was recorded, so the first state after a restart always
 * shows), so a node may call it after every step. */
typedef struct {
    uint64_t region;  /* 0: the node runs one Raft group and has no regions */
    const char *role; /* "leader", "follower", "candidate"; borrowed */
    uint64_t term, commit, applied;
    uint64_t conf_ver, version; /* the region epoch; both 0: not recorded */
} trace_state_t;
void trace_state(trace_t *tr, int node, const trace_state_t *st);

/* Records the cluster's shape: endpoints 1..nodes are nodes, clients are
 * first_client..first_client+clients-1 (the viewer draws a column each). */
void trace_cluster(trace_t *tr, int nodes, int clients, int first_client);

/* Names the network's message class `cls` (sim_net.h's classifier) for the
 * viewer, which then says "MsgAppend" rather than "class 3". */
void trace_class_name(trace_t *tr, int cls, const char *name);

/* Asks the harness to write this trace to a file if the running test fails
 * (see above); `label` tells several traces of one test apart. */
void trace_write_on_failure(trace_t *tr, const char *label);

#endif
