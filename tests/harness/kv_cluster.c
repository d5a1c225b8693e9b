/*
 * The generic cluster scenario (cluster.h) and its helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/client_check.h"
#include "tests/harness/linearizability.h"
#include "tests/harness/kv_cluster.h"

sim_cluster_t *cluster_new(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                           sim_store_opts_t *so)
{
    return cluster_new_regions(nodes, clients, seed, max_raft_log, 1, so);
}

static sim_cluster_t *start_cluster(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                    int regions, peer_read_mode_t mode, sim_store_opts_t *so);

sim_cluster_t *cluster_new_regions(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                   int regions, sim_store_opts_t *so)
{
    return start_cluster(nodes, clients, seed, max_raft_log, regions, PEER_READ_LOG, so);
}

sim_cluster_t *cluster_new_reading(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                   peer_read_mode_t mode, sim_store_opts_t *so)
{
    return start_cluster(nodes, clients, seed, max_raft_log, 1, mode, so);
}

static sim_cluster_t *start_cluster(int nodes, int clients, uint64_t seed, uint64_t max_raft_log,
                                    int regions, peer_read_mode_t mode, sim_store_opts_t *so)
{
    memset(so, 0, sizeof(*so));
    so->regions = regions;
    so->peer = peer_config_default();
    so->peer.sync = 0; /* a simulated crash closes the DB: nothing unsynced is lost */
    so->peer.raft_log_gc_tick = 10;
    so->peer.raft_log_gc_count_limit = max_raft_log;
    so->peer.read_mode = mode;
    sim_cluster_opts_t o;
    memset(&o, 0, sizeof(o));
    o.nodes = nodes;
    o.clients = clients;
    o.ops = &sim_store_ops;
    o.user = so;
    o.seed = seed;
    sim_cluster_t *c = NULL;
    tkv_err_t err = sim_cluster_new(&o, &c);
    if (err != TKV_OK)
        fail_msg("starting a %d-node cluster: %s: %s", nodes, tkv_strerror(err), tkv_last_error());
    trace_write_on_failure(sim_cluster_trace(c), "raftstore");
    return c;
}

static int no_leader(void *arg)
{
    sim_cluster_t *c = arg;
    for (int i = 1; i <= sim_cluster_nodes(c); i++) {
        store_t *s = sim_store_of(c, i);
        peer_t *p = s ? store_peer(s, 1) : NULL;
        if (p != NULL && peer_is_leader(p))
            return 0;
    }
    return 1;
}

int cluster_leader(sim_cluster_t *c, uint64_t ms)
{
    sim_t *sim = sim_cluster_sim(c);
    sim_run_while(sim, no_leader, c, sim_now(sim) + ms);
    for (int i = 1; i <= sim_cluster_nodes(c); i++) {
        store_t *s = sim_store_of(c, i);
        peer_t *p = s ? store_peer(s, 1) : NULL;
        if (p != NULL && peer_is_leader(p))
            return i;
    }
    return 0;
}

void cluster_check_history(const history_t *h, int clients)
{
    tkv_buf_t why = TKV_BUF_INIT;
    for (int i = 0; i < clients; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", i);
        if (!client_check(h, i, key, strlen(key), &why))
            fail_msg("client %d's view is wrong: %.*s", i, (int)why.len, (char *)why.data);
    }
    lin_verdict_t v = lin_check(h, NULL, &why);
    if (v != LIN_OK)
        fail_msg("history of %zu operations: %s: %.*s", history_len(h), lin_verdict_name(v),
                 (int)why.len, (char *)why.data);
    buf_free(&why);
}

/* ---- replicas agree --------------------------------------------------------------- */

static peer_t *region1_peer(sim_cluster_t *c, int node)
{
    store_t *s = sim_store_of(c, node);
    return s != NULL ? store_peer(s, 1) : NULL;
}

