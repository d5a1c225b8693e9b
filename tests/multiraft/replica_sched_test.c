/*
 * Project 3C in the simulator: the real scheduler (its region heartbeats,
 * project 3C, and the frame's replica checker) driving project 3B's
 * stores. A cluster starts as a real one does, with one region holding one
 * peer on store 1 and the other stores empty; the scheduler must give the
 * region its replicas, one store each, and rebuild the replica of a store
 * that goes down on a store that has none, with no acknowledged write lost.
 *
 * The stores talk to the scheduler through the mock's transport
 * (mock_sched_use_server()), on the simulator's virtual clock, so "down"
 * (no store heartbeat for max_store_down_ms) is virtual time too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/scheduler/service.h"
#include "tests/harness/mr_cluster.h"

#define DOWN_MS 3000  /* the scheduler's max_store_down_ms in these tests */
#define WAIT_MS 60000 /* bounds in virtual time; a healthy run needs far less */

typedef struct {
    mr_cluster_t *m;
    sched_server_t *srv;
    char dir[256];
} rs_t;

static void call_ok(rs_t *t, const char *method, const ProtobufCMessage *req,
                    ProtobufCMessage *resp)
{
    if (sched_server_call(t->srv, method, req, resp) != TKV_OK)
        fail_msg("scheduler %s: %s", method, tkv_last_error());
    Schedulerpb__ResponseHeader *const *h =
        (void *)((char *)resp +
                 protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, "header")
                     ->offset);
    if (*h != NULL && (*h)->error != NULL)
        fail_msg("scheduler %s refused: %s", method, (*h)->error->message);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* `nodes` stores, region 1 on store 1 alone, and a real scheduler that
 * knows every store (bootstrapped by store 1 with region 1, as the first
 * store of a real cluster does). */
static rs_t *rs_new(int nodes, uint64_t seed)
{
    rs_t *t = calloc(1, sizeof(*t));
    mr_cluster_opts_t o = { 0, 0, 0, 1 };
    t->m = mr_cluster_new(nodes, 0, seed, &o);
    tkv_tmpdir(t->dir, sizeof(t->dir));
    sched_server_config_t cfg = sched_server_config_default();
    cfg.cluster.max_store_down_ms = DOWN_MS;
    if (sched_server_open(t->dir, sim_clock(mr_sim(t->m)), &cfg, &t->srv) != TKV_OK)
        fail_msg("opening the scheduler in %s: %s", t->dir, tkv_last_error());
    for (int s = 1; s <= nodes; s++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "sim-store-%d", s);
        Metapb__Store st = METAPB__STORE__INIT;
        st.id = (uint64_t)s;
        st.address = addr;
        if (s == 1) {
            const Metapb__Region *r = mock_sched_region_by_id(t->m->sched, 1);
            if (r == NULL || r->n_peers != 1)
                fail_msg("region 1 should start with one peer, on store 1");
            Schedulerpb__BootstrapRequest b = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
            b.store = &st;
            b.region = (Metapb__Region *)r;
            Schedulerpb__BootstrapResponse *br = calloc(1, sizeof(*br));
            schedulerpb__bootstrap_response__init(br);
            call_ok(t, "Bootstrap", &b.base, &br->base);
        } else {
            Schedulerpb__PutStoreRequest p = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
            p.store = &st;
            Schedulerpb__PutStoreResponse *pr = calloc(1, sizeof(*pr));
            schedulerpb__put_store_response__init(pr);
            call_ok(t, "PutStore", &p.base, &pr->base);
        }
    }
    /* A real first store takes its store, region and peer ids from
     * AllocId; the simulator's bootstrap numbered them by hand (below 100),
     * so the scheduler's ids must start above those. */
    for (;;) {
        Schedulerpb__AllocIdRequest a = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
        Schedulerpb__AllocIdResponse ar = SCHEDULERPB__ALLOC_ID_RESPONSE__INIT;
        if (sched_server_call(t->srv, "AllocId", &a.base, &ar.base) != TKV_OK)
            fail_msg("scheduler AllocId: %s", tkv_last_error());
        uint64_t id = ar.id;
        protobuf_c_message_free_unpacked(&ar.header->base, NULL);
        if (id >= 100)
            break;
    }
    mock_sched_use_server(t->m->sched, t->srv);
    return t;
}

