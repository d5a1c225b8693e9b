/*
 * The synthetic trace (trace_synth.h). Time advances a millisecond at a
 * time; each millisecond a few events happen, drawn from a seeded PRNG, and
 * are written at once in the line format of trace.c, so the file is in time
 * order as a real trace is. Messages lost in flight would need events in
 * the future, so only losses at send are made.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/prng.h"
#include "tests/harness/trace_synth.h"

#define NODES   5
#define CLIENTS 3

typedef struct {
    FILE *out;
    size_t left;
    uint64_t now;
} synth_t;

static void line(synth_t *s, int node, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void line(synth_t *s, int node, const char *kind, const char *fmt, ...)
{
    if (s->left == 0)
        return;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    fprintf(s->out, "%8llu ms  n%-2d %-10s %s\n", (unsigned long long)s->now, node, kind, detail);
    s->left--;
}

typedef struct {
    int down, leader;
    uint64_t term, commit, applied;
} node_state_t;

static void state(synth_t *s, int id, const node_state_t *n)
{
    line(s, id, "state", "region 1 role %s term %llu commit %llu applied %llu epoch 1/1",
         n->leader ? "leader" : "follower", (unsigned long long)n->term,
         (unsigned long long)n->commit, (unsigned long long)n->applied);
}

tkv_err_t trace_synth_write(const char *path, size_t events, uint64_t seed)
{
    if (events < 100)
        return tkv_errorf(TKV_ERR_INVALID, "a synthetic trace needs at least 100 events, not %zu",
                          events);
    synth_t s = { fopen(path, "w"), events, 0 };
    if (s.out == NULL)
        return tkv_errorf(TKV_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    tkv_prng_t rng;
    prng_seed(&rng, seed);
    node_state_t nodes[NODES + 1];
    memset(nodes, 0, sizeof(nodes));
    size_t op_id = 0, in_flight[CLIENTS] = { 0 };
    int busy[CLIENTS] = { 0 }, seq[CLIENTS] = { 0 };
    int leader = 1, partitioned = 0;
    /* What the closing check names: the ops are kept back for the end. */
    const size_t tail = 4;
    line(&s, 0, "cluster", "%d nodes, %d clients from n%d", NODES, CLIENTS, NODES + 1);
    for (int i = 1; i <= NODES; i++) {
        line(&s, i, "start", "generation 1");
        nodes[i].term = 1;
        nodes[i].leader = i == leader;
        state(&s, i, &nodes[i]);
    }
    while (s.left > tail) {
        s.now++;
        /* The leader replicates; followers answer. */
        for (int i = 1; i <= NODES && s.left > tail; i++) {
            if (nodes[i].down || !prng_chance(&rng, 1, 3))
                continue;
            int to = 1 + (int)prng_below(&rng, NODES);
            if (to == i)
                continue;
            if (partitioned && (i <= 2) != (to <= 2))
                line(&s, i, "net-drop", "to n%d class 3: partitioned", to);
            else if (nodes[to].down)
                line(&s, i, "net-drop", "to n%d class 3: endpoint down", to);
            else if (prng_chance(&rng, 1, 20))
                line(&s, i, "net-drop", "to n%d class 3: random loss", to);
            else
                line(&s, i, "net-send", "to n%d class %d, %d bytes, arrives in %llu ms", to,
                     i == leader ? 3 : 4, 40 + (int)prng_below(&rng, 200),
                     (unsigned long long)prng_between(&rng, 1, 6));
        }
        /* Progress: commit and apply on the live nodes. */
        if (prng_chance(&rng, 1, 4)) {
            for (int i = 1; i <= NODES && s.left > tail; i++) {
                if (nodes[i].down)
                    continue;
                nodes[i].commit++;
                nodes[i].applied = nodes[i].commit - prng_below(&rng, 2);
                state(&s, i, &nodes[i]);
            }
        }
        /* Now and then a crash, a restart, a partition, a new leader. */
        for (int i = 1; i <= NODES; i++) {
            if (!nodes[i].down && prng_chance(&rng, 1, 3000)) {
                nodes[i].down = 1;
                line(&s, i, "crash", "memory state dropped");
            } else if (nodes[i].down && prng_chance(&rng, 1, 300)) {
                nodes[i].down = 0;
                nodes[i].leader = 0;
                line(&s, i, "start", "generation 2");
                state(&s, i, &nodes[i]);
            }
        }
        if (prng_chance(&rng, 1, 1500)) {
            partitioned = !partitioned;
            if (partitioned)
                line(&s, 0, "partition", "5 endpoints regrouped: n1 n2 | n3 n4 n5");
            else
                line(&s, 0, "partition", "healed");
        }
        if (prng_chance(&rng, 1, 700) || nodes[leader].down) {
            int next = 1 + (int)prng_below(&rng, NODES);
            if (!nodes[next].down) {
                nodes[leader].leader = 0;
                leader = next;
                for (int i = 1; i <= NODES && s.left > tail; i++) {
                    if (nodes[i].down)
                        continue;
                    nodes[i].term++;
                    nodes[i].leader = i == leader;
                    state(&s, i, &nodes[i]);
                }
            }
        }
        /* Clients: one op at a time each, answered after a while. */
        for (int c = 0; c < CLIENTS && s.left > tail; c++) {
            int ep = NODES + 1 + c;
            if (!busy[c] && prng_chance(&rng, 1, 10)) {
                busy[c] = 1;
                in_flight[c] = op_id++;
                line(&s, ep, "op", "#%zu c%d append \"%d\" \"x %d %d y\"", in_flight[c], c, c, c,
                     seq[c]++);
                line(&s, ep, "net-send", "to n%d class 0, 39 bytes, arrives in 2 ms", leader);
            } else if (busy[c] && prng_chance(&rng, 1, 15)) {
                busy[c] = 0;
                line(&s, ep, "op", "#%zu %s", in_flight[c],
                     prng_chance(&rng, 1, 10) ? "failed" : "ok");
            }
        }
    }
    s.now += 10;
    size_t a = op_id > 2 ? op_id - 2 : 0, b = op_id > 1 ? op_id - 1 : 0;
    line(&s, 0, "check-fail", "client view: a synthetic failure naming #%zu and #%zu", a, b);
    line(&s, 0, "check-prefix", "#0 #1 #2");
    while (s.left > 0)
        line(&s, 0, "note", "padding to the exact count");
    int bad = ferror(s.out);
    if (fclose(s.out) != 0 || bad)
        return tkv_errorf(TKV_ERR_IO, "cannot write %s", path);
    return TKV_OK;
}
