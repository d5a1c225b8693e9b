/*
 * Project 2B on whole clusters (TinyKV's 2B tests): clients append and read
 * through a 5-store cluster while the network loses, delays and reorders
 * messages, partitions come and go, and every store crashes and restarts;
 * each client must see exactly its own appends, and the whole history must
 * be linearizable.
 */
#include "tests/harness/expect.h"
#include "tests/harness/kv_cluster.h"

#define ROUND 5000 /* virtual ms of client traffic per round, as in TinyKV */

static void run(const generic_opts_t *g, uint64_t seed)
{
    tkv_for_each_seed(seed, generic_run, (void *)g);
}

static void test_basic(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 1, 0, 0, 0, 3, ROUND, 0, 250 };
    run(&g, 201);
}

static void test_concurrent(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 0, 0, 0, 3, ROUND, 0, 1200 };
    run(&g, 202);
}

static void test_unreliable(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 0, 0, 3, ROUND, 0, 230 };
    run(&g, 203);
}

static void test_many_partitions_one_client(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 1, 0, 0, 1, 3, ROUND, 0, 75 };
    run(&g, 205);
}

static void test_many_partitions_many_clients(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 0, 0, 1, 3, ROUND, 0, 400 };
    run(&g, 206);
}

static void test_persist_one_client(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 1, 0, 1, 0, 3, ROUND, 0, 140 };
    run(&g, 207);
}

static void test_persist_concurrent(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 0, 1, 0, 3, ROUND, 0, 800 };
    run(&g, 208);
}

static void test_persist_concurrent_unreliable(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 1, 0, 3, ROUND, 0, 175 };
    run(&g, 209);
}

static void test_persist_partition(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 0, 1, 1, 3, ROUND, 0, 230 };
    run(&g, 210);
}

static void test_persist_partition_unreliable(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 1, 1, 3, ROUND, 0, 100 };
    run(&g, 211);
}

/* A short faulty run; returns its trace digest. */
static uint64_t digest_of_run(uint64_t seed)
{
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 2, seed, 10, &so);
    sim_net_opts_t no = sim_net_opts_unreliable();
    sim_net_set_opts(sim_cluster_net(c), &no);
    history_t *h = history_new();
    kv_clients_opts_t ko = { 2, 0, 0, NULL };
    kv_clients_t *k = kv_clients_start(c, h, &ko);
    sim_run_for(sim_cluster_sim(c), 1000);
    expect_err(sim_cluster_restart(c, 2), TKV_OK, "sim_cluster_restart(c, 2)");
    sim_run_for(sim_cluster_sim(c), 1000);
    kv_clients_stop(k);
    uint64_t d = trace_digest(sim_cluster_trace(c));
    sim_cluster_free(c);
    kv_clients_free(k);
    history_free(h);
    return d;
}

static void test_same_seed_same_run(void **state)
{
    (void)state;
    uint64_t a = digest_of_run(77), b = digest_of_run(77), other = digest_of_run(78);
    if (a != b)
        fail_msg("seed 77 ran twice with different traces (%016llx, %016llx): something reads "
                 "the clock, an address or uninitialised memory",
                 (unsigned long long)a, (unsigned long long)b);
    expect_true(
        a != other,
        "seeds 77 and 78 ran with the same trace digest %016llx: the seed does not reach the run",
        (unsigned long long)a);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project2b", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t cluster_tests[] = {
    { "frame", "same_seed_same_run", 0,
      "the store under the simulator is deterministic: one seed, one trace",
      test_same_seed_same_run, 60 },
    T(basic, 5, "one client appends and reads on a healthy 5-store cluster"),
    T(concurrent, 5, "five clients at once: each sees its own appends, history linearizable"),
    T(unreliable, 5, "lost, delayed, reordered and duplicated messages lose no write"),
    T(many_partitions_one_client, 5, "random partitions come and go under one client"),
    T(many_partitions_many_clients, 5, "random partitions come and go under five clients"),
    T(persist_one_client, 5, "every store crashes and restarts each round: nothing is lost"),
    T(persist_concurrent, 5, "crashes and restarts under five clients"),
    T(persist_concurrent_unreliable, 5, "crashes and restarts on an unreliable network"),
    T(persist_partition, 5, "crashes, restarts and partitions together"),
    T(persist_partition_unreliable, 5, "crashes, restarts and partitions on an unreliable network"),
    { 0 },
};