static int applied_differ(void *arg)
{
    sim_cluster_t *c = arg;
    uint64_t first = 0;
    int seen = 0;
    for (int i = 1; i <= sim_cluster_nodes(c); i++) {
        peer_t *p = region1_peer(c, i);
        if (p == NULL)
            continue;
        uint64_t a = peer_storage(p)->applied_index;
        if (seen && a != first)
            return 1;
        first = a;
        seen = 1;
    }
    return 0;
}

static void show(tkv_buf_t *out, tkv_slice_t s)
{
    for (size_t i = 0; i < s.len && i < 40; i++) {
        char ch = (char)s.data[i];
        if (ch >= 0x20 && ch < 0x7f)
            buf_append(out, &ch, 1);
        else
            buf_append(out, "?", 1);
    }
    buf_append(out, "", 1);
}

/* Stores `x` and `y` hold the same keys and values in column family `cf`. */
static void compare_cf(sim_cluster_t *c, int x, int y, const char *cf, uint64_t applied)
{
    eng_iter_t *a = eng_iter_new(store_kv_db(sim_store_of(c, x)), NULL, cf);
    eng_iter_t *b = eng_iter_new(store_kv_db(sim_store_of(c, y)), NULL, cf);
    eng_iter_seek_first(a);
    eng_iter_seek_first(b);
    size_t n = 0;
    while (eng_iter_valid(a) || eng_iter_valid(b)) {
        int va = eng_iter_valid(a), vb = eng_iter_valid(b);
        int cmp = !va ? 1 : !vb ? -1 : slice_compare(eng_iter_key(a), eng_iter_key(b));
        if (cmp == 0 && slice_equal(eng_iter_value(a), eng_iter_value(b))) {
            eng_iter_next(a);
            eng_iter_next(b);
            n++;
            continue;
        }
        tkv_buf_t k = TKV_BUF_INIT;
        show(&k, cmp <= 0 ? eng_iter_key(a) : eng_iter_key(b));
        fail_msg("stores %d and %d have both applied up to %llu but %s key \"%s\" of column "
                 "family %s (after %zu equal keys): a write was lost, kept after a delete or a "
                 "snapshot, or applied twice on one of them",
                 x, y, (unsigned long long)applied,
                 cmp == 0  ? "hold different values for"
                 : cmp < 0 ? "disagree: only the first holds"
                           : "disagree: only the second holds",
                 (char *)k.data, cf, n);
    }
    eng_iter_free(a);
    eng_iter_free(b);
}

void cluster_check_replicas_agree(sim_cluster_t *c, uint64_t ms)
{
    sim_t *sim = sim_cluster_sim(c);
    if (sim_run_while(sim, applied_differ, c, sim_now(sim) + ms) && applied_differ(c)) {
        tkv_buf_t why = TKV_BUF_INIT;
        for (int i = 1; i <= sim_cluster_nodes(c); i++) {
            peer_t *p = region1_peer(c, i);
            char line[64];
            snprintf(line, sizeof(line), " store %d: %llu;", i,
                     p ? (unsigned long long)peer_storage(p)->applied_index : 0ull);
            buf_append(&why, line, strlen(line));
        }
        buf_append(&why, "", 1);
        fail_msg("the stores did not reach the same applied index in %llu ms of quiet:%s",
                 (unsigned long long)ms, (char *)why.data);
    }
    int ref = 0;
    for (int i = 1; i <= sim_cluster_nodes(c) && ref == 0; i++)
        if (region1_peer(c, i) != NULL)
            ref = i;
    if (ref == 0)
        return;
    uint64_t applied = peer_storage(region1_peer(c, ref))->applied_index;
    static const char *const cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };
    for (int i = ref + 1; i <= sim_cluster_nodes(c); i++) {
        if (region1_peer(c, i) == NULL)
            continue;
        for (size_t f = 0; f < sizeof(cfs) / sizeof(cfs[0]); f++)
            compare_cf(c, ref, i, cfs[f], applied);
    }
}

/* ---- one write, waited for ------------------------------------------------------- */

typedef struct {
    int calls, ok;
} write_answer_t;

