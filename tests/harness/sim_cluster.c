/*
 * The cluster behind sim_node.h: hosts nodes on the simulator, gives each a
 * data directory that outlives its crashes, ticks them, and routes the
 * network's deliveries to nodes and client endpoints.
 *
 * A node's ticks are a chain of events, each scheduling the next. A crash
 * bumps the node's generation; a tick event of an older generation finds
 * the mismatch and ends the chain, so a restarted node never gets the ticks
 * of its previous life, and no event needs cancelling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"
#include "tests/harness/sim_cluster.h"
#include "tests/harness/test.h"

typedef struct {
    sim_node_env_t env;
    char dir[300];
    void *state;
    int up;
    uint64_t generation;
} node_t;

typedef struct {
    sim_client_fn fn;
    void *ctx;
} client_t;

struct sim_cluster {
    sim_cluster_opts_t opts;
    sim_t *sim;
    sim_net_t *net;
    trace_t *trace;
    char base[256];
    node_t *nodes; /* nodes[1..n] */
    client_t *clients;
};

typedef struct {
    sim_cluster_t *c;
    int node;
    uint64_t generation;
} tick_arg_t;

static int valid_node(const sim_cluster_t *c, int node)
{
    return node >= 1 && node <= c->opts.nodes;
}

static void on_deliver(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    sim_cluster_t *c = ctx;
    if (valid_node(c, to)) {
        node_t *n = &c->nodes[to];
        if (n->up)
            c->opts.ops->deliver(n->state, from, bytes, len);
        return;
    }
    client_t *cl = &c->clients[to - c->opts.nodes - 1];
    if (cl->fn != NULL)
        cl->fn(cl->ctx, from, bytes, len);
}

static void on_tick(sim_t *sim, void *arg)
{
    tick_arg_t *t = arg;
    node_t *n = &t->c->nodes[t->node];
    if (!n->up || n->generation != t->generation)
        return; /* the node crashed since: this chain ends */
    t->c->opts.ops->tick(n->state);
    /* The node may have crashed itself from inside tick(). */
    if (!n->up || n->generation != t->generation)
        return;
    tick_arg_t *next = xmalloc(sizeof(*next));
    *next = *t;
    sim_schedule(sim, t->c->opts.tick_ms, on_tick, next, free);
}

tkv_err_t sim_node_send(const sim_node_env_t *env, int to, const void *bytes, size_t len)
{
    return sim_net_send(env->cluster->net, env->id, to, bytes, len);
}

static tkv_err_t make_dirs(sim_cluster_t *c)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    snprintf(c->base, sizeof(c->base), "%s/tinykv-sim-XXXXXX", tmp);
    if (mkdtemp(c->base) == NULL) {
        c->base[0] = '\0';
        return tkv_errorf(TKV_ERR_IO, "cannot make a scratch directory under %s: %s", tmp,
                          strerror(errno));
    }
    for (int i = 1; i <= c->opts.nodes; i++) {
        node_t *n = &c->nodes[i];
        snprintf(n->dir, sizeof(n->dir), "%s/n%d", c->base, i);
        if (mkdir(n->dir, 0700) != 0)
            return tkv_errorf(TKV_ERR_IO, "cannot make %s: %s", n->dir, strerror(errno));
    }
    return TKV_OK;
}

tkv_err_t sim_cluster_new(const sim_cluster_opts_t *opts, sim_cluster_t **out)
{
    *out = NULL;
    if (opts->nodes < 1 || opts->clients < 0 || opts->ops == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "sim_cluster_new: %d nodes, %d clients, ops %s",
                          opts->nodes, opts->clients, opts->ops ? "set" : "missing");
    sim_cluster_t *c = xcalloc(1, sizeof(*c));
    c->opts = *opts;
    if (c->opts.tick_ms == 0)
        c->opts.tick_ms = 10;
    c->sim = sim_loop_new(opts->seed);
    c->trace = trace_new(sim_clock(c->sim), opts->trace_keep);
    c->net = sim_net_new(c->sim, opts->nodes + opts->clients, on_deliver, c);
    sim_net_set_trace(c->net, c->trace);
    trace_cluster(c->trace, opts->nodes, opts->clients, opts->nodes + 1);
    c->nodes = xcalloc((size_t)opts->nodes + 1, sizeof(*c->nodes));
    c->clients = xcalloc((size_t)opts->clients + 1, sizeof(*c->clients));
    for (int i = 0; i < opts->clients; i++)
        sim_net_set_external(c->net, opts->nodes + 1 + i, 1);
    tkv_err_t err = make_dirs(c);
    for (int i = 1; err == TKV_OK && i <= opts->nodes; i++) {
        node_t *n = &c->nodes[i];
        n->env = (sim_node_env_t){
            c, i, opts->nodes, n->dir, sim_clock(c->sim), sim_prng(c->sim), c->trace, opts->user
        };
        sim_net_set_up(c->net, i, 0);
        if (!opts->start_stopped)
            err = sim_cluster_start(c, i);
    }
    if (err != TKV_OK) {
        sim_cluster_free(c);
        return err;
    }
    trace_write_on_failure(c->trace, opts->ops->name ? opts->ops->name : "cluster");
    /* Log lines then carry virtual time, matching the trace. */
    tkv_log_set_clock(sim_clock(c->sim));
    *out = c;
    return TKV_OK;
}

