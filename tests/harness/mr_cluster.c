/*
 * Project 3B's test cluster and its must_* helpers (mr_cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/mr_cluster.h"
#include "tests/harness/test.h"

/* Generous bounds in virtual time: a healthy cluster needs a fraction. */
#define WAIT_MS 20000

mr_cluster_t *mr_cluster_new(int nodes, int clients, uint64_t seed, const mr_cluster_opts_t *o)
{
    mr_cluster_t *m = calloc(1, sizeof(*m));
    m->sched = mock_sched_new();
    m->so.peer = peer_config_default();
    m->so.peer.sync = 0;
    m->so.peer.raft_log_gc_tick = 10;
    m->so.peer.raft_log_gc_count_limit = o ? o->max_raft_log : 0;
    m->so.multiraft = 1;
    m->so.mr = multiraft_config_default();
    m->so.mr.heartbeat_tick = o != NULL && o->heartbeat_tick > 0 ? o->heartbeat_tick : 5;
    m->so.mr.store_heartbeat_tick = 50;
    if (o != NULL && o->region_max_size > 0) {
        m->so.mr.region_max_size = o->region_max_size;
        m->so.mr.region_split_size = o->region_split_size;
    } else {
        m->so.mr.split_check_tick = 0;
    }
    m->so.sched = m->sched;
    m->so.initial_peers = o ? o->initial_peers : 0;
    sim_cluster_opts_t co;
    memset(&co, 0, sizeof(co));
    co.nodes = nodes;
    co.clients = clients;
    co.ops = &sim_store_ops;
    co.user = &m->so;
    co.seed = seed;
    tkv_err_t err = sim_cluster_new(&co, &m->c);
    if (err != TKV_OK)
        fail_msg("starting a %d-store cluster: %s: %s", nodes, tkv_strerror(err), tkv_last_error());
    mock_sched_attach(m->sched, m->c);
    trace_write_on_failure(sim_cluster_trace(m->c), "multiraft");
    return m;
}

void mr_cluster_free(mr_cluster_t *m)
{
    if (m == NULL)
        return;
    sim_cluster_free(m->c);
    mock_sched_free(m->sched);
    free(m);
}

sim_t *mr_sim(mr_cluster_t *m)
{
    return sim_cluster_sim(m->c);
}

peer_t *mr_peer_of(mr_cluster_t *m, int store, uint64_t region)
{
    store_t *s = sim_store_of(m->c, store);
    return s ? store_peer(s, region) : NULL;
}

typedef struct {
    mr_cluster_t *m;
    uint64_t region;
    int store;
    int (*done)(void *);
} wait_t;

/* A deposed leader cut off from the others may still think it leads: the
 * one with the highest term is the real one. */
static int leader_of_now(mr_cluster_t *m, uint64_t region)
{
    int best = 0;
    uint64_t term = 0;
    for (int i = 1; i <= sim_cluster_nodes(m->c); i++) {
        peer_t *p = mr_peer_of(m, i, region);
        if (p != NULL && peer_is_leader(p) && peer_term(p) > term) {
            best = i;
            term = peer_term(p);
        }
    }
    return best;
}

static int no_leader(void *arg)
{
    wait_t *w = arg;
    return leader_of_now(w->m, w->region) == 0;
}

int mr_leader_of(mr_cluster_t *m, uint64_t region, uint64_t ms)
{
    wait_t w = { m, region, 0, NULL };
    sim_run_while(mr_sim(m), no_leader, &w, sim_now(mr_sim(m)) + ms);
    return leader_of_now(m, region);
}

static int not_have_peer(void *arg)
{
    wait_t *w = arg;
    peer_t *p = mr_peer_of(w->m, w->store, w->region);
    return p == NULL || !peer_is_initialized(p);
}

static int still_have_peer(void *arg)
{
    wait_t *w = arg;
    return mr_peer_of(w->m, w->store, w->region) != NULL || !sim_cluster_is_up(w->m->c, w->store);
}

void mr_must_have_peer(mr_cluster_t *m, int store, uint64_t region)
{
    wait_t w = { m, region, store, NULL };
    if (!sim_run_while(mr_sim(m), not_have_peer, &w, sim_now(mr_sim(m)) + WAIT_MS))
        fail_msg("store %d should host an initialized peer of region %llu within %d ms; it %s",
                 store, (unsigned long long)region, WAIT_MS,
                 mr_peer_of(m, store, region) ? "has only an uninitialized one" : "has none");
}

void mr_must_none_peer(mr_cluster_t *m, int store, uint64_t region)
{
    wait_t w = { m, region, store, NULL };
    if (!sim_run_while(mr_sim(m), still_have_peer, &w, sim_now(mr_sim(m)) + WAIT_MS))
        fail_msg("store %d should have destroyed its peer of region %llu within %d ms; it still "
                 "hosts peer %llu",
                 store, (unsigned long long)region, WAIT_MS,
                 (unsigned long long)peer_id(mr_peer_of(m, store, region)));
}

static int op_pending(void *arg)
{
    wait_t *w = arg;
    return !mock_sched_operator_done(w->m->sched, w->region);
}

