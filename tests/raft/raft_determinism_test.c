/*
 * The determinism guard of the Raft core (frame): one seed, run twice in one
 * process, must give the same run, event for event.
 *
 * Every randomized test replays from its seed only if the core is a function
 * of its inputs. A core that calls rand() (its sequence goes on between the
 * two runs), reads a clock, or orders work by pointer values breaks that,
 * and the randomized suites then fail at random, or pass at random. This
 * test says so by name, with the first event where the two runs part.
 *
 * The driver is its own, small and forgiving: three RawNodes, a lossy
 * reordering network and proposals, every outcome written down (messages
 * sent, hard states, entries persisted and applied, roles), errors included.
 * It checks no Raft property, so it also passes on a handout whose core is
 * still stubbed (a stub is deterministic too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/raft/raft_expect.h"

#define DET_NODES 3
#define DET_STEPS 1500

typedef struct {
    char **lines; /* owned */
    size_t n, cap;
    uint64_t digest; /* FNV-1a 64 over every line */
} det_log_t;

typedef struct {
    rawnode_t *rn[DET_NODES + 1];
    mem_storage_t *ms[DET_NODES + 1];
    tkv_prng_t node_prng[DET_NODES + 1];
    tkv_prng_t prng; /* the driver's own choices */
    raft_message_t *q;
    size_t nq, capq;
    det_log_t *log;
    int step;
} det_run_t;

static void det_logf(det_log_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void det_logf(det_log_t *l, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->lines = xrealloc(l->lines, l->cap * sizeof(char *));
    }
    size_t len = strlen(buf);
    l->lines[l->n++] = (char *)bytes_dup(buf, len + 1);
    for (const char *p = buf; *p; p++)
        l->digest = (l->digest ^ (uint8_t)*p) * 1099511628211ULL;
    l->digest = (l->digest ^ '\n') * 1099511628211ULL;
}

static void det_log_free(det_log_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->lines[i]);
    free(l->lines);
}

static void enqueue(det_run_t *d, const raft_message_t *m)
{
    if (prng_chance(&d->prng, 1, 10))
        return; /* lost */
    if (d->nq == d->capq) {
        d->capq = d->capq ? d->capq * 2 : 64;
        d->q = xrealloc(d->q, d->capq * sizeof(raft_message_t));
    }
    raft_message_copy(&d->q[d->nq++], m);
}

/* Persists, sends and applies what node id has ready, writing it all down. */
static void drain(det_run_t *d, uint64_t id)
{
    rawnode_t *rn = d->rn[id];
    char buf[512];
    for (int round = 0; round < 16 && rawnode_has_ready(rn); round++) {
        raft_ready_t rd;
        tkv_err_t err = rawnode_ready(rn, &rd);
        if (err != TKV_OK) {
            det_logf(d->log, "%d n%llu ready: %s", d->step, (unsigned long long)id,
                     tkv_err_name(err));
            return;
        }
        if (rd.has_soft_state)
            det_logf(d->log, "%d n%llu %s lead %llu", d->step, (unsigned long long)id,
                     raft_role_name(rd.soft_state.role), (unsigned long long)rd.soft_state.lead);
        if (!raft_hard_state_is_empty(&rd.hard_state)) {
            det_logf(d->log, "%d n%llu hard term %llu vote %llu commit %llu", d->step,
                     (unsigned long long)id, (unsigned long long)rd.hard_state.term,
                     (unsigned long long)rd.hard_state.vote,
                     (unsigned long long)rd.hard_state.commit);
            mem_storage_set_hard_state(d->ms[id], &rd.hard_state);
        }
        for (size_t i = 0; i < rd.n_entries; i++)
            det_logf(d->log, "%d n%llu persist %llu@%llu", d->step, (unsigned long long)id,
                     (unsigned long long)rd.entries[i].index,
                     (unsigned long long)rd.entries[i].term);
        mem_storage_append(d->ms[id], rd.entries, rd.n_entries);
        for (size_t i = 0; i < rd.n_messages; i++) {
            det_logf(d->log, "%d n%llu send %s", d->step, (unsigned long long)id,
                     rt_msg_describe(&rd.messages[i], buf, sizeof(buf)));
            enqueue(d, &rd.messages[i]);
        }
        for (size_t i = 0; i < rd.n_committed_entries; i++)
            det_logf(d->log, "%d n%llu apply %llu@%llu", d->step, (unsigned long long)id,
                     (unsigned long long)rd.committed_entries[i].index,
                     (unsigned long long)rd.committed_entries[i].term);
        rawnode_advance(rn, &rd);
        raft_ready_free(&rd);
    }
}