static void on_write(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    write_answer_t *a = arg;
    a->calls++;
    if (resp->header == NULL || resp->header->error == NULL)
        a->ok++;
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

static int write_unanswered(void *arg)
{
    return ((write_answer_t *)arg)->calls == 0;
}

int cluster_write(sim_cluster_t *c, int node, const char *cf, const char *key, const char *value,
                  uint64_t ms)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    RaftCmdpb__DeleteRequest del = RAFT_CMDPB__DELETE_REQUEST__INIT;
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    if (value != NULL) {
        put.cf = (char *)cf;
        put.key.data = (uint8_t *)key;
        put.key.len = strlen(key);
        put.value.data = (uint8_t *)value;
        put.value.len = strlen(value);
        r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
        r.put = &put;
    } else {
        del.cf = (char *)cf;
        del.key.data = (uint8_t *)key;
        del.key.len = strlen(key);
        r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_DELETE;
        r.delete_ = &del;
    }
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    write_answer_t a = { 0, 0 };
    peer_cb_t cb = { on_write, &a };
    store_propose(sim_store_of(c, node), &cmd, cb);
    sim_t *sim = sim_cluster_sim(c);
    sim_run_while(sim, write_unanswered, &a, sim_now(sim) + ms);
    return a.ok == 1;
}

/* ---- the partitioner: a new random split every 100-400 ms ---------------------- */

void cluster_repartition(sim_t *sim, void *arg)
{
    cluster_fault_t *pt = arg;
    if (!pt->on)
        return;
    int n = sim_cluster_nodes(pt->c);
    int groups[16];
    tkv_prng_t *rng = sim_prng(sim);
    for (int i = 0; i < n && i < 16; i++)
        groups[i] = (int)prng_below(rng, 2);
    sim_net_partition(sim_cluster_net(pt->c), groups, n);
    sim_schedule(sim, 100 + prng_below(rng, 300), cluster_repartition, pt, NULL);
}

uint64_t cluster_count_log_entries(store_t *s, uint64_t *lowest)
{
    tkv_buf_t start = TKV_BUF_INIT, end = TKV_BUF_INIT;
    keys_raft_log_key(&start, 1, 0);
    keys_raft_state_key(&end, 1);
    uint64_t n = 0;
    *lowest = 0;
    eng_iter_t *it = eng_iter_new(store_raft_db(s), NULL, NULL);
    for (eng_iter_seek(it, buf_slice(&start));
         eng_iter_valid(it) && slice_compare(eng_iter_key(it), buf_slice(&end)) < 0;
         eng_iter_next(it)) {
        uint64_t rid = 0, idx = 0;
        if (keys_decode_raft_log_key(eng_iter_key(it), &rid, &idx) != TKV_OK)
            continue;
        if (n++ == 0)
            *lowest = idx;
    }
    eng_iter_free(it);
    buf_free(&start);
    buf_free(&end);
    return n;
}

/* ---- the crasher: now and then one store crashes and comes back ------------------ */

static void restart_node(sim_t *sim, void *arg);

typedef struct {
    cluster_fault_t *cr;
    int node;
} down_t;

void cluster_crash_one(sim_t *sim, void *arg)
{
    cluster_fault_t *cr = arg;
    if (!cr->on)
        return;
    tkv_prng_t *rng = sim_prng(sim);
    down_t *d = calloc(1, sizeof(*d));
    d->cr = cr;
    d->node = 1 + (int)prng_below(rng, (uint64_t)sim_cluster_nodes(cr->c));
    sim_cluster_crash(cr->c, d->node);
    sim_schedule(sim, 50 + prng_below(rng, 450), restart_node, d, free);
    sim_schedule(sim, 300 + prng_below(rng, 700), cluster_crash_one, cr, NULL);
}

static void restart_node(sim_t *sim, void *arg)
{
    (void)sim;
    down_t *d = arg;
    tkv_err_t err = sim_cluster_start(d->cr->c, d->node);
    if (err != TKV_OK)
        fail_msg("restarting store %d: %s: %s", d->node, tkv_strerror(err), tkv_last_error());
}

