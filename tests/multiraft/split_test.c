/*
 * Project 3B: region split on a quiet cluster, with a store cut off, with
 * a snapshot in flight, and with many regions per store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/expect.h"
#include "tests/harness/mr_cluster.h"

typedef struct {
    int calls, ok;
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

/* Proposes Get(key) on `store` for `region` as the client knows it. */
static void get_with_region(mr_cluster_t *m, int store, const Metapb__Region *region,
                            const char *key, answer_t *a, uint64_t wait_ms)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = region->id;
    hdr.region_epoch = region->region_epoch;
    RaftCmdpb__GetRequest get = RAFT_CMDPB__GET_REQUEST__INIT;
    get.key.data = (uint8_t *)key;
    get.key.len = strlen(key);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
    r.get = &get;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    peer_cb_t cb = { on_answer, a };
    store_propose(sim_store_of(m->c, store), &cmd, cb);
    sim_run_while(mr_sim(m), no_answer, a, sim_now(mr_sim(m)) + wait_ms);
}

static void put_many(mr_cluster_t *m, int from, int to, const char *tag)
{
    for (int i = from; i < to; i++) {
        char key[32], val[64];
        snprintf(key, sizeof(key), "k%03d", i);
        snprintf(val, sizeof(val), "%s-value-%03d-padding-padding", tag, i);
        mr_must_put(m, key, val);
    }
}

static void expect_many_on(mr_cluster_t *m, int store, int from, int to, const char *tag)
{
    for (int i = from; i < to; i++) {
        char key[32], val[64];
        snprintf(key, sizeof(key), "k%03d", i);
        snprintf(val, sizeof(val), "%s-value-%03d-padding-padding", tag, i);
        mr_must_get_on_store(m, store, key, val);
    }
}

/* TinyKV's TestOneSplit3B. */
static void test_one_split(void **state)
{
    (void)state;
    mr_cluster_opts_t o = { 0, 800, 500, 0 };
    mr_cluster_t *m = mr_cluster_new(5, 0, 321, &o);
    mr_must_put(m, "k1", "v1");
    mr_must_put(m, "k2", "v2");
    if (mr_leader_of(m, 1, 5000) == 5)
        mr_must_transfer_leader(m, 1, 1);
    sim_net_isolate(sim_cluster_net(m->c), 5);
    put_many(m, 100, 200, "a");
    mr_wait_for_regions(m, 2, 10000);
    sim_net_heal(sim_cluster_net(m->c));
    const Metapb__Region *left = mock_sched_region_by_key(m->sched, "k1", 2);
    const Metapb__Region *right = mock_sched_region_by_key(m->sched, "k2", 2);
    if (left == NULL || right == NULL || left->id == right->id)
        fail_msg("after 100 puts past the split size, k1 and k2 should be in different regions");
    if (left->start_key.len != 0 || right->end_key.len != 0)
        fail_msg("the first region should start at the empty key and the last end at the end");
    /* The left region, as the scheduler knows it, does not hold k2. */
    Metapb__Region *l = pb_region_dup(left);
    int leader = mr_leader_of(m, l->id, 5000);
    answer_t a = { 0 };
    get_with_region(m, leader, l, "k2", &a, 2000);
    const Errorpb__Error *e = a.resp && a.resp->header ? a.resp->header->error : NULL;
    if (e == NULL || e->key_not_in_region == NULL)
        fail_msg("a get of k2 in the left region (%llu) should fail with KeyNotInRegion; it got %s",
                 (unsigned long long)l->id,
                 a.calls == 0 ? "no answer"
                 : e == NULL  ? "a value"
                              : e->message);
    pb_free(a.resp);
    pb_free(l);
    /* The store cut off during the split catches up on every region. */
    mr_must_put(m, "k999", "v999");
    mr_must_get_on_store(m, 5, "k999", "v999");
    mr_must_get_on_store(m, 5, "k2", "v2");
    expect_many_on(m, 5, 100, 200, "a");
    mr_cluster_free(m);
}

/* A leader cut off before a split still believes in the old region; a
 * client that also still believes in it must not read the moved half's
 * old value from it. */
