/*
 * Crashes in the middle of a step (projects 2B and 2C): a store dies at a
 * fail point (common/failpoint.h) -- just before its N-th engine write or
 * its N-th message send, so between the raft-DB write and the kv-DB write
 * of a Ready, between two of its messages, or half-way through applying --
 * and restarts a little later. The simulator's own crashes fall between
 * events and cannot catch a store that saves an entry's data and its apply
 * state in two writes, or that answers before it saved; these can. After
 * the run: no acknowledged write is lost (client views, linearizability),
 * and once quiet every store holds exactly the same data. At every
 * restart, the store's data must be exactly its log applied up to its apply
 * state (recovery_check.h): an entry applied twice is invisible to clients
 * (puts and deletes replayed in order end where they were), so it is
 * checked there.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/failpoint.h"
#include "tests/harness/expect.h"
#include "tests/harness/kv_cluster.h"

typedef struct {
    sim_cluster_t *c;
    int on;
    int armed; /* crashes armed so far */
} crasher_t;

/* Every 150-450 ms, one store is set to crash at its N-th engine write
 * (three times in four) or its N-th send, N in 1..30. */
static void arm_crash(sim_t *sim, void *arg)
{
    crasher_t *cr = arg;
    if (!cr->on)
        return;
    tkv_prng_t *rng = sim_prng(sim);
    int node = 1 + (int)prng_below(rng, (uint64_t)sim_cluster_nodes(cr->c));
    const char *point = prng_chance(rng, 3, 4) ? "engine.write" : "peer.send";
    uint64_t nth = 1 + prng_below(rng, 30);
    if (failpoint_armed() < 3 && sim_cluster_is_up(cr->c, node) &&
        failpoint_arm(point, node, nth, FAILPOINT_CRASH) == 0) {
        cr->armed++;
        trace_event(sim_cluster_trace(cr->c), node, "failpoint", "armed: crash at %s hit %llu",
                    point, (unsigned long long)nth);
    }
    sim_schedule(sim, 150 + prng_below(rng, 300), arm_crash, cr, NULL);
}

typedef struct {
    int nodes, clients;
    uint64_t run_ms;
    uint64_t max_raft_log; /* 2C: compaction and snapshots too */
    uint64_t min_crashes;  /* the run is worth nothing without them */
} crash_opts_t;

static void crash_run(uint64_t seed, void *arg)
{
    const crash_opts_t *o = arg;
    failpoint_reset();
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(o->nodes, o->clients, seed, o->max_raft_log, &so);
    so.failpoint_restart_ms = 100;
    so.check_recovery = 1; /* data and apply state agree at every restart */
    sim_t *sim = sim_cluster_sim(c);
    history_t *h = history_new();
    kv_clients_opts_t ko = { o->clients, 0, 3, NULL };
    kv_clients_t *k = kv_clients_start(c, h, &ko);
    crasher_t cr = { c, 1, 0 };
    sim_schedule(sim, 300, arm_crash, &cr, NULL);
    sim_run_for(sim, o->run_ms);
    cr.on = 0;
    uint64_t crashes = failpoint_fired();
    if (getenv("TKV_VERBOSE"))
        fprintf(stderr, "seed %llu: %llu crashes at fail points, %llu armed\n",
                (unsigned long long)seed, (unsigned long long)crashes,
                (unsigned long long)cr.armed);
    failpoint_reset();     /* no call is under way: no store is half dead */
    sim_run_for(sim, 500); /* the last crashed store comes back */
    for (int i = 1; i <= o->nodes; i++)
        if (!sim_cluster_is_up(c, i))
            expect_err(sim_cluster_start(c, i), TKV_OK, "sim_cluster_start(c, i)");
    sim_run_for(sim, 1000);
    kv_clients_stop(k);
    if (crashes < o->min_crashes)
        fail_msg("only %llu stores crashed at a fail point (want at least %llu): the run "
                 "tested too little",
                 (unsigned long long)crashes, (unsigned long long)o->min_crashes);
    if (kv_clients_done(k) < 20)
        fail_msg("only %llu operations completed under crashes (want at least 20): no progress",
                 (unsigned long long)kv_clients_done(k));
    cluster_check_history(h, o->clients);
    cluster_check_replicas_agree(c, 5000);
    if (o->max_raft_log > 0)
        cluster_check_log_bounded(c, o->max_raft_log, o->clients);
    sim_cluster_free(c);
    kv_clients_free(k);
    history_free(h);
}

static void test_crash_inside_a_ready(void **state)
{
    (void)state;
    crash_opts_t o = { 5, 3, 5000, 0, 6 };
    tkv_for_each_seed(221, crash_run, &o);
}

static void test_crash_inside_a_ready_with_snapshots(void **state)
{
    (void)state;
    crash_opts_t o = { 5, 3, 5000, 10, 6 };
    tkv_for_each_seed(321, crash_run, &o);
}

const tkv_test_t crash_tests[] = {
    { "project2b", "crash_inside_a_ready", 5,
      "a store crashing between the writes and sends of one Ready loses no acknowledged write, "
      "and every store ends with the same data",
      test_crash_inside_a_ready, 120 },
    { "project2c", "crash_inside_a_ready_with_snapshots", 5,
      "the same with log compaction and snapshots: a crash mid-install or mid-GC loses nothing",
      test_crash_inside_a_ready_with_snapshots, 120 },
    { 0 },
};