static void rs_free(rs_t *t)
{
    mr_cluster_free(t->m);
    sched_server_close(t->srv);
    tkv_rmdir(t->dir);
    free(t);
}

/* Region 1 as the scheduler knows it. */
static const sched_region_t *sched_region(rs_t *t)
{
    return cluster_get_region(sched_server_cluster(t->srv), 1);
}

/* "stores 1 2 3" for messages. */
static void describe(rs_t *t, char *out, size_t size)
{
    const sched_region_t *r = sched_region(t);
    snprintf(out, size, "the scheduler knows region 1 with peers on stores");
    for (size_t i = 0; r != NULL && i < r->region->n_peers; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, " %llu%s",
                 (unsigned long long)r->region->peers[i]->store_id,
                 region_peer_is_pending(r, r->region->peers[i]->id) ? " (pending)" : "");
    }
}

typedef struct {
    rs_t *t;
    int avoid; /* a store that must hold no peer of region 1 (0: none) */
} whole_t;

/* Region 1 whole: 3 peers on 3 distinct stores (none on `avoid`), none
 * pending, each an initialized peer on its store. Returns 1 while not. */
static int not_whole(void *arg)
{
    whole_t *w = arg;
    const sched_region_t *r = sched_region(w->t);
    if (r == NULL || r->region->n_peers != 3)
        return 1;
    for (size_t i = 0; i < 3; i++) {
        const Metapb__Peer *p = r->region->peers[i];
        if ((int)p->store_id == w->avoid || region_peer_is_pending(r, p->id))
            return 1;
        for (size_t j = 0; j < i; j++) {
            if (r->region->peers[j]->store_id == p->store_id)
                return 1;
        }
        peer_t *local = mr_peer_of(w->t->m, (int)p->store_id, 1);
        if (local == NULL || !peer_is_initialized(local))
            return 1;
    }
    return 0;
}

static void must_be_whole(rs_t *t, int avoid, const char *when)
{
    whole_t w = { t, avoid };
    if (!sim_run_while(mr_sim(t->m), not_whole, &w, sim_now(mr_sim(t->m)) + WAIT_MS)) {
        char seen[256], none[32] = "";
        describe(t, seen, sizeof(seen));
        if (avoid != 0)
            snprintf(none, sizeof(none), ", none on store %d", avoid);
        fail_msg("%s, region 1 should have 3 caught-up peers on 3 different stores%s within "
                 "%d ms of virtual time; %s",
                 when, none, WAIT_MS, seen);
    }
}

/* Every key written so far, as each of region 1's 3 stores holds it, and
 * as a read through the leader returns it (the region is whole). */
static void check_keys(rs_t *t, int n)
{
    /* Copied: the scheduler's region changes while the simulator runs. */
    const sched_region_t *r = sched_region(t);
    int stores[3];
    for (size_t j = 0; j < 3; j++)
        stores[j] = (int)r->region->peers[j]->store_id;
    for (int i = 0; i < n; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%03d", i);
        snprintf(v, sizeof(v), "v%03d", i);
        for (size_t j = 0; j < 3; j++)
            mr_must_get_on_store(t->m, stores[j], k, v);
        char *got = mr_get(t->m, k);
        if (got == NULL || strcmp(got, v) != 0)
            fail_msg("get %s should return %s (an acknowledged write), got %s", k, v,
                     got ? got : "nothing");
        free(got);
    }
}

static void put_keys(rs_t *t, int from, int to)
{
    for (int i = from; i < to; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%03d", i);
        snprintf(v, sizeof(v), "v%03d", i);
        mr_must_put(t->m, k, v);
    }
}

