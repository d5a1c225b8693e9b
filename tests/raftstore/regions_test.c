/*
 * Two regions on the same three stores, split at "m": their logs, states,
 * data and snapshots must stay apart (keys.h keeps per-region keys; a
 * snapshot clears and fills only its own region's range).
 */
#include <stdio.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/kv_cluster.h"

typedef struct {
    int calls, ok;
} done_t;

static void on_done(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    done_t *d = arg;
    d->calls++;
    if (resp->header == NULL || resp->header->error == NULL)
        d->ok++;
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

static int waiting(void *arg)
{
    return ((done_t *)arg)->calls == 0;
}

static peer_t *peer_of(sim_cluster_t *c, int node, uint64_t region)
{
    store_t *s = sim_store_of(c, node);
    return s ? store_peer(s, region) : NULL;
}

/* The node leading `region` among the connected nodes, waiting for one. */
static int leader_of(sim_cluster_t *c, uint64_t region, int skip)
{
    sim_t *sim = sim_cluster_sim(c);
    for (int tries = 0; tries < 100; tries++) {
        for (int i = 1; i <= 3; i++) {
            peer_t *p = peer_of(c, i, region);
            if (i != skip && p != NULL && peer_is_leader(p))
                return i;
        }
        sim_run_for(sim, 50);
    }
    fail_msg("region %llu has no leader", (unsigned long long)region);
    return 0;
}

/* Puts key=value into `region` through its leader, retrying until it applies. */
static void put_in(sim_cluster_t *c, uint64_t region, const char *key, int skip)
{
    sim_t *sim = sim_cluster_sim(c);
    for (int attempt = 0; attempt < 20; attempt++) {
        RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
        hdr.region_id = region;
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
        done_t d = { 0, 0 };
        peer_cb_t cb = { on_done, &d };
        store_propose(sim_store_of(c, leader_of(c, region, skip)), &cmd, cb);
        sim_run_while(sim, waiting, &d, sim_now(sim) + 1000);
        if (d.ok)
            return;
    }
    fail_msg("put %s into region %llu never succeeded", key, (unsigned long long)region);
}

static int count_prefix(eng_t *kv, const char *prefix)
{
    int n = 0;
    eng_iter_t *it = eng_iter_new(kv, NULL, CF_DEFAULT);
    for (eng_iter_seek(it, slice_of_str(prefix)); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it);
        if (k.len < 1 || k.data[0] != (uint8_t)prefix[0])
            break;
        n++;
    }
    eng_iter_free(it);
    return n;
}

typedef struct {
    sim_cluster_t *c;
    int lagging, leader1, leader2;
} lag_t;

static int lagging_behind(void *arg)
{
    lag_t *l = arg;
    return peer_storage(peer_of(l->c, l->lagging, 1))->applied_index <
               peer_storage(peer_of(l->c, l->leader1, 1))->applied_index ||
           peer_storage(peer_of(l->c, l->lagging, 2))->applied_index <
               peer_storage(peer_of(l->c, l->leader2, 2))->applied_index;
}

static void two_regions(uint64_t seed, void *arg)
{
    (void)arg;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new_regions(3, 0, seed, 10, 2, &so);
    sim_t *sim = sim_cluster_sim(c);
    leader_of(c, 1, 0);
    leader_of(c, 2, 0);
    int lagging = 3;
    sim_net_isolate(sim_cluster_net(c), lagging);
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "a%03d", i);
        put_in(c, 1, key, lagging);
        snprintf(key, sizeof(key), "n%03d", i);
        put_in(c, 2, key, lagging);
    }
    sim_run_for(sim, 300);
    sim_net_heal(sim_cluster_net(c));
    lag_t l = { c, lagging, leader_of(c, 1, 0), leader_of(c, 2, 0) };
    if (!sim_run_while(sim, lagging_behind, &l, sim_now(sim) + 5000))
        fail_msg("store %d did not catch up with both regions", lagging);
    for (uint64_t r = 1; r <= 2; r++)
        if (peer_storage(peer_of(c, lagging, r))->snapshots_applied == 0)
            fail_msg("store %d caught up with region %llu without a snapshot", lagging,
                     (unsigned long long)r);
    for (int i = 1; i <= 3; i++) {
        eng_t *kv = store_kv_db(sim_store_of(c, i));
        if (count_prefix(kv, "a") != 40 || count_prefix(kv, "n") != 40)
            fail_msg("store %d holds %d keys of region 1 and %d of region 2, want 40 and 40", i,
                     count_prefix(kv, "a"), count_prefix(kv, "n"));
    }
    sim_cluster_free(c);
}

static void test_regions_stay_apart(void **state)
{
    (void)state;
    tkv_for_each_seed(601, two_regions, NULL);
}

const tkv_test_t regions_tests[] = {
    { "project2c", "regions_stay_apart", 4,
      "two regions on the same stores keep their logs, data and snapshots apart",
      test_regions_stay_apart, 60 },
    { 0 },
};