/* How far past its truncated index a log may run with compaction at
 * `limit`: the limit, as much again for the CompactLog on its way, and what
 * the clients (one operation in flight each) apply between two GC checks
 * (10 ticks). The reference stays at about two thirds of this at every
 * seed tried; compacting at a fixed 100 instead of the limit goes past it. */
static uint64_t log_bound(uint64_t limit, int clients)
{
    return 2 * limit + 8 * (uint64_t)clients + 10;
}

/* Every store's log is short, in memory and on disk: CompactLog and log GC
 * keep up, and nothing at or before the truncated index stays behind. */
void cluster_check_log_bounded(sim_cluster_t *c, uint64_t max_raft_log, int clients)
{
    for (int i = 1; i <= sim_cluster_nodes(c); i++) {
        store_t *s = sim_store_of(c, i);
        peer_t *p = s ? store_peer(s, 1) : NULL;
        if (p == NULL)
            continue;
        uint64_t kept = peer_storage(p)->last_index - peer_storage(p)->truncated_index;
        uint64_t bound = log_bound(max_raft_log, clients);
        if (kept > bound)
            fail_msg("store %d keeps %llu log entries (truncated at %llu, last %llu); with a "
                     "limit of %llu and %d clients at most %llu may stay",
                     i, (unsigned long long)kept,
                     (unsigned long long)peer_storage(p)->truncated_index,
                     (unsigned long long)peer_storage(p)->last_index,
                     (unsigned long long)max_raft_log, clients, (unsigned long long)bound);
        uint64_t lowest = 0, on_disk = cluster_count_log_entries(s, &lowest);
        if (on_disk > kept || (on_disk > 0 && lowest <= peer_storage(p)->truncated_index))
            fail_msg("store %d's raft DB holds %llu entries from %llu, but the log is "
                     "truncated at %llu: log GC left them behind",
                     i, (unsigned long long)on_disk, (unsigned long long)lowest,
                     (unsigned long long)peer_storage(p)->truncated_index);
        if (peer_storage(p)->truncated_index <= RAFT_INIT_LOG_INDEX)
            fail_msg("store %d never truncated its log (last index %llu, limit %llu)", i,
                     (unsigned long long)peer_storage(p)->last_index,
                     (unsigned long long)max_raft_log);
    }
}

/* 2C: samples, every 50 ms, how far each leader's applied index runs ahead
 * of its truncated index: a leader that compacts at the wrong limit shows
 * it here long before the log's end state would. */
typedef struct {
    sim_cluster_t *c;
    int on;
    uint64_t worst;
    int worst_store;
} log_sampler_t;

static void sample_log(sim_t *sim, void *arg)
{
    log_sampler_t *ls = arg;
    if (!ls->on)
        return;
    for (int i = 1; i <= sim_cluster_nodes(ls->c); i++) {
        store_t *s = sim_store_of(ls->c, i);
        peer_t *p = s ? store_peer(s, 1) : NULL;
        if (p == NULL || !peer_is_leader(p))
            continue;
        uint64_t ahead = peer_storage(p)->applied_index - peer_storage(p)->truncated_index;
        if (ahead > ls->worst) {
            ls->worst = ahead;
            ls->worst_store = i;
        }
    }
    sim_schedule(sim, 50, sample_log, ls, NULL);
}