static void replicate_body(uint64_t seed, void *arg)
{
    (void)arg;
    rs_t *t = rs_new(3, seed);
    put_keys(t, 0, 20);
    must_be_whole(t, 0, "starting from one peer on store 1 of 3 stores");
    put_keys(t, 20, 30);
    check_keys(t, 30);
    rs_free(t);
}

static void test_replicates_single_peer_region(void **state)
{
    (void)state;
    tkv_for_each_seed(3101, replicate_body, NULL);
}

static void rebuild_body(uint64_t seed, void *arg)
{
    (void)arg;
    rs_t *t = rs_new(4, seed);
    put_keys(t, 0, 10);
    must_be_whole(t, 0, "starting from one peer on store 1 of 4 stores");
    /* One of the three (the seed picks which, the leader included) dies
     * and stays down. */
    const sched_region_t *r = sched_region(t);
    int victim = (int)r->region->peers[seed % 3]->store_id;
    sim_cluster_crash(t->m->c, victim);
    put_keys(t, 10, 20);
    char when[96];
    snprintf(when, sizeof(when), "after store %d went down for good", victim);
    must_be_whole(t, victim, when);
    put_keys(t, 20, 25);
    check_keys(t, 25);
    rs_free(t);
}

static void test_rebuilds_down_store(void **state)
{
    (void)state;
    tkv_for_each_seed(3201, rebuild_body, NULL);
}

/* Returns 1 while no store holds two peers of region 1. */
static int no_doubled_store(void *arg)
{
    const sched_region_t *r = sched_region(arg);
    for (size_t i = 0; r != NULL && i < r->region->n_peers; i++) {
        for (size_t j = 0; j < i; j++) {
            if (r->region->peers[j]->store_id == r->region->peers[i]->store_id)
                return 0;
        }
    }
    return 1;
}

static void wait_body(uint64_t seed, void *arg)
{
    (void)arg;
    rs_t *t = rs_new(4, seed);
    /* Store 4 is registered but its process is not running. */
    sim_cluster_crash(t->m->c, 4);
    put_keys(t, 0, 10);
    must_be_whole(t, 4, "starting from one peer on store 1, with store 4 not running");
    sim_run_for(mr_sim(t->m), DOWN_MS + 1000); /* store 4 now counts as down */
    const sched_region_t *r = sched_region(t);
    int victim = (int)r->region->peers[seed % 3]->store_id;
    sim_cluster_crash(t->m->c, victim);
    put_keys(t, 10, 15);
    /* No store can take the replica: the region must wait, not put a
     * second peer on a store that has one. */
    if (sim_run_while(mr_sim(t->m), no_doubled_store, t, sim_now(mr_sim(t->m)) + 3 * DOWN_MS)) {
        char seen[256];
        describe(t, seen, sizeof(seen));
        fail_msg("with store %d down and no spare store, region 1 got two peers on one store: %s",
                 victim, seen);
    }
    if (sim_cluster_start(t->m->c, 4) != TKV_OK)
        fail_msg("restarting store 4: %s", tkv_last_error());
    char when[96];
    snprintf(when, sizeof(when), "after store %d went down and store 4 started", victim);
    must_be_whole(t, victim, when);
    put_keys(t, 15, 20);
    check_keys(t, 20);
    rs_free(t);
}

static void test_waits_for_a_store(void **state)
{
    (void)state;
    tkv_for_each_seed(3301, wait_body, NULL);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3c", #name, pts, desc, test_##name, 240                                            \
    }

const tkv_test_t replica_sched_tests[] = {
    T(replicates_single_peer_region, 3,
      "a cluster that starts with one single-peer region ends with 3 peers on 3 stores, "
      "its data on each"),
    T(rebuilds_down_store, 3,
      "a store that goes down has its replica rebuilt on a fourth store; no write is lost"),
    T(waits_for_a_store, 2,
      "with no store to rebuild on, the region waits (never two peers on one store) and heals "
      "when a store starts"),
    { 0 },
};
