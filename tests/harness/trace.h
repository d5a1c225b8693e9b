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
 * $TKV_TRACE_DIR (else $TMPDIR, else /tmp) as <test>-seed<seed>-<label>.trace
 * and prints the path under the replay command.
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

/* Asks the harness to write this trace to a file if the running test fails
 * (see above); `label` tells several traces of one test apart. */
void trace_write_on_failure(trace_t *tr, const char *label);

#endif
