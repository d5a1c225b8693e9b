/*
 * Project 3B: TinyKV's generic test with conf changes and splits. Clients
 * append and read (routed by key through the scheduler, region by region)
 * while a conf changer moves the first region's peers, regions split as
 * they grow, and the network loses, delays and partitions, and stores
 * crash; every client must see exactly its own appends and the history
 * must be linearizable, as in 2B.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/harness/kv_cluster.h"
#include "tests/harness/mr_cluster.h"

#define ROUND 3000 /* virtual ms of client traffic per round */

typedef struct {
    int clients;
    int unreliable, crash, partitions;
    int confchange;
    uint64_t split; /* split past this many bytes (at two thirds); 0: never */
    uint64_t max_raft_log;
    int rounds;
    uint64_t min_ops;
} g3b_t;

static void run_one(uint64_t seed, void *arg)
{
    const g3b_t *g = arg;
    mr_cluster_opts_t o = { g->max_raft_log, g->split, g->split * 2 / 3, 0 };
    mr_cluster_t *m = mr_cluster_new(5, g->clients, seed, &o);
    sim_t *sim = mr_sim(m);
    sim_net_t *net = sim_cluster_net(m->c);
    if (g->unreliable) {
        sim_net_opts_t no = sim_net_opts_unreliable();
        sim_net_set_opts(net, &no);
    }
    history_t *h = history_new();
    kv_clients_opts_t ko = { g->clients, 0, 3, m->sched };
    kv_clients_t *k = kv_clients_start(m->c, h, &ko);
    mr_confchanger_t *cc = g->confchange ? mr_confchanger_start(m, 0) : NULL;
    cluster_fault_t pt = { m->c, 0 }, cr = { m->c, 0 };
    for (int r = 0; r < g->rounds; r++) {
        if (g->partitions) {
            pt.on = 1;
            sim_schedule(sim, 0, cluster_repartition, &pt, NULL);
        }
        if (g->crash) {
            cr.on = 1;
            sim_schedule(sim, 200, cluster_crash_one, &cr, NULL);
        }
        sim_run_for(sim, ROUND);
        pt.on = 0;
        cr.on = 0;
        sim_net_heal(net);
        if (g->crash)
            for (int i = 1; i <= 5; i++) {
                tkv_err_t err = sim_cluster_restart(m->c, i);
                if (err != TKV_OK)
                    fail_msg("restarting store %d: %s: %s", i, tkv_strerror(err), tkv_last_error());
            }
        sim_run_for(sim, 100);
    }
    if (cc != NULL)
        mr_confchanger_stop(cc);
    sim_net_opts_t rel = sim_net_opts_reliable();
    sim_net_set_opts(net, &rel);
    sim_run_for(sim, 2000);
    kv_clients_stop(k);
    uint64_t done = kv_clients_done(k);
    if (getenv("TKV_VERBOSE"))
        fprintf(stderr, "seed %llu: %llu ops, %zu regions, virtual %llu ms\n",
                (unsigned long long)seed, (unsigned long long)done, mock_sched_n_regions(m->sched),
                (unsigned long long)sim_now(sim));
    if (done < g->min_ops)
        fail_msg("only %llu operations completed (want at least %llu): no progress",
                 (unsigned long long)done, (unsigned long long)g->min_ops);
    cluster_check_history(h, g->clients);
    if (g->split && mock_sched_n_regions(m->sched) < 2)
        fail_msg("the regions grew past %llu bytes but never split (the scheduler knows %zu "
                 "region)",
                 (unsigned long long)g->split, mock_sched_n_regions(m->sched));
    if (g->confchange) {
        const Metapb__Region *r = mock_sched_region_by_key(m->sched, "", 0);
        if (r == NULL || r->region_epoch == NULL || r->region_epoch->conf_ver <= 2)
            fail_msg("the conf changer ran, but the first region's conf_ver is %llu: its "
                     "membership never changed",
                     r && r->region_epoch ? (unsigned long long)r->region_epoch->conf_ver : 0ULL);
    }
    mr_cluster_free(m);
    mr_confchanger_free(cc);
    kv_clients_free(k);
    history_free(h);
}

static void run(const g3b_t *g, uint64_t seed)
{
    tkv_for_each_seed(seed, run_one, (void *)g);
}

/*                                          cl  unr crash part cc split log rounds min */
#define G(name, seed, ...)                                                                         \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        g3b_t g = { __VA_ARGS__ };                                                                 \
        run(&g, seed);                                                                             \
    }

G(conf_change_recover, 331, 1, 0, 1, 0, 1, 0, 0, 3, 5)
G(conf_change_recover_many_clients, 332, 20, 0, 1, 0, 1, 0, 0, 3, 20)
G(conf_change_unreliable, 333, 5, 1, 0, 0, 1, 0, 0, 3, 10)
G(conf_change_unreliable_recover, 334, 5, 1, 1, 0, 1, 0, 0, 3, 5)
G(conf_change_snapshot_unreliable_recover, 335, 5, 1, 1, 0, 1, 0, 100, 3, 5)
G(conf_change_concurrent_partition, 336, 5, 0, 0, 1, 1, 0, 100, 3, 5)
G(split_recover, 341, 1, 0, 1, 0, 0, 300, 0, 3, 5)
G(split_recover_many_clients, 342, 20, 0, 1, 0, 0, 2000, 0, 3, 20)
G(split_unreliable, 343, 5, 1, 0, 0, 0, 300, 0, 3, 10)
G(split_unreliable_recover, 344, 5, 1, 1, 0, 0, 300, 0, 3, 5)
G(split_conf_change_snapshot_unreliable_recover, 345, 5, 1, 1, 0, 1, 300, 100, 3, 5)
G(split_conf_change_concurrent_partition, 346, 5, 0, 0, 1, 1, 300, 100, 3, 5)

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3b", #name, pts, desc, test_##name, 180                                            \
    }

const tkv_test_t generic3b_tests[] = {
    T(conf_change_recover, 4, "peers join and leave region 1 while stores crash and restart"),
    T(conf_change_recover_many_clients, 4, "conf changes and crashes under 20 clients"),
    T(conf_change_unreliable, 4, "conf changes on a lossy, reordering network"),
    T(conf_change_unreliable_recover, 4, "conf changes, crashes and a lossy network"),
    T(conf_change_snapshot_unreliable_recover, 4,
      "conf changes with log compaction (added peers catch up by snapshot), crashes, losses"),
    T(conf_change_concurrent_partition, 4, "conf changes while partitions come and go"),
    T(split_recover, 4, "regions split as they grow while stores crash and restart"),
    T(split_recover_many_clients, 4, "splits and crashes under 20 clients"),
    T(split_unreliable, 4, "splits on a lossy, reordering network"),
    T(split_unreliable_recover, 4, "splits, crashes and a lossy network"),
    T(split_conf_change_snapshot_unreliable_recover, 5,
      "splits, conf changes, snapshots, crashes and losses together"),
    T(split_conf_change_concurrent_partition, 5,
      "splits and conf changes while partitions come and go"),
    { 0 },
};
