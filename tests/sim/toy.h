/*
 * A toy replicated key-value store, to prove the simulator before a real
 * store plugs into it.
 *
 * Node 1 is the primary: it serves every client request (get, put, append,
 * delete), persists its whole state (the map and, per client, the last
 * request's sequence number and answer, so retries are not applied twice) to
 * a file in its data directory before answering, and forwards each write to
 * the other nodes, the backups, which only persist what they are sent. The
 * primary has one memory-only thing, a count of requests served since start,
 * so tests can see a crash lose memory and keep the disk.
 *
 * Bugs can be switched on (toy_config_t.bugs) to check that the checkers
 * catch a store that is wrong: forgetting retries (duplicates) or keeping
 * writes in memory only (lost on a crash).
 *
 * Clients (toy_clients_t) are sequential: each sends a request to node 1,
 * resends it every `retry_ms` until answered, gives up after `give_up_ms`
 * (the op stays pending in the history) and moves on. Workloads: random ops
 * on a few shared keys (for linearizability), or TinyKV's "append x c j y to
 * my own key and read it back" (for the client-view check).
 *
 * Ownership: toy_clients_new() returns clients the caller frees with
 * toy_clients_free() after the cluster is freed (pending timers point at
 * them); the history is the caller's, borrowed.
 */
#ifndef TKV_TESTS_SIM_TOY_H
#define TKV_TESTS_SIM_TOY_H

#include <stdint.h>

#include "tests/harness/history.h"
#include "tests/harness/sim_cluster.h"

enum {
    TOY_BUG_NO_DEDUP = 1, /* applies a retried request again */
    TOY_BUG_VOLATILE = 2, /* never writes its state to disk */
};

typedef struct {
    int bugs;
} toy_config_t;

/* The node callbacks; env->user must point at a toy_config_t (or be NULL). */
extern const sim_node_ops_t toy_node_ops;

/* What a running toy node shows tests. */
typedef struct {
    uint64_t served; /* requests answered since this start (memory only) */
    uint64_t ticks;  /* ticks since this start */
    uint64_t keys;   /* keys in the map */
} toy_peek_t;
toy_peek_t toy_peek(void *node_state);

/* Message types, the first byte of every message (the classifier's class). */
enum { TOY_MSG_REQUEST = 1, TOY_MSG_REPLY = 2, TOY_MSG_REPLICATE = 3 };
int toy_classify(void *ctx, int from, int to, const uint8_t *bytes, size_t len);

typedef enum { TOY_RANDOM, TOY_OWN_APPENDS } toy_workload_t;

typedef struct toy_clients toy_clients_t;

/* Drives clients 0..n-1 of cluster `c` (which must have n clients), each
 * doing `ops` operations, recording them in `h`. */
toy_clients_t *toy_clients_new(sim_cluster_t *c, int n, int ops, toy_workload_t w, history_t *h);
void toy_clients_free(toy_clients_t *tc);
/* Non-zero while some client still has operations to do (a sim_pred_fn). */
int toy_clients_busy(void *tc);
/* Operations answered, and given up on. */
uint64_t toy_clients_completed(const toy_clients_t *tc);
uint64_t toy_clients_given_up(const toy_clients_t *tc);

#endif
