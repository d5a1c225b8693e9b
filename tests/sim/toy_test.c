/*
 * End to end on the toy store (toy.h): a run under loss, reordering,
 * duplicates, partitions and crashes replays exactly from its seed, keeps
 * its disk across crashes, loses its memory, and passes both checkers; and
 * the checkers catch the toy's deliberate bugs.
 */
#include <stdio.h>
#include <string.h>

#include "tests/harness/client_check.h"
#include "tests/harness/expect.h"
#include "tests/harness/linearizability.h"
#include "tests/harness/test.h"
#include "tests/sim/toy.h"

typedef struct {
    int bugs;
    toy_workload_t workload;
    int unreliable;
    int chaos; /* crash and partition the primary now and then */
    int clients, ops;
} scenario_t;

typedef struct {
    sim_cluster_t *c;
    int restarts, partitions;
} chaos_t;

/* Every 200..400 ms: crash the primary for a while, or cut it off from the
 * backups, or do nothing. Ends when the clients are done. */
static void restart_primary(sim_t *sim, void *arg)
{
    (void)sim;
    chaos_t *ch = arg;
    expect_err(sim_cluster_start(ch->c, 1), TKV_OK, "sim_cluster_start(ch->c, 1)");
    ch->restarts++;
}

static void heal(sim_t *sim, void *arg)
{
    (void)sim;
    sim_net_heal(sim_cluster_net(((chaos_t *)arg)->c));
}

static void chaos_step(sim_t *sim, void *arg)
{
    chaos_t *ch = arg;
    tkv_prng_t *p = sim_prng(sim);
    switch (prng_below(p, 3)) {
    case 0:
        sim_cluster_crash(ch->c, 1);
        sim_schedule(sim, prng_between(p, 20, 800), restart_primary, ch, NULL);
        break;
    case 1:
        sim_net_isolate(sim_cluster_net(ch->c), 1);
        ch->partitions++;
        sim_schedule(sim, prng_between(p, 20, 200), heal, ch, NULL);
        break;
    default:
        break;
    }
    sim_schedule(sim, prng_between(p, 100, 250), chaos_step, ch, NULL);
}

typedef struct {
    uint64_t digest;
    uint64_t events;
    uint64_t completed, given_up;
    int restarts, partitions;
    lin_verdict_t lin;
    int clients_ok;
    char why[2048];
} outcome_t;

/* Runs a scenario and judges its history. With `must_pass`, a wrong verdict
 * fails the test right here, while the cluster (and so its trace) is alive:
 * the harness then writes the trace to a file and prints where. */
static void run_scenario(const scenario_t *sc, uint64_t seed, int must_pass, outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    toy_config_t cfg = { sc->bugs };
    sim_cluster_opts_t o = {
        .nodes = 3, .clients = sc->clients, .ops = &toy_node_ops, .user = &cfg, .seed = seed
    };
    sim_cluster_t *c;
    expect_err(sim_cluster_new(&o, &c), TKV_OK, "sim_cluster_new(&o, &c)");
    sim_t *sim = sim_cluster_sim(c);
    sim_net_t *net = sim_cluster_net(c);
    sim_net_set_classifier(net, toy_classify, NULL);
    if (sc->unreliable) {
        sim_net_opts_t no = sim_net_opts_unreliable();
        sim_net_set_opts(net, &no);
    }
    history_t *h = history_new();
    toy_clients_t *tc = toy_clients_new(c, sc->clients, sc->ops, sc->workload, h);
    chaos_t ch = { c, 0, 0 };
    if (sc->chaos)
        sim_schedule(sim, 100, chaos_step, &ch, NULL);
    if (!sim_run_while(sim, toy_clients_busy, tc, 600000))
        fail_msg("clients did not finish in 600 s of virtual time");
    /* Let late messages and the last chaos land, with the primary up, so
     * replicas settle; then the trace is complete. */
    sim_net_heal(net);
    sim_cluster_start(c, 1);
    sim_run_for(sim, 1000);

    out->digest = trace_digest(sim_cluster_trace(c));
    out->events = sim_events_run(sim);
    out->completed = toy_clients_completed(tc);
    out->given_up = toy_clients_given_up(tc);
    out->restarts = ch.restarts;
    out->partitions = ch.partitions;
    tkv_buf_t why = TKV_BUF_INIT;
    out->lin = lin_check(h, NULL, &why);
    out->clients_ok = 1;
    for (int i = 0; i < sc->clients && out->clients_ok; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", i);
        out->clients_ok = client_check(h, i, key, strlen(key), &why);
    }
    snprintf(out->why, sizeof(out->why), "%.*s", (int)why.len, why.data ? (char *)why.data : "");
    buf_free(&why);
    if (must_pass && out->lin != LIN_OK)
        fail_msg("seed %llu: %s\n%s", (unsigned long long)seed, lin_verdict_name(out->lin),
                 out->why);
    if (must_pass && !out->clients_ok)
        fail_msg("seed %llu: client view wrong\n%s", (unsigned long long)seed, out->why);
    sim_cluster_free(c);
    toy_clients_free(tc);
    history_free(h);
}