static void must_operator(mr_cluster_t *m, uint64_t region, const char *what, int store)
{
    wait_t w = { m, region, store, NULL };
    if (!sim_run_while(mr_sim(m), op_pending, &w, sim_now(mr_sim(m)) + WAIT_MS))
        fail_msg("%s store %d in region %llu did not finish within %d ms (the scheduler's view "
                 "of the region has not changed)",
                 what, store, (unsigned long long)region, WAIT_MS);
}

void mr_must_add_peer(mr_cluster_t *m, uint64_t region, int store)
{
    mock_sched_add_peer(m->sched, region, (uint64_t)store);
    must_operator(m, region, "adding", store);
}

void mr_must_remove_peer(mr_cluster_t *m, uint64_t region, int store)
{
    mock_sched_remove_peer(m->sched, region, (uint64_t)store);
    must_operator(m, region, "removing", store);
}

static int not_leader_yet(void *arg)
{
    wait_t *w = arg;
    peer_t *p = mr_peer_of(w->m, w->store, w->region);
    return p == NULL || !peer_is_leader(p);
}

void mr_must_transfer_leader(mr_cluster_t *m, uint64_t region, int store)
{
    mock_sched_transfer_leader(m->sched, region, (uint64_t)store);
    wait_t w = { m, region, store, NULL };
    if (!sim_run_while(mr_sim(m), not_leader_yet, &w, sim_now(mr_sim(m)) + WAIT_MS))
        fail_msg("leadership of region %llu should move to store %d within %d ms; the leader is "
                 "on store %d",
                 (unsigned long long)region, store, WAIT_MS, leader_of_now(m, region));
}

typedef struct {
    mr_cluster_t *m;
    size_t n;
} regions_wait_t;

static int too_few_regions(void *arg)
{
    regions_wait_t *w = arg;
    return mock_sched_n_regions(w->m->sched) < w->n;
}

void mr_wait_for_regions(mr_cluster_t *m, size_t n, uint64_t ms)
{
    regions_wait_t w = { m, n };
    if (!sim_run_while(mr_sim(m), too_few_regions, &w, sim_now(mr_sim(m)) + ms))
        fail_msg("the cluster should have split into at least %zu regions within %llu ms; the "
                 "scheduler knows %zu",
                 n, (unsigned long long)ms, mock_sched_n_regions(m->sched));
}

/* ---- commands through the leader ---------------------------------------------------- */

typedef struct {
    int calls, ok;
    int not_in_region;
    char *value;
    int found;
} done_t;

static void on_done(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    done_t *d = arg;
    d->calls++;
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e == NULL) {
        d->ok++;
        for (size_t i = 0; i < resp->n_responses; i++) {
            RaftCmdpb__Response *r = resp->responses[i];
            if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && r->get != NULL) {
                free(d->value);
                d->found = r->get->value.len > 0;
                d->value = d->found ? strndup((char *)r->get->value.data, r->get->value.len) : NULL;
            }
        }
    } else if (e->key_not_in_region != NULL) {
        d->not_in_region = 1;
    }
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

static int waiting(void *arg)
{
    return ((done_t *)arg)->calls == 0;
}

/* The store whose peer leads a region holding key, and that peer. */
static int leader_for_key(mr_cluster_t *m, const char *key, peer_t **out)
{
    /* A cut-off store may still lead an older, wider region: the newest
     * region (its version), then the highest term, is the real leader. */
    int best = 0;
    uint64_t ver = 0, term = 0;
    for (int i = 1; i <= sim_cluster_nodes(m->c); i++) {
        store_t *s = sim_store_of(m->c, i);
        peer_t *p = s ? store_region_by_key(s, slice_of(key, strlen(key))) : NULL;
        if (p == NULL || !peer_is_leader(p))
            continue;
        uint64_t v = peer_region(p)->region_epoch ? peer_region(p)->region_epoch->version : 0;
        if (v > ver || (v == ver && peer_term(p) > term)) {
            *out = p;
            best = i;
            ver = v;
            term = peer_term(p);
        }
    }
    return best;
}

static int run_command(mr_cluster_t *m, const char *key, const char *value, done_t *d)
{
    sim_t *sim = mr_sim(m);
    uint64_t until = sim_now(sim) + WAIT_MS;
    while (sim_now(sim) < until) {
        peer_t *p = NULL;
        int node = leader_for_key(m, key, &p);
        if (node == 0) {
            sim_run_for(sim, 20);
            continue;
        }
        RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
        hdr.region_id = peer_region_id(p);
        hdr.region_epoch = peer_region(p)->region_epoch;
        RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
        RaftCmdpb__GetRequest get = RAFT_CMDPB__GET_REQUEST__INIT;
        RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
        if (value != NULL) {
            put.key.data = (uint8_t *)key;
            put.key.len = strlen(key);
            put.value.data = (uint8_t *)value;
            put.value.len = strlen(value);
            r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
            r.put = &put;
        } else {
            get.key.data = (uint8_t *)key;
            get.key.len = strlen(key);
            r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
            r.get = &get;
        }
        RaftCmdpb__Request *rs[1] = { &r };
        RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
        cmd.header = &hdr;
        cmd.requests = rs;
        cmd.n_requests = 1;
        d->calls = d->ok = 0;
        peer_cb_t cb = { on_done, d };
        store_propose(sim_store_of(m->c, node), &cmd, cb);
        sim_run_while(sim, waiting, d, sim_now(sim) + 1000);
        if (d->ok)
            return 1;
        sim_run_for(sim, 20);
    }
    return 0;
}

