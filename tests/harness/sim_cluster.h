/*
 * The simulated cluster: nodes (sim_node.h) hosted on the event loop
 * (sim.h) and the network (sim_net.h), plus client endpoints.
 *
 * The cluster (sim_cluster_t) owns the event loop, the network, the trace,
 * one data directory per node, and client endpoints. A test:
 *
 *     sim_cluster_opts_t o = { .nodes = 3, .clients = 2, .ops = &my_store_ops,
 *                              .seed = seed };
 *     sim_cluster_t *c;
 *     assert_int_equal(sim_cluster_new(&o, &c), TKV_OK);   // nodes started
 *     sim_cluster_on_client(c, 0, on_reply, ctx);         // replies to client 0
 *     sim_cluster_client_send(c, 0, 1, req, req_len);     // client 0 -> node 1
 *     sim_run_for(sim_cluster_sim(c), 1000);
 *     sim_cluster_crash(c, 2);  ...  sim_cluster_start(c, 2);
 *     sim_cluster_free(c);
 *
 * Ownership: sim_cluster_new() returns a cluster the caller frees with
 * sim_cluster_free(), which stops every node, frees the loop, the network and
 * the trace, and removes the data directories it made. Everything returned
 * by the accessors is borrowed until then. The env passed to start() stays
 * valid until that node's stop().
 */
#ifndef TKV_TESTS_HARNESS_SIM_CLUSTER_H
#define TKV_TESTS_HARNESS_SIM_CLUSTER_H

#include "tests/harness/sim_node.h"

/* A client endpoint's receiver: a reply from node `from`. */
typedef void (*sim_client_fn)(void *ctx, int from, const uint8_t *bytes, size_t len);

typedef struct {
    int nodes;                 /* >= 1 */
    int clients;               /* client endpoints, numbered nodes+1 .. nodes+clients */
    const sim_node_ops_t *ops; /* borrowed; must outlive the cluster */
    void *user;                /* handed to nodes in env->user */
    uint64_t seed;             /* seeds the run's PRNG */
    uint64_t tick_ms;          /* 0: 10 ms */
    int start_stopped;         /* non-zero: nodes stay down until sim_cluster_start() */
    size_t trace_keep;         /* lines kept in memory; 0: trace.h's default */
} sim_cluster_opts_t;

/* Makes the loop, the network (reliable until told otherwise), the trace
 * (dumped if the test fails), a scratch directory with one subdirectory per
 * node ($TMPDIR or /tmp), and starts the nodes. While the cluster lives,
 * log lines (common/log.h) are stamped with its virtual time. On error
 * nothing is left behind. */
tkv_err_t sim_cluster_new(const sim_cluster_opts_t *opts, sim_cluster_t **out);
void sim_cluster_free(sim_cluster_t *c);

sim_t *sim_cluster_sim(sim_cluster_t *c);
sim_net_t *sim_cluster_net(sim_cluster_t *c);
trace_t *sim_cluster_trace(sim_cluster_t *c);
int sim_cluster_nodes(const sim_cluster_t *c);

/* Starts a down node (no-op if up). Its ticks begin at a random phase. */
tkv_err_t sim_cluster_start(sim_cluster_t *c, int node);
/* Crashes a node: stop(), its ticks end, the network sees it down. */
void sim_cluster_crash(sim_cluster_t *c, int node);
/* Crash then start. */
tkv_err_t sim_cluster_restart(sim_cluster_t *c, int node);
int sim_cluster_is_up(const sim_cluster_t *c, int node);
/* The node's memory state as start() returned it (NULL while down), for
 * tests that peek. Borrowed until the node stops. */
void *sim_cluster_node_state(sim_cluster_t *c, int node);
const char *sim_cluster_node_dir(const sim_cluster_t *c, int node);

/* Client `i` (0-based) is endpoint nodes+1+i. */
int sim_cluster_client_ep(const sim_cluster_t *c, int i);
void sim_cluster_on_client(sim_cluster_t *c, int i, sim_client_fn fn, void *ctx);
tkv_err_t sim_cluster_client_send(sim_cluster_t *c, int i, int node, const void *bytes, size_t len);

#endif