void sim_cluster_free(sim_cluster_t *c)
{
    if (c == NULL)
        return;
    for (int i = 1; i <= c->opts.nodes; i++) {
        if (c->nodes[i].up)
            sim_cluster_crash(c, i);
    }
    tkv_log_set_clock(NULL); /* the clock goes with the loop */
    /* The loop goes first: its queued deliveries point at the network. */
    sim_loop_free(c->sim);
    sim_net_free(c->net);
    trace_free(c->trace);
    if (c->base[0] != '\0')
        tkv_rmdir(c->base);
    free(c->nodes);
    free(c->clients);
    free(c);
}

sim_t *sim_cluster_sim(sim_cluster_t *c)
{
    return c->sim;
}

sim_net_t *sim_cluster_net(sim_cluster_t *c)
{
    return c->net;
}

trace_t *sim_cluster_trace(sim_cluster_t *c)
{
    return c->trace;
}

int sim_cluster_nodes(const sim_cluster_t *c)
{
    return c->opts.nodes;
}

tkv_err_t sim_cluster_start(sim_cluster_t *c, int node)
{
    if (!valid_node(c, node))
        return tkv_errorf(TKV_ERR_INVALID, "start node %d: nodes are 1..%d", node, c->opts.nodes);
    node_t *n = &c->nodes[node];
    if (n->up)
        return TKV_OK;
    void *state = NULL;
    tkv_err_t err = c->opts.ops->start(&n->env, &state);
    if (err != TKV_OK) {
        trace_event(c->trace, node, "start-fail", "%s", tkv_last_error());
        return err;
    }
    n->state = state;
    n->up = 1;
    n->generation++;
    sim_net_set_up(c->net, node, 1);
    trace_event(c->trace, node, "start", "generation %llu", (unsigned long long)n->generation);
    /* A random first tick, so nodes do not tick in lockstep. */
    tick_arg_t *t = xmalloc(sizeof(*t));
    *t = (tick_arg_t){ c, node, n->generation };
    sim_schedule(c->sim, prng_between(sim_prng(c->sim), 1, c->opts.tick_ms + 1), on_tick, t, free);
    return TKV_OK;
}

void sim_cluster_crash(sim_cluster_t *c, int node)
{
    if (!valid_node(c, node) || !c->nodes[node].up)
        return;
    node_t *n = &c->nodes[node];
    n->up = 0;
    n->generation++;
    sim_net_set_up(c->net, node, 0);
    trace_event(c->trace, node, "crash", "memory state dropped");
    void *state = n->state;
    n->state = NULL;
    c->opts.ops->stop(state);
}

tkv_err_t sim_cluster_restart(sim_cluster_t *c, int node)
{
    sim_cluster_crash(c, node);
    return sim_cluster_start(c, node);
}

int sim_cluster_is_up(const sim_cluster_t *c, int node)
{
    return valid_node(c, node) && c->nodes[node].up;
}

void *sim_cluster_node_state(sim_cluster_t *c, int node)
{
    return valid_node(c, node) ? c->nodes[node].state : NULL;
}

const char *sim_cluster_node_dir(const sim_cluster_t *c, int node)
{
    return valid_node(c, node) ? c->nodes[node].dir : NULL;
}

int sim_cluster_client_ep(const sim_cluster_t *c, int i)
{
    return c->opts.nodes + 1 + i;
}

void sim_cluster_on_client(sim_cluster_t *c, int i, sim_client_fn fn, void *ctx)
{
    if (i < 0 || i >= c->opts.clients)
        return;
    c->clients[i].fn = fn;
    c->clients[i].ctx = ctx;
}

tkv_err_t sim_cluster_client_send(sim_cluster_t *c, int i, int node, const void *bytes, size_t len)
{
    if (i < 0 || i >= c->opts.clients)
        return tkv_errorf(TKV_ERR_INVALID, "client %d: clients are 0..%d", i, c->opts.clients - 1);
    return sim_net_send(c->net, sim_cluster_client_ep(c, i), node, bytes, len);
}
