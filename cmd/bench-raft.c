/*
 * bench-raft: how fast the Raft core commits, with no disk and no network.
 *
 * A cluster of RawNodes in one thread: the leader takes a batch of
 * proposals, then every node handles its Readies (persisting to memory
 * storage) and messages are handed over directly until the cluster is quiet.
 * That round repeats until `total` proposals are applied on the leader. It
 * measures the core's own cost (log, progress, Ready bookkeeping, copies),
 * which bounds what the raftstore can do on top.
 *
 * Then the same for reads that write no log entry (ReadIndex, project2x):
 * `total` reads on the leader, `batch` at a time, each confirmed by its own
 * heartbeat round (read_index_per_sec), and again with a leader lease
 * (lease_read_per_sec: check quorum and read_lease on, no rounds).
 *
 * One machine-readable line per figure:
 *     bench-raft nodes=3 batch=64 metric=proposals_per_sec value=123456
 *
 *     build/bin/bench-raft [--proposals N]   (default 200000; --help says more)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cli.h"
#include "project2-raft/raft/rawnode.h"

#define MAX_NODES 5

typedef struct {
    rawnode_t *rn;
    mem_storage_t *ms;
    uint64_t applied;
} bnode_t;

typedef struct {
    bnode_t nodes[MAX_NODES + 1];
    size_t n;
    raft_message_t *q; /* messages in flight */
    size_t nq, capq;
    uint64_t *start_ns; /* by log index: when it was proposed */
    uint64_t *lat_ns;   /* commit latencies, in order */
    size_t n_lat, cap_idx;
    size_t reads_done; /* read states the leader handed back */
} cluster_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void handle_ready(cluster_t *c, uint64_t id)
{
    bnode_t *b = &c->nodes[id];
    while (rawnode_has_ready(b->rn)) {
        raft_ready_t rd;
        if (rawnode_ready(b->rn, &rd) != TKV_OK)
            return;
        if (!raft_hard_state_is_empty(&rd.hard_state))
            mem_storage_set_hard_state(b->ms, &rd.hard_state);
        mem_storage_append(b->ms, rd.entries, rd.n_entries);
        if (c->nq + rd.n_messages > c->capq) {
            while (c->nq + rd.n_messages > c->capq)
                c->capq = c->capq ? c->capq * 2 : 1024;
            c->q = xrealloc(c->q, c->capq * sizeof(raft_message_t));
        }
        /* the messages move to the queue; the Ready keeps nothing of them */
        memcpy(c->q + c->nq, rd.messages, rd.n_messages * sizeof(raft_message_t));
        c->nq += rd.n_messages;
        free(rd.messages);
        rd.messages = NULL;
        rd.n_messages = 0;
        if (id == 1)
            c->reads_done += rd.n_read_states;
        uint64_t t = now_ns();
        for (size_t i = 0; i < rd.n_committed_entries; i++) {
            const raft_entry_t *e = &rd.committed_entries[i];
            b->applied = e->index;
            if (id == 1 && e->len > 0 && e->index < c->cap_idx && c->start_ns[e->index])
                c->lat_ns[c->n_lat++] = t - c->start_ns[e->index];
        }
        rawnode_advance(b->rn, &rd);
        raft_ready_free(&rd);
    }
}

/* Runs Readies and deliveries until nothing moves. */
static void pump(cluster_t *c)
{
    for (;;) {
        for (uint64_t id = 1; id <= c->n; id++)
            handle_ready(c, id);
        if (c->nq == 0)
            return;
        size_t n = c->nq;
        raft_message_t *batch = c->q;
        c->q = NULL;
        c->nq = c->capq = 0;
        for (size_t i = 0; i < n; i++) {
            rawnode_step(c->nodes[batch[i].to].rn, &batch[i]);
            raft_message_free(&batch[i]);
        }
        free(batch);
    }
}

