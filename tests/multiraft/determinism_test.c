/*
 * The determinism guard of project 3B (frame): one seed, run twice in one
 * process, must give the same multi-region run, event for event, as the
 * Raft core's and the 2B store's guards require of theirs.
 *
 * 3B brings code of its own that can break replay: the split checker, the
 * scheduler heartbeats, peers created from messages, tombstones, the
 * store's table of regions. One that reads the clock, calls rand(), or
 * walks regions in address order makes every 3B test fail or pass at
 * random; this test says so by name, with the first trace line where the
 * two runs part. The scenario is short and mixes what 3B adds: five stores,
 * a lossy network, conf changes on the first region, splits, log
 * compaction and a restart. It checks no 3B property, so a handout whose
 * 3B is still stubbed passes too (a stub is deterministic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/kv_cluster.h"
#include "tests/harness/mr_cluster.h"

typedef struct {
    char **lines; /* owned */
    size_t n;
    uint64_t digest;
} det_trace_t;

/* Every line of the run's trace (the cluster keeps the last 100000). */
static void take_lines(trace_t *tr, det_trace_t *out)
{
    FILE *f = tmpfile();
    if (f == NULL)
        fail_msg("tmpfile() failed: cannot compare the two runs' traces");
    trace_print(tr, f);
    rewind(f);
    size_t cap = 1024;
    out->lines = malloc(cap * sizeof(char *));
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (out->n == cap) {
            cap *= 2;
            out->lines = realloc(out->lines, cap * sizeof(char *));
        }
        line[strcspn(line, "\n")] = '\0';
        out->lines[out->n++] = (char *)bytes_dup(line, strlen(line) + 1);
    }
    fclose(f);
}

static void det_trace_free(det_trace_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->lines[i]);
    free(t->lines);
}

static void one_run(uint64_t seed, det_trace_t *out)
{
    mr_cluster_opts_t o = { 50, 300, 200, 0 };
    mr_cluster_t *m = mr_cluster_new(5, 3, seed, &o);
    sim_t *sim = mr_sim(m);
    sim_net_opts_t no = sim_net_opts_unreliable();
    sim_net_set_opts(sim_cluster_net(m->c), &no);
    history_t *h = history_new();
    kv_clients_opts_t ko = { 3, 0, 3, m->sched };
    kv_clients_t *k = kv_clients_start(m->c, h, &ko);
    mr_confchanger_t *cc = mr_confchanger_start(m, 0);
    sim_run_for(sim, 1000);
    tkv_err_t err = sim_cluster_restart(m->c, 2);
    if (err != TKV_OK)
        fail_msg("restarting store 2: %s: %s", tkv_strerror(err), tkv_last_error());
    sim_run_for(sim, 1000);
    mr_confchanger_stop(cc);
    kv_clients_stop(k);
    trace_t *tr = sim_cluster_trace(m->c);
    out->digest = trace_digest(tr);
    take_lines(tr, out);
    mr_cluster_free(m);
    mr_confchanger_free(cc);
    kv_clients_free(k);
    history_free(h);
}

static void check_seed(uint64_t seed, void *arg)
{
    (void)arg;
    det_trace_t a = { 0 }, b = { 0 };
    one_run(seed, &a);
    one_run(seed, &b);
    if (a.digest != b.digest || a.n != b.n) {
        size_t i = 0;
        while (i < a.n && i < b.n && strcmp(a.lines[i], b.lines[i]) == 0)
            i++;
        print_error("The store is not deterministic under project 3B: two runs of seed %llu "
                    "(digests %016llx and %016llx) part at trace line %zu:\n",
                    (unsigned long long)seed, (unsigned long long)a.digest,
                    (unsigned long long)b.digest, i + 1);
        for (size_t j = i >= 3 ? i - 3 : 0; j < i; j++)
            print_error("    both runs:  %s\n", a.lines[j]);
        print_error("    first run:  %s\n    second run: %s\n",
                    i < a.n ? a.lines[i] : "(the trace ended)",
                    i < b.n ? b.lines[i] : "(the trace ended)");
        print_error("Likely cause: a read of the clock, rand()/random(), uninitialized memory, "
                    "or regions or peers visited in address order (a hash of pointers, qsort "
                    "by pointer). Every 3B test replays from its seed only if the store is a "
                    "function of its inputs.\n");
        fail();
    }
    /* A handout's stubbed store still starts, ticks and answers clients
     * (a few hundred lines); 100 only says the run took place. */
    if (a.n < 100)
        fail_msg("the guard's run recorded only %zu trace lines: the cluster did not run", a.n);
    det_trace_free(&a);
    det_trace_free(&b);
}

static void test_multiraft_same_seed_same_run(void **state)
{
    (void)state;
    /* One seed by default: the guard is about the code, not the seed. */
    tkv_for_each_seed_n(1, 1, check_seed, NULL);
}

const tkv_test_t determinism_tests[] = {
    { "frame", "multiraft_same_seed_same_run", 0,
      "3B: one seed run twice gives the same run, event for event (no clock, no rand(), no "
      "address order)",
      test_multiraft_same_seed_same_run, 60 },
    { 0 },
};