static void one_run(uint64_t seed, det_log_t *log)
{
    det_run_t d = { 0 };
    d.log = log;
    prng_seed(&d.prng, seed);
    for (uint64_t id = 1; id <= DET_NODES; id++) {
        d.ms[id] = mem_storage_new();
        prng_seed(&d.node_prng[id], seed * 31 + id);
        raft_config_t cfg = { 0 };
        cfg.id = id;
        cfg.peers = rt_ids(DET_NODES);
        cfg.n_peers = DET_NODES;
        cfg.election_tick = 10;
        cfg.heartbeat_tick = 2;
        cfg.storage = mem_storage_as_storage(d.ms[id]);
        cfg.prng = &d.node_prng[id];
        tkv_err_t err = rawnode_new(&cfg, &d.rn[id]);
        if (err != TKV_OK)
            fail_msg("the frame could not start node %llu: %s", (unsigned long long)id,
                     tkv_last_error());
    }
    for (d.step = 0; d.step < DET_STEPS; d.step++) {
        uint64_t id = 1 + prng_below(&d.prng, DET_NODES);
        uint64_t roll = prng_below(&d.prng, 100);
        if (roll < 35) {
            rawnode_tick(d.rn[id]);
        } else if (roll < 90 && d.nq > 0) {
            size_t at = (size_t)prng_below(&d.prng, d.nq);
            raft_message_t m = d.q[at];
            d.q[at] = d.q[--d.nq];
            id = m.to;
            if (id >= 1 && id <= DET_NODES) {
                tkv_err_t err = rawnode_step(d.rn[id], &m);
                if (err != TKV_OK)
                    det_logf(log, "%d n%llu step %s: %s", d.step, (unsigned long long)id,
                             raft_msg_type_name(m.type), tkv_err_name(err));
            }
            raft_message_free(&m);
        } else {
            char data[32];
            int len = snprintf(data, sizeof(data), "cmd %d", d.step);
            tkv_err_t err = rawnode_propose(d.rn[id], data, (size_t)len);
            det_logf(log, "%d n%llu propose: %s", d.step, (unsigned long long)id,
                     tkv_err_name(err));
        }
        if (id >= 1 && id <= DET_NODES)
            drain(&d, id);
    }
    for (uint64_t id = 1; id <= DET_NODES; id++) {
        rawnode_free(d.rn[id]);
        mem_storage_free(d.ms[id]);
    }
    for (size_t i = 0; i < d.nq; i++)
        raft_message_free(&d.q[i]);
    free(d.q);
}

/* What the first differing event most likely points at. */
static const char *likely_cause(const char *a, const char *b)
{
    if (strstr(a, "MsgRequestVote ") || strstr(b, "MsgRequestVote ") || strstr(a, " candidate ") ||
        strstr(b, " candidate "))
        return "an election started on a different tick: the randomized election timeout "
               "does not come (only) from raft_config_t.prng (rand(), random(), time() or a "
               "clock instead?)";
    return "the same inputs gave different outputs: look for rand()/random(), time() or "
           "clock_gettime(), uninitialized memory, or work ordered by pointer values";
}

static void check_seed(uint64_t seed, void *arg)
{
    (void)arg;
    det_log_t a = { 0 }, b = { 0 };
    a.digest = b.digest = 1469598103934665603ULL;
    one_run(seed, &a);
    one_run(seed, &b);
    if (a.digest != b.digest || a.n != b.n) {
        size_t i = 0;
        while (i < a.n && i < b.n && strcmp(a.lines[i], b.lines[i]) == 0)
            i++;
        const char *la = i < a.n ? a.lines[i] : "(the run ended)";
        const char *lb = i < b.n ? b.lines[i] : "(the run ended)";
        print_error("The Raft core is not deterministic: two runs of seed %llu, same messages "
                    "and ticks, part at event %zu (step.node.event):\n",
                    (unsigned long long)seed, i);
        for (size_t k = i >= 3 ? i - 3 : 0; k < i; k++)
            print_error("    both runs:  %s\n", a.lines[k]);
        print_error("    first run:  %s\n    second run: %s\n", la, lb);
        print_error("Likely cause: %s.\nEvery randomized test replays from its seed only if "
                    "the core is a function of its inputs.\n",
                    likely_cause(la, lb));
        fail();
    }
    expect_true(a.n > DET_STEPS / 4, "the guard's run recorded %zu events", a.n);
    det_log_free(&a);
    det_log_free(&b);
}

static void test_raft_core_is_deterministic(void **state)
{
    (void)state;
    tkv_for_each_seed(1, check_seed, NULL);
}

const tkv_test_t raft_determinism_tests[] = {
    { "frame", "raft_core_is_deterministic", 0,
      "one seed run twice gives the same Raft run, event for event (no rand(), no clock)",
      test_raft_core_is_deterministic },
    { 0 },
};
