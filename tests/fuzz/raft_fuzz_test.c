/*
 * A structured fuzzer for the Raft core's door (rawnode_step).
 *
 * Three RawNodes run a real cluster: elections, proposals, log compaction
 * and snapshots, their Readys handled as an application would (persist to a
 * memory storage, send, apply, advance). The network between them delivers
 * in random order, drops and duplicates, replays old messages, and mutates
 * about a third of what it delivers: a field set to a nearby or a random
 * value, an entry's index or term moved, entries dropped, the type, the ids,
 * the snapshot's metadata. Starting from real traffic keeps most mutants
 * close enough to valid to reach deep into the core.
 *
 * What must hold after every step, whatever the input:
 *  - no crash, no hang, nothing for the sanitizers (make SANITIZE=1 fuzz);
 *  - a refused message (TKV_ERR_INVALID) changed nothing;
 *  - the term never goes back; committed <= last index; applied <= committed;
 *  - every Ready is one the application can carry out: its entries follow the
 *    stored log (the memory storage refuses a gap) and its snapshot is newer.
 * Not checked: agreement between nodes, since a forged message that passes
 * every check is a lie the core has no means to detect (Raft assumes peers
 * that do not lie).
 *
 * The budget is a number of delivered messages: FUZZ_STEPS (default 3000,
 * what `make test` runs; `make fuzz` runs far more). Deterministic by seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "project2-raft/raft/raft_internal.h"
#include "project2-raft/raft/rawnode.h"
#include "project2-raft/raft/storage.h"
#include "tests/fuzz/fuzz.h"
#include "tests/harness/expect.h"

#define N_NODES 3
#define HISTORY 64

typedef struct {
    rawnode_t *rn[N_NODES + 1];
    mem_storage_t *ms[N_NODES + 1];
    raft_message_t *queue;
    size_t n_queue, cap_queue;
    raft_message_t history[HISTORY]; /* delivered messages, for replays */
    size_t n_history;
    tkv_prng_t rng;
    fuzz_counts_t counts;
    unsigned long snapshots; /* MsgSnapshot stepped, to see that they happen */
} cluster_t;

static void push(cluster_t *c, const raft_message_t *m)
{
    if (c->n_queue == c->cap_queue) {
        c->cap_queue = c->cap_queue ? c->cap_queue * 2 : 64;
        c->queue = xrealloc(c->queue, c->cap_queue * sizeof(raft_message_t));
    }
    raft_message_copy(&c->queue[c->n_queue++], m);
}

/* Carries out node i's Ready, failing the test if it cannot be. */
static void handle_ready(cluster_t *c, uint64_t i)
{
    rawnode_t *rn = c->rn[i];
    if (!rawnode_has_ready(rn))
        return;
    raft_ready_t rd;
    if (rawnode_ready(rn, &rd) != TKV_OK)
        return; /* the handout's stub: nothing to carry out */
    if (!raft_hard_state_is_empty(&rd.hard_state))
        mem_storage_set_hard_state(c->ms[i], &rd.hard_state);
    if (!raft_snapshot_is_empty(&rd.snapshot) &&
        mem_storage_apply_snapshot(c->ms[i], &rd.snapshot) != TKV_OK)
        fail_msg("node %llu: its Ready holds a snapshot its storage refuses: %s (seed %llu)",
                 (unsigned long long)i, tkv_last_error(), (unsigned long long)tkv_current_seed());
    if (mem_storage_append(c->ms[i], rd.entries, rd.n_entries) != TKV_OK)
        fail_msg("node %llu: its Ready's entries do not follow the stored log: %s (seed %llu)",
                 (unsigned long long)i, tkv_last_error(), (unsigned long long)tkv_current_seed());
    for (size_t k = 0; k < rd.n_messages; k++)
        push(c, &rd.messages[k]);
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
}

/* Compacts node i's log up to what it applied, with a snapshot there, so the
 * leader has to send snapshots to whoever lags. */
static void compact(cluster_t *c, uint64_t i)
{
    raft_t *r = c->rn[i]->raft;
    uint64_t at = r->log.applied, first = 0;
    mem_storage_as_storage(c->ms[i]).ops->first_index(c->ms[i], &first);
    if (at < first || at == 0)
        return;
    raft_conf_state_t cs = { (uint64_t[]){ 1, 2, 3 }, 3 };
    if (mem_storage_create_snapshot(c->ms[i], at, &cs, "image", 5) == TKV_OK)
        mem_storage_compact(c->ms[i], at);
}

/* ---- the run ---- */

typedef struct {
    uint64_t term, vote, committed, last;
    size_t n_msgs;
} node_state_t;

static node_state_t state_of(const raft_t *r)
{
    node_state_t s = { r->term, r->vote, r->log.committed, rlog_last_index(&r->log), r->n_msgs };
    return s;
}

static void check_node(const raft_t *r, const node_state_t *before, tkv_err_t err,
                       const raft_message_t *m)
{
    node_state_t now = state_of(r);
    unsigned long long seed = (unsigned long long)tkv_current_seed();
    if (err == TKV_ERR_INVALID && memcmp(&now, before, sizeof(now)) != 0)
        fail_msg("node %llu changed on a refused %s (seed %llu)", (unsigned long long)r->id,
                 raft_msg_type_name(m->type), seed);
    if (now.term < before->term)
        fail_msg("node %llu's term went back from %llu to %llu on a %s (seed %llu)",
                 (unsigned long long)r->id, (unsigned long long)before->term,
                 (unsigned long long)now.term, raft_msg_type_name(m->type), seed);
    if (r->log.committed > now.last || r->log.applied > r->log.committed)
        fail_msg("node %llu: applied %llu <= committed %llu <= last %llu broken after a %s "
                 "(seed %llu)",
                 (unsigned long long)r->id, (unsigned long long)r->log.applied,
                 (unsigned long long)r->log.committed, (unsigned long long)now.last,
                 raft_msg_type_name(m->type), seed);
}