void mr_must_put(mr_cluster_t *m, const char *key, const char *value)
{
    done_t d = { 0 };
    if (!run_command(m, key, value, &d))
        fail_msg("put %s=%s did not apply within %d ms of virtual time", key, value, WAIT_MS);
    free(d.value);
}

char *mr_get(mr_cluster_t *m, const char *key)
{
    done_t d = { 0 };
    if (!run_command(m, key, NULL, &d))
        fail_msg("get %s got no answer within %d ms of virtual time", key, WAIT_MS);
    return d.value;
}

char *mr_get_on_store(mr_cluster_t *m, int store, const char *key)
{
    store_t *s = sim_store_of(m->c, store);
    if (s == NULL)
        return NULL;
    tkv_buf_t v = TKV_BUF_INIT;
    char *out = NULL;
    if (eng_get(store_kv_db(s), CF_DEFAULT, slice_of(key, strlen(key)), &v) == TKV_OK)
        out = strndup((char *)v.data, v.len);
    buf_free(&v);
    return out;
}

typedef struct {
    mr_cluster_t *m;
    int store;
    const char *key, *want;
} store_wait_t;

static int store_differs(void *arg)
{
    store_wait_t *w = arg;
    char *v = mr_get_on_store(w->m, w->store, w->key);
    int same = (v == NULL && w->want == NULL) || (v && w->want && strcmp(v, w->want) == 0);
    free(v);
    return !same;
}

void mr_must_get_on_store(mr_cluster_t *m, int store, const char *key, const char *want)
{
    store_wait_t w = { m, store, key, want };
    if (!sim_run_while(mr_sim(m), store_differs, &w, sim_now(mr_sim(m)) + WAIT_MS)) {
        char *v = mr_get_on_store(m, store, key);
        fail_msg("store %d should hold %s=%s within %d ms; it holds %s", store, key,
                 want ? want : "(nothing)", WAIT_MS, v ? v : "(nothing)");
    }
}

void mr_must_split(mr_cluster_t *m, const char *key)
{
    sim_t *sim = mr_sim(m);
    uint64_t until = sim_now(sim) + WAIT_MS;
    while (sim_now(sim) < until) {
        peer_t *p = NULL;
        int node = leader_for_key(m, key, &p);
        if (node != 0) {
            const Metapb__Region *r = peer_region(p);
            if (r->start_key.len == strlen(key) &&
                memcmp(r->start_key.data, key, r->start_key.len) == 0)
                return; /* split there already */
            multiraft_ask_split(sim_store_of(m->c, node), peer_region_id(p),
                                slice_of(key, strlen(key)));
        }
        sim_run_for(sim, 100);
    }
    fail_msg("no region starts at %s within %d ms after asking to split there", key, WAIT_MS);
}

/* ---- the conf changer ----------------------------------------------------------- */

struct mr_confchanger {
    mr_cluster_t *m;
    uint64_t region;
    int on;
    uint64_t changes;
};

static void confchange_step(sim_t *sim, void *arg)
{
    mr_confchanger_t *cc = arg;
    if (!cc->on)
        return;
    mr_cluster_t *m = cc->m;
    tkv_prng_t *rng = sim_prng(sim);
    int store = 1 + (int)prng_below(rng, (uint64_t)sim_cluster_nodes(m->c));
    const Metapb__Region *r = cc->region ? mock_sched_region_by_id(m->sched, cc->region)
                                         : mock_sched_region_by_key(m->sched, "", 0);
    if (r != NULL && mock_sched_operator_done(m->sched, r->id)) {
        cc->changes++;
        if (pb_region_peer_on_store(r, (uint64_t)store) != NULL) {
            if (r->n_peers > 3)
                mock_sched_remove_peer(m->sched, r->id, (uint64_t)store);
        } else {
            mock_sched_add_peer(m->sched, r->id, (uint64_t)store);
        }
    }
    sim_schedule(sim, prng_below(rng, 200), confchange_step, cc, NULL);
}

mr_confchanger_t *mr_confchanger_start(mr_cluster_t *m, uint64_t region)
{
    mr_confchanger_t *cc = calloc(1, sizeof(*cc));
    cc->m = m;
    cc->region = region;
    cc->on = 1;
    sim_schedule(mr_sim(m), 0, confchange_step, cc, NULL);
    return cc;
}

void mr_confchanger_stop(mr_confchanger_t *cc)
{
    cc->on = 0;
}

void mr_confchanger_free(mr_confchanger_t *cc)
{
    free(cc);
}
