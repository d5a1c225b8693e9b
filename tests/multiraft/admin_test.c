/*
 * Project 3B, one admin command at a time on a quiet cluster: leader
 * transfer, membership change, and the region errors a client sees.
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/mr_cluster.h"

typedef struct {
    int calls;
    RaftCmdpb__RaftCmdResponse *resp;
} answer_t;

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    answer_t *a = arg;
    a->calls++;
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(a->resp);
    a->resp = resp;
}

static int no_answer(void *arg)
{
    return ((answer_t *)arg)->calls == 0;
}

/* Puts key=key on `store` in region `id` with `epoch` (NULL: none); the
 * answer's region error, or NULL on success. */
static const Errorpb__Error *put_as(mr_cluster_t *m, int store, uint64_t id,
                                    const Metapb__RegionEpoch *epoch, const char *key, answer_t *a)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = id;
    hdr.region_epoch = (Metapb__RegionEpoch *)epoch;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    put.key.data = (uint8_t *)key;
    put.key.len = strlen(key);
    put.value.data = (uint8_t *)key;
    put.value.len = strlen(key);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    r.put = &put;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    a->calls = 0;
    peer_cb_t cb = { on_answer, a };
    store_propose(sim_store_of(m->c, store), &cmd, cb);
    sim_run_while(mr_sim(m), no_answer, a, sim_now(mr_sim(m)) + 2000);
    if (a->calls == 0)
        fail_msg("a put of %s to store %d got no answer in 2 s", key, store);
    return a->resp->header ? a->resp->header->error : NULL;
}

static void expect_get(mr_cluster_t *m, const char *key, const char *want)
{
    char *v = mr_get(m, key);
    if ((v == NULL) != (want == NULL) || (v != NULL && strcmp(v, want) != 0))
        fail_msg("get %s: want %s, got %s", key, want ? want : "(nothing)", v ? v : "(nothing)");
    free(v);
}

/* TinyKV's TestTransferLeader3B: leadership moves to each peer in turn, and
 * the region keeps serving after every move. */
static void test_transfer_leader_to_each_peer(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(5, 0, 301, NULL);
    if (mr_leader_of(m, 1, 5000) == 0)
        fail_msg("region 1 elected no leader in 5 s");
    for (int round = 0; round < 2; round++)
        for (int s = 1; s <= 5; s++) {
            mr_must_transfer_leader(m, 1, s);
            char key[32], val[32];
            snprintf(key, sizeof(key), "k%d", s);
            snprintf(val, sizeof(val), "v%d.%d", s, round);
            mr_must_put(m, key, val);
            expect_get(m, key, val);
        }
    mr_cluster_free(m);
}

/* What a client with an out-of-date view is told, error by error. */
static void test_region_errors_a_client_sees(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 302, NULL);
    int leader = mr_leader_of(m, 1, 5000);
    mr_must_put(m, "a", "1");
    Metapb__Region *old = pb_region_dup(peer_region(mr_peer_of(m, leader, 1)));
    mr_must_split(m, "m");
    leader = mr_leader_of(m, 1, 5000);
    answer_t a = { 0 };
    const Errorpb__Error *e = put_as(m, leader, 1, old->region_epoch, "b", &a);
    if (e == NULL || e->epoch_not_match == NULL)
        fail_msg("a put with region 1's epoch from before the split should fail with "
                 "EpochNotMatch; it got %s",
                 e == NULL ? "success" : e->message);
    if (e->epoch_not_match->n_current_regions == 0 ||
        e->epoch_not_match->current_regions[0]->region_epoch->version <= old->region_epoch->version)
        fail_msg("EpochNotMatch should carry the region as it is now (a newer version)");
    const Metapb__RegionEpoch *now = peer_region(mr_peer_of(m, leader, 1))->region_epoch;
    e = put_as(m, leader, 1, now, "x", &a);
    if (e == NULL || e->key_not_in_region == NULL)
        fail_msg("a put of x (past the split key m) to region 1 should fail with "
                 "KeyNotInRegion; it got %s",
                 e == NULL ? "success" : e->message);
    e = put_as(m, leader, 77, now, "b", &a);
    if (e == NULL || e->region_not_found == NULL)
        fail_msg("a put to region 77, which no store hosts, should fail with RegionNotFound");
    e = put_as(m, leader, 1, NULL, "b", &a);
    if (e == NULL || e->epoch_not_match == NULL)
        fail_msg("a put that names no epoch should fail with EpochNotMatch");
    e = put_as(m, leader, 1, now, "b", &a);
    if (e != NULL)
        fail_msg("a put with the current epoch, in range, should succeed; it got %s", e->message);
    pb_free(a.resp);
    pb_free(old);
    mr_cluster_free(m);
}

/* Three stores, random splits up to 50 regions and random leader moves
 * between random puts: the data read back equals a model of the puts, on
 * every store. */
static void random_run(uint64_t seed, void *arg)
{
    (void)arg;
    mr_cluster_t *m = mr_cluster_new(3, 0, seed, NULL);
    mr_leader_of(m, 1, 5000);
    tkv_prng_t rng;
    prng_seed(&rng, seed);
    enum { KEYS = 120 };
    char model[KEYS][24];
    memset(model, 0, sizeof(model));
    for (int step = 0; step < 300; step++) {
        int k = (int)prng_below(&rng, KEYS);
        char key[16];
        snprintf(key, sizeof(key), "key%03d", k);
        uint64_t dice = prng_below(&rng, 10);
        if (dice < 6) {
            snprintf(model[k], sizeof(model[k]), "v%d", step);
            mr_must_put(m, key, model[k]);
        } else if (dice < 8 && mock_sched_n_regions(m->sched) < 50) {
            mr_must_split(m, key);
        } else {
            size_t n = mock_sched_n_regions(m->sched);
            const Metapb__Region *r = mock_sched_region_at(m->sched, (size_t)prng_below(&rng, n));
            mr_must_transfer_leader(m, r->id, 1 + (int)prng_below(&rng, 3));
        }
    }
    if (mock_sched_n_regions(m->sched) < 20)
        fail_msg("test setup: only %zu regions after 300 steps", mock_sched_n_regions(m->sched));
    for (int k = 0; k < KEYS; k++) {
        char key[16];
        snprintf(key, sizeof(key), "key%03d", k);
        const char *want = model[k][0] ? model[k] : NULL;
        char *v = mr_get(m, key);
        if ((v == NULL) != (want == NULL) || (v && strcmp(v, want) != 0))
            fail_msg("get %s: the model says %s, the cluster %s", key, want ? want : "(nothing)",
                     v ? v : "(nothing)");
        free(v);
        for (int s = 1; s <= 3; s++)
            mr_must_get_on_store(m, s, key, want);
    }
    mr_cluster_free(m);
}

static void test_random_splits_and_transfers_match_model(void **state)
{
    (void)state;
    tkv_for_each_seed(303, random_run, NULL);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3b", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t admin_tests[] = {
    T(transfer_leader_to_each_peer, 5,
      "TransferLeader moves leadership to each of 5 peers in turn; the region keeps serving"),
    T(region_errors_a_client_sees, 4,
      "an old epoch gets EpochNotMatch (with the region now), a key outside KeyNotInRegion, an "
      "unknown region RegionNotFound"),
    T(random_splits_and_transfers_match_model, 5,
      "random splits (up to 50 regions) and leader moves on 3 stores: data equals a model"),
    { 0 },
};
