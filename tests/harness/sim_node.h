/*
 * The node interface: what a replicated store implements so the simulator
 * can run it, crash it and restart it.
 *
 * A node is a state machine behind four callbacks (sim_node_ops_t):
 *
 *   start    open your data directories (env->dir survives crashes: put the
 *            kv and raft leveldb databases under it), rebuild your memory
 *            state from them, and return it in *state;
 *   stop     a crash: free every byte of memory state and close your files.
 *            Do not flush or finish anything: a real crash would not. What
 *            you wrote to your databases stays; nothing else does;
 *   deliver  one message (encoded bytes, borrowed for the call) from endpoint
 *            `from`: another node (1..nodes) or a client (above nodes);
 *   tick     the node's logical clock ticked (every tick_ms of virtual time):
 *            drive Raft's tick, check timeouts, flush Ready.
 *
 * A node sends with sim_node_send(env, to, bytes, len) (bytes copied),
 * reads time from env->clock, draws randomness only from env->prng, and
 * records what it does with trace_event(env->trace, env->id, ...). It never
 * sleeps, reads the real clock or starts threads. All callbacks run on the
 * simulator's one thread, one at a time.
 *
 * The cluster that hosts nodes is in sim_cluster.h.
 */
#ifndef TKV_TESTS_HARNESS_SIM_NODE_H
#define TKV_TESTS_HARNESS_SIM_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/prng.h"
#include "tests/harness/sim.h"
#include "tests/harness/sim_net.h"
#include "tests/harness/trace.h"

typedef struct sim_cluster sim_cluster_t;

typedef struct {
    sim_cluster_t *cluster;
    int id;                   /* 1..nodes; also the node's network endpoint */
    int nodes;                /* how many nodes the cluster has */
    const char *dir;          /* this node's data directory, kept across crashes */
    const tkv_clock_t *clock; /* virtual */
    tkv_prng_t *prng;         /* the run's PRNG */
    trace_t *trace;
    void *user; /* the test's sim_cluster_opts_t.user */
} sim_node_env_t;

typedef struct {
    const char *name;
    tkv_err_t (*start)(const sim_node_env_t *env, void **state);
    void (*stop)(void *state);
    void (*deliver)(void *state, int from, const uint8_t *bytes, size_t len);
    void (*tick)(void *state);
} sim_node_ops_t;

/* From a node: send bytes (copied) to endpoint `to`. Never fails for a
 * valid endpoint: loss is silent, as on a real network. */
tkv_err_t sim_node_send(const sim_node_env_t *env, int to, const void *bytes, size_t len);

#endif