/* Keeps memory flat: each node drops what it applied, behind a snapshot. */
static void compact(cluster_t *c)
{
    uint64_t ids[MAX_NODES] = { 1, 2, 3, 4, 5 };
    raft_conf_state_t cs = { ids, c->n };
    for (uint64_t id = 1; id <= c->n; id++) {
        bnode_t *b = &c->nodes[id];
        if (mem_storage_create_snapshot(b->ms, b->applied, &cs, NULL, 0) == TKV_OK)
            mem_storage_compact(b->ms, b->applied);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* `total` reads on the leader, `batch` before each pump; reads per second. */
static double bench_reads(cluster_t *c, size_t batch, size_t total)
{
    uint64_t t0 = now_ns();
    size_t issued = 0;
    c->reads_done = 0;
    while (c->reads_done < total) {
        size_t before = issued;
        for (size_t i = 0; i < batch && issued < total; i++, issued++) {
            uint64_t ctx = issued;
            if (rawnode_read_index(c->nodes[1].rn, &ctx, sizeof(ctx)) != TKV_OK)
                break;
        }
        pump(c);
        if (issued == before && c->reads_done < total) {
            fprintf(stderr, "bench-raft: reads stopped at %zu of %zu: %s\n", c->reads_done, total,
                    tkv_last_error());
            return 0;
        }
    }
    return (double)c->reads_done / ((double)(now_ns() - t0) / 1e9);
}

static int run(size_t n, size_t batch, size_t total, int lease)
{
    cluster_t c;
    memset(&c, 0, sizeof(c));
    c.n = n;
    c.cap_idx = total + batch + 16;
    c.start_ns = xcalloc(c.cap_idx, sizeof(uint64_t));
    c.lat_ns = xcalloc(c.cap_idx, sizeof(uint64_t));
    uint64_t ids[MAX_NODES] = { 1, 2, 3, 4, 5 };
    for (uint64_t id = 1; id <= n; id++) {
        c.nodes[id].ms = mem_storage_new();
        raft_config_t cfg = { 0 };
        cfg.id = id;
        cfg.peers = ids;
        cfg.n_peers = n;
        cfg.election_tick = 10;
        cfg.heartbeat_tick = 1;
        cfg.storage = mem_storage_as_storage(c.nodes[id].ms);
        cfg.max_size_per_msg = 1 << 20;
        cfg.check_quorum = lease;
        cfg.read_lease = lease;
        if (rawnode_new(&cfg, &c.nodes[id].rn) != TKV_OK) {
            fprintf(stderr, "bench-raft: %s\n", tkv_last_error());
            return 1;
        }
    }
    rawnode_campaign(c.nodes[1].rn);
    pump(&c);
    if (c.nodes[1].rn->raft->role != RAFT_LEADER) {
        fprintf(stderr, "bench-raft: node 1 did not become leader\n");
        return 1;
    }
    if (lease) {
        /* One heartbeat both followers acknowledge starts the lease; no more
         * ticks, so it does not run out during the run. */
        rawnode_tick(c.nodes[1].rn);
        pump(&c);
        printf("bench-raft nodes=%zu batch=%zu metric=lease_read_per_sec value=%.0f\n", n, batch,
               bench_reads(&c, batch, total));
        goto out;
    }
    char payload[64];
    memset(payload, 'v', sizeof(payload));
    size_t proposed = 0;
    uint64_t t0 = now_ns();
    while (c.n_lat < total) {
        for (size_t i = 0; i < batch && proposed < total; i++, proposed++) {
            if (rawnode_propose(c.nodes[1].rn, payload, sizeof(payload)) != TKV_OK)
                break;
            uint64_t idx = rlog_last_index(&c.nodes[1].rn->raft->log);
            if (idx < c.cap_idx)
                c.start_ns[idx] = now_ns();
        }
        pump(&c);
        if (proposed % 8192 < batch)
            compact(&c);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(c.lat_ns, c.n_lat, sizeof(uint64_t), cmp_u64);
    printf("bench-raft nodes=%zu batch=%zu metric=proposals_per_sec value=%.0f\n", n, batch,
           (double)c.n_lat / secs);
    printf("bench-raft nodes=%zu batch=%zu metric=commit_latency_p50_us value=%.1f\n", n, batch,
           (double)c.lat_ns[c.n_lat / 2] / 1e3);
    printf("bench-raft nodes=%zu batch=%zu metric=commit_latency_p99_us value=%.1f\n", n, batch,
           (double)c.lat_ns[c.n_lat * 99 / 100] / 1e3);
    printf("bench-raft nodes=%zu batch=%zu metric=read_index_per_sec value=%.0f\n", n, batch,
           bench_reads(&c, batch, total));
out:
    for (uint64_t id = 1; id <= n; id++) {
        rawnode_free(c.nodes[id].rn);
        mem_storage_free(c.nodes[id].ms);
    }
    free(c.q);
    free(c.start_ns);
    free(c.lat_ns);
    return 0;
}

static const char usage[] =
    "usage: bench-raft [--proposals N]\n"
    "\n"
    "Measures the Raft core alone (memory storage, one thread, messages handed\n"
    "over directly) for 3 and 5 nodes with 1 and 64 proposals per round:\n"
    "proposals committed per second, p50/p99 commit latency, then ReadIndex and\n"
    "lease reads per second. One line per figure, for example\n"
    "  bench-raft nodes=3 batch=64 metric=proposals_per_sec value=123456\n"
    "\n"
    "  --proposals N   proposals (and reads) per figure (default 200000; also\n"
    "                  accepted as a lone number, bench-raft N)\n"
    "  --help          this text\n"
    "\n"
    "Exit status: 0 when every figure was measured, 1 when a run failed (the\n"
    "Raft core is not implemented, or did not commit), 2 on bad usage.\n";

int main(int argc, char **argv)
{
    uint64_t total = 200000;
    for (int i = 1; i < argc; i++) {
        const char *v = argv[i];
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if (cli_is_flag(argv[i], "--proposals")) {
            v = cli_flag_value(argc, argv, &i, "--proposals");
            if (v == NULL)
                return cli_usage_error("bench-raft", "--proposals needs a number");
        } else if (argv[i][0] == '-') {
            return cli_usage_error("bench-raft", "unknown argument '%s'", argv[i]);
        }
        if (cli_parse_u64(v, 1, 100000000, &total) != 0)
            return cli_usage_error("bench-raft",
                                   "'%s' is not a number of proposals in 1..100000000", v);
    }
    size_t sizes[] = { 3, 5 };
    size_t batches[] = { 1, 64 };
    for (size_t s = 0; s < 2; s++) {
        for (size_t b = 0; b < 2; b++) {
            if (run(sizes[s], batches[b], (size_t)total, 0) != 0 ||
                run(sizes[s], batches[b], (size_t)total, 1) != 0)
                return 1;
        }
    }
    return 0;
}