static const scenario_t faulty = { 0, TOY_RANDOM, 1, 1, 4, 150 };

static void test_same_seed_same_run(void **state)
{
    (void)state;
    outcome_t a, b, c;
    run_scenario(&faulty, 11, 1, &a);
    run_scenario(&faulty, 11, 1, &b);
    run_scenario(&faulty, 12, 1, &c);
    assert_true(a.events > 1000);
    assert_int_equal(a.digest, b.digest);
    assert_int_equal(a.events, b.events);
    assert_int_equal(a.completed, b.completed);
    assert_true(a.digest != c.digest);
}

static void faulty_run_is_correct(uint64_t seed, void *arg)
{
    const scenario_t *sc = arg;
    outcome_t out;
    run_scenario(sc, seed, 1, &out);
    /* The faults really happened, and the clients still got work done. */
    assert_true(out.restarts + out.partitions > 0);
    assert_true(out.completed > (uint64_t)(sc->clients * sc->ops) / 2);
}

static void test_correct_store_passes_linearizability_under_faults(void **state)
{
    (void)state;
    tkv_for_each_seed(100, faulty_run_is_correct, (void *)&faulty);
}

static void test_correct_store_passes_client_check_under_faults(void **state)
{
    (void)state;
    static const scenario_t own = { 0, TOY_OWN_APPENDS, 1, 1, 4, 150 };
    tkv_for_each_seed(200, faulty_run_is_correct, (void *)&own);
}

static void test_duplicate_applies_are_caught(void **state)
{
    (void)state;
    /* Without deduplication, a request whose answer was lost is applied
     * again when the client retries: an append shows twice. */
    static const scenario_t sc = { TOY_BUG_NO_DEDUP, TOY_OWN_APPENDS, 1, 0, 4, 150 };
    outcome_t out;
    run_scenario(&sc, 300, 0, &out);
    assert_false(out.clients_ok);
    assert_non_null(strstr(out.why, "twice"));
    assert_int_equal(out.lin, LIN_ILLEGAL);
}

static void test_writes_lost_in_a_crash_are_caught(void **state)
{
    (void)state;
    /* A primary that answers before its write is on disk forgets it when it
     * crashes: linearizability sees the acknowledged write vanish. */
    static const scenario_t sc = { TOY_BUG_VOLATILE, TOY_RANDOM, 0, 1, 4, 150 };
    outcome_t out;
    run_scenario(&sc, 400, 0, &out);
    assert_int_equal(out.lin, LIN_ILLEGAL);
    assert_non_null(strstr(out.why, "not linearizable"));
}

const tkv_test_t toy_tests[] = {
    { "frame", "sim_same_seed_same_run", 0,
      "a seed replays a faulty run event for event (same trace digest); another seed differs",
      test_same_seed_same_run },
    { "frame", "sim_toy_linearizable_under_faults", 0,
      "a correct toy store under loss, partitions and crashes gives linearizable histories",
      test_correct_store_passes_linearizability_under_faults },
    { "frame", "sim_toy_client_view_under_faults", 0,
      "a correct toy store under faults shows each client exactly its own appends",
      test_correct_store_passes_client_check_under_faults },
    { "frame", "sim_toy_duplicate_apply_caught", 0,
      "the checkers catch a store that applies a retried append twice",
      test_duplicate_applies_are_caught },
    { "frame", "sim_toy_lost_write_caught", 0,
      "the checkers catch a store that loses acknowledged writes in a crash",
      test_writes_lost_in_a_crash_are_caught },
    { 0 },
};