static void test_old_leader_cut_off_across_split(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 322, NULL);
    mr_must_transfer_leader(m, 1, 1);
    mr_must_put(m, "a", "old-a");
    mr_must_put(m, "x", "old-x");
    Metapb__Region *before = pb_region_dup(peer_region(mr_peer_of(m, 1, 1)));
    sim_net_isolate(sim_cluster_net(m->c), 1);
    int leader = 0;
    for (int tries = 0; tries < 50 && leader == 0; tries++) {
        sim_run_for(mr_sim(m), 100);
        for (int s = 2; s <= 3; s++)
            if (mr_peer_of(m, s, 1) && peer_is_leader(mr_peer_of(m, s, 1)))
                leader = s;
    }
    if (leader == 0)
        fail_msg("stores 2 and 3 elected no leader while store 1 was cut off");
    mr_must_split(m, "m");
    mr_must_put(m, "x", "new-x");
    answer_t a = { 0 };
    get_with_region(m, 1, before, "x", &a, 3000);
    if (a.calls > 0 && (a.resp->header == NULL || a.resp->header->error == NULL))
        fail_msg("the cut-off old leader answered a get of x in the old region (it was split "
                 "off and rewritten since): a stale read");
    sim_net_heal(sim_cluster_net(m->c));
    sim_run_for(mr_sim(m), 3000);
    if (a.calls > 0 && (a.resp->header == NULL || a.resp->header->error == NULL))
        fail_msg("after healing, the old leader's get of x in the old region succeeded: the "
                 "region no longer holds x, it must fail (EpochNotMatch or KeyNotInRegion)");
    pb_free(a.resp);
    pb_free(before);
    mr_must_get_on_store(m, 1, "x", "new-x");
    mr_cluster_free(m);
}

/* Store 3 falls behind past the log's truncation, then the region splits:
 * it must catch up on both halves (snapshots and the split, in whatever
 * order they arrive) without losing data. */
static void test_split_while_snapshot_in_flight(void **state)
{
    (void)state;
    mr_cluster_opts_t o = { 10, 0, 0, 0 };
    mr_cluster_t *m = mr_cluster_new(3, 0, 323, &o);
    mr_must_transfer_leader(m, 1, 1);
    put_many(m, 0, 20, "a");
    sim_net_isolate(sim_cluster_net(m->c), 3);
    put_many(m, 20, 80, "b");
    mr_must_split(m, "k050");
    put_many(m, 80, 100, "c");
    sim_net_heal(sim_cluster_net(m->c));
    expect_many_on(m, 3, 0, 20, "a");
    expect_many_on(m, 3, 20, 80, "b");
    expect_many_on(m, 3, 80, 100, "c");
    mr_must_have_peer(m, 3, mock_sched_region_by_key(m->sched, "k060", 4)->id);
    mr_cluster_free(m);
}

/* 55 regions on 3 stores; after every store restarts, each hosts all of them. */
static void test_restart_restores_many_regions(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 324, NULL);
    mr_leader_of(m, 1, 5000);
    for (int i = 1; i <= 54; i++) {
        char key[16];
        snprintf(key, sizeof(key), "r%03d", i);
        mr_must_put(m, key, key);
        mr_must_split(m, key);
    }
    mr_wait_for_regions(m, 55, 10000);
    sim_run_for(mr_sim(m), 1000);
    for (int s = 1; s <= 3; s++) {
        size_t before = store_n_regions(sim_store_of(m->c, s));
        if (before != 55)
            fail_msg("store %d should host all 55 regions before the restart; it hosts %zu", s,
                     before);
    }
    for (int s = 1; s <= 3; s++)
        expect_err(sim_cluster_restart(m->c, s), TKV_OK, "sim_cluster_restart(m->c, s)");
    for (int s = 1; s <= 3; s++) {
        size_t after = store_n_regions(sim_store_of(m->c, s));
        if (after != 55)
            fail_msg("store %d restored %zu regions after a restart; it hosted 55", s, after);
    }
    for (int i = 1; i <= 54; i += 7) {
        char key[16];
        snprintf(key, sizeof(key), "r%03d", i);
        char *v = mr_get(m, key);
        if (v == NULL || strcmp(v, key) != 0)
            fail_msg("after the restart, get %s should read %s; it read %s", key, key,
                     v ? v : "(nothing)");
        free(v);
    }
    mr_cluster_free(m);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3b", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t split_tests[] = {
    T(one_split, 5,
      "a region past its size splits; a store cut off catches up; a get on the wrong side fails "
      "with KeyNotInRegion"),
    T(old_leader_cut_off_across_split, 4,
      "a leader cut off across a split never serves the moved half's old value"),
    T(split_while_snapshot_in_flight, 4,
      "a store behind the log's truncation catches up on both halves of a split"),
    T(restart_restores_many_regions, 4, "a store restarted with 55 regions restores every one"),
    { 0 },
};