static void deliver(cluster_t *c, raft_message_t *m, int mutated)
{
    uint64_t to = m->to >= 1 && m->to <= N_NODES ? m->to : prng_between(&c->rng, 1, N_NODES + 1);
    raft_t *r = c->rn[to]->raft;
    node_state_t before = state_of(r);
    tkv_err_t err = rawnode_step(c->rn[to], m);
    c->snapshots += m->type == RAFT_MSG_SNAPSHOT;
    fuzz_count(&c->counts, err, mutated);
    check_node(r, &before, err, m);
    handle_ready(c, to);
}

static void run(uint64_t seed, void *arg)
{
    (void)arg;
    long steps = fuzz_budget(3000);
    cluster_t *c = xcalloc(1, sizeof(*c));
    prng_seed(&c->rng, seed);
    for (uint64_t i = 1; i <= N_NODES; i++) {
        c->ms[i] = mem_storage_new();
        raft_config_t cfg = { 0 };
        cfg.id = i;
        cfg.peers = (const uint64_t[]){ 1, 2, 3 };
        cfg.n_peers = N_NODES;
        cfg.election_tick = 10;
        cfg.heartbeat_tick = 1;
        cfg.storage = mem_storage_as_storage(c->ms[i]);
        cfg.max_size_per_msg = 64;
        cfg.prng = &c->rng;
        expect_err(rawnode_new(&cfg, &c->rn[i]), TKV_OK, "rawnode_new(&cfg, &c->rn[i])");
    }
    for (long step = 0; step < steps; step++) {
        if (step % 8 == 0) {
            for (uint64_t i = 1; i <= N_NODES; i++) {
                rawnode_tick(c->rn[i]);
                handle_ready(c, i);
            }
        }
        for (uint64_t i = 1; i <= N_NODES; i++) {
            if (c->rn[i]->raft->role == RAFT_LEADER && prng_chance(&c->rng, 1, 6)) {
                char data[24];
                snprintf(data, sizeof(data), "p%ld", step);
                (void)rawnode_propose(c->rn[i], data, strlen(data));
                handle_ready(c, i);
            }
        }
        if (step % 200 == 199)
            compact(c, prng_between(&c->rng, 1, N_NODES + 1));
        if (c->n_queue == 0) {
            /* Quiet: replay something old, mutated, or just tick on. */
            if (c->n_history > 0 && prng_chance(&c->rng, 1, 2)) {
                raft_message_t m;
                raft_message_copy(&m, &c->history[prng_below(&c->rng, c->n_history)]);
                fuzz_mutate_message(&c->rng, &m, N_NODES);
                deliver(c, &m, 1);
                raft_message_free(&m);
            }
            continue;
        }
        size_t k = (size_t)prng_below(&c->rng, c->n_queue);
        raft_message_t m = c->queue[k];
        c->queue[k] = c->queue[--c->n_queue];
        if (prng_chance(&c->rng, 1, 10)) { /* lost */
            raft_message_free(&m);
            continue;
        }
        size_t h = c->n_history;
        if (h < HISTORY) {
            c->n_history++;
        } else {
            h = (size_t)prng_below(&c->rng, HISTORY);
            raft_message_free(&c->history[h]);
        }
        raft_message_copy(&c->history[h], &m);
        int mutated = prng_chance(&c->rng, 1, 3);
        if (mutated)
            fuzz_mutate_message(&c->rng, &m, N_NODES);
        deliver(c, &m, mutated);
        if (prng_chance(&c->rng, 1, 20)) /* duplicated */
            deliver(c, &m, mutated);
        raft_message_free(&m);
    }
    fuzz_report("rawnode", seed, &c->counts);
    uint64_t commit = 0, term = 0;
    for (uint64_t i = 1; i <= N_NODES; i++) {
        raft_t *r = c->rn[i]->raft;
        commit = r->log.committed > commit ? r->log.committed : commit;
        term = r->term > term ? r->term : term;
    }
    printf("fuzz rawnode seed %llu: the cluster reached commit index %llu, term %llu, after %lu "
           "snapshots stepped\n",
           (unsigned long long)seed, (unsigned long long)commit, (unsigned long long)term,
           c->snapshots);
    for (size_t k = 0; k < c->n_queue; k++)
        raft_message_free(&c->queue[k]);
    free(c->queue);
    for (size_t h = 0; h < c->n_history; h++)
        raft_message_free(&c->history[h]);
    for (uint64_t i = 1; i <= N_NODES; i++) {
        rawnode_free(c->rn[i]);
        mem_storage_free(c->ms[i]);
    }
    free(c);
}

static void test_rawnode_survives_mutated_traffic(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    tkv_for_each_seed(1, run, NULL);
}

const tkv_test_t raft_fuzz_tests[] = {
    { "frame", "fuzz_rawnode_mutated_traffic", 0,
      "a 3-node RawNode cluster under mutated, replayed, duplicated messages keeps its invariants",
      test_rawnode_survives_mutated_traffic, 30 },
    { 0 },
};