void generic_run(uint64_t seed, void *arg)
{
    const generic_opts_t *g = arg;
    /* The sizes a failing seed may be replayed smaller with (SHRINK=1,
     * test.h), those that keep the run's beginning first. The progress
     * asked for shrinks with the time. */
    int rounds = (int)tkv_scaled("rounds", (uint64_t)g->rounds, 1);
    uint64_t round_ms = tkv_scaled("round_ms", g->round_ms, 200);
    int clients = (int)tkv_scaled("clients", (uint64_t)g->clients, 1);
    uint64_t min_ops =
        g->min_ops * (uint64_t)rounds * round_ms / ((uint64_t)g->rounds * g->round_ms);
    if (min_ops < 1)
        min_ops = 1;
    sim_store_opts_t so;
    sim_cluster_t *c =
        cluster_new_reading(g->nodes, clients, seed, g->max_raft_log, g->read_mode, &so);
    sim_t *sim = sim_cluster_sim(c);
    sim_net_t *net = sim_cluster_net(c);
    if (g->unreliable) {
        sim_net_opts_t no = sim_net_opts_unreliable();
        sim_net_set_opts(net, &no);
    }
    history_t *h = history_new();
    kv_clients_opts_t ko = { clients, 0, 3, NULL };
    kv_clients_t *k = kv_clients_start(c, h, &ko);
    cluster_fault_t pt = { c, 0 };
    cluster_fault_t cr = { c, 0 };
    log_sampler_t ls = { c, g->max_raft_log > 0, 0, 0 };
    if (ls.on)
        sim_schedule(sim, 50, sample_log, &ls, NULL);
    for (int r = 0; r < rounds; r++) {
        if (g->partitions) {
            pt.on = 1;
            sim_schedule(sim, 0, cluster_repartition, &pt, NULL);
        }
        if (g->crash) {
            /* Besides TinyKV's crash of every store between rounds, single
             * stores crash at random moments in the middle of the traffic. */
            cr.on = 1;
            sim_schedule(sim, 200, cluster_crash_one, &cr, NULL);
        }
        sim_run_for(sim, round_ms);
        pt.on = 0;
        cr.on = 0;
        sim_net_heal(net);
        if (g->crash)
            for (int i = 1; i <= g->nodes; i++) {
                tkv_err_t err = sim_cluster_restart(c, i);
                if (err != TKV_OK)
                    fail_msg("restarting store %d: %s: %s", i, tkv_strerror(err), tkv_last_error());
            }
        /* Let the cluster settle before the next round (TinyKV sleeps). */
        sim_run_for(sim, 100);
    }
    /* A last stretch without faults: every client must get through. */
    sim_net_opts_t rel = sim_net_opts_reliable();
    sim_net_set_opts(net, &rel);
    sim_run_for(sim, 1000);
    kv_clients_stop(k);
    ls.on = 0;
    uint64_t done = kv_clients_done(k);
    if (done < min_ops)
        fail_msg("only %llu operations completed (want at least %llu): no progress",
                 (unsigned long long)done, (unsigned long long)min_ops);
    if (getenv("TKV_VERBOSE"))
        fprintf(stderr,
                "seed %llu: %llu ops done, %zu in history, virtual %llu ms; a leader applied "
                "up to %llu entries past its truncated index\n",
                (unsigned long long)seed, (unsigned long long)done, history_len(h),
                (unsigned long long)sim_now(sim), (unsigned long long)ls.worst);
    if (getenv("TKV_VERBOSE")) {
        sim_net_stats_t st = sim_net_stats(net);
        trace_t *tr = sim_cluster_trace(c);
        fprintf(stderr,
                "  messages: %llu sent, %llu lost at random, %llu to partitions, %llu to down "
                "nodes; %zu requests, %zu replies, %zu role changes (in the kept trace)\n",
                (unsigned long long)st.sent, (unsigned long long)st.dropped_random,
                (unsigned long long)st.dropped_partition, (unsigned long long)st.dropped_down,
                trace_count_kind(tr, -1, "request"), trace_count_kind(tr, -1, "reply"),
                trace_count_kind(tr, -1, "role"));
    }
    cluster_check_history(h, clients);
    if (g->max_raft_log > 0)
        cluster_check_log_bounded(c, g->max_raft_log, clients);
    if (g->max_raft_log > 0 && ls.worst > log_bound(g->max_raft_log, clients))
        fail_msg("store %d, leading, applied %llu entries past its truncated index during the "
                 "run; with a limit of %llu and %d clients at most %llu may be (CompactLog must "
                 "be proposed once applied - truncated passes the configured limit)",
                 ls.worst_store, (unsigned long long)ls.worst, (unsigned long long)g->max_raft_log,
                 clients, (unsigned long long)log_bound(g->max_raft_log, clients));
    cluster_check_replicas_agree(c, 5000);
    sim_cluster_free(c);
    kv_clients_free(k);
    history_free(h);
}
