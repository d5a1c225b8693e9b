/*
 * Project 3B: what a store must tell the scheduler, and refuse, right after
 * a region changes.
 *
 * A region leader heartbeats the scheduler every heartbeat_tick ticks, but
 * a split or a conf change must be reported at once (the next tick): until
 * then the scheduler routes clients and plans operators on a region that no
 * longer exists. The tests here run with a periodic heartbeat so rare that
 * only the reports a change triggers can arrive in time.
 *
 * And every data request names a key the region must hold: Delete as much
 * as Get and Put.
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/mr_cluster.h"

/* Periodic heartbeats this rare never come within a test. */
#define RARE_HEARTBEAT 1000000
/* How long a triggered report may take (a tick is 10 ms of virtual time). */
#define REPORT_MS 200

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

/* Proposes `cmd` on `store` and waits (bounded) for its answer; the answer's
 * error, or NULL on success. */
static const Errorpb__Error *run_cmd(mr_cluster_t *m, int store, RaftCmdpb__RaftCmdRequest *cmd,
                                     answer_t *a, const char *what)
{
    a->calls = 0;
    peer_cb_t cb = { on_answer, a };
    store_propose(sim_store_of(m->c, store), cmd, cb);
    sim_run_while(mr_sim(m), no_answer, a, sim_now(mr_sim(m)) + 2000);
    if (a->calls == 0)
        fail_msg("%s on store %d got no answer in 2 s", what, store);
    return a->resp->header ? a->resp->header->error : NULL;
}

static int same_key(ProtobufCBinaryData k, const char *want)
{
    /* An empty key may have no data pointer at all. */
    return k.len == strlen(want) && (k.len == 0 || memcmp(k.data, want, k.len) == 0);
}

/* Whether the scheduler knows region `id` as [start, end). */
static int sched_knows(mr_cluster_t *m, uint64_t id, const char *start, const char *end)
{
    const Metapb__Region *r = mock_sched_region_by_id(m->sched, id);
    return r != NULL && same_key(r->start_key, start) && same_key(r->end_key, end);
}

typedef struct {
    mr_cluster_t *m;
    uint64_t right;
} split_wait_t;

static int split_unknown(void *arg)
{
    split_wait_t *w = arg;
    return !sched_knows(w->m, 1, "", "m") || !sched_knows(w->m, w->right, "m", "");
}

static void describe_sched(mr_cluster_t *m, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < mock_sched_n_regions(m->sched) && used + 1 < size; i++) {
        const Metapb__Region *r = mock_sched_region_at(m->sched, i);
        int n = snprintf(out + used, size - used, "%sregion %llu [%.*s, %.*s)", i ? ", " : "",
                         (unsigned long long)r->id, (int)r->start_key.len,
                         (const char *)r->start_key.data, (int)r->end_key.len,
                         (const char *)r->end_key.data);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, size, "no region");
}

/* Both halves of a split reach the scheduler within a few ticks, without
 * waiting for the periodic heartbeat. */
static void test_split_reported_at_once(void **state)
{
    (void)state;
    mr_cluster_opts_t o = { 0 };
    o.heartbeat_tick = RARE_HEARTBEAT;
    mr_cluster_t *m = mr_cluster_new(3, 0, 331, &o);
    if (mr_leader_of(m, 1, 5000) == 0)
        fail_msg("region 1 elected no leader in 5 s");
    mr_must_put(m, "a", "1");
    mr_must_put(m, "x", "2");
    mr_must_split(m, "m");
    /* The new region's id: the region some store hosts starting at m. */
    uint64_t right_id = 0;
    for (int st = 1; st <= 3 && right_id == 0; st++) {
        peer_t *p = store_region_by_key(sim_store_of(m->c, st), slice_of_str("m"));
        if (p != NULL && same_key(peer_region(p)->start_key, "m"))
            right_id = peer_region_id(p);
    }
    if (right_id == 0)
        fail_msg("after the split at m no store hosts a region starting at m");
    split_wait_t w = { m, right_id };
    sim_run_while(mr_sim(m), split_unknown, &w, sim_now(mr_sim(m)) + REPORT_MS);
    if (split_unknown(&w)) {
        char seen[512];
        describe_sched(m, seen, sizeof(seen));
        fail_msg("%d ms after the split at m applied, the scheduler knows %s; want region 1 "
                 "as [, m) and region %llu as [m, ): a split is reported by heartbeat at "
                 "the next tick (mr_report_soon), not at the periodic one",
                 REPORT_MS, seen, (unsigned long long)right_id);
    }
    mr_cluster_free(m);
}

static RaftCmdpb__RaftCmdRequest *change_peer_cmd(const Metapb__Region *region,
                                                  Eraftpb__ConfChangeType type,
                                                  const Metapb__Peer *peer)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = region->id;
    hdr.region_epoch = region->region_epoch;
    RaftCmdpb__ChangePeerRequest cp = RAFT_CMDPB__CHANGE_PEER_REQUEST__INIT;
    cp.change_type = type;
    cp.peer = (Metapb__Peer *)peer;
    RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
    admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER;
    admin.change_peer = &cp;
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.admin_request = &admin;
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(&cmd.base, &bytes);
    RaftCmdpb__RaftCmdRequest *out =
        raft_cmdpb__raft_cmd_request__unpack(NULL, bytes.len, bytes.data);
    buf_free(&bytes);
    return out;
}

typedef struct {
    mr_cluster_t *m;
    uint64_t gone_store;
} remove_wait_t;

static int removal_unknown(void *arg)
{
    remove_wait_t *w = arg;
    const Metapb__Region *r = mock_sched_region_by_id(w->m->sched, 1);
    return r == NULL || pb_region_peer_on_store(r, w->gone_store) != NULL;
}

/* A conf change reaches the scheduler within a few ticks too. */
static void test_conf_change_reported_at_once(void **state)
{
    (void)state;
    mr_cluster_opts_t o = { 0 };
    o.heartbeat_tick = RARE_HEARTBEAT;
    mr_cluster_t *m = mr_cluster_new(3, 0, 332, &o);
    int leader = mr_leader_of(m, 1, 5000);
    if (leader == 0)
        fail_msg("region 1 elected no leader in 5 s");
    mr_must_put(m, "a", "1");
    leader = mr_leader_of(m, 1, 5000);
    int follower = leader % 3 + 1;
    const Metapb__Region *region = peer_region(mr_peer_of(m, leader, 1));
    const Metapb__Peer *fp = pb_region_peer_on_store(region, (uint64_t)follower);
    if (fp == NULL)
        fail_msg("region 1 has no peer on store %d", follower);
    Metapb__Peer victim = METAPB__PEER__INIT;
    victim.id = fp->id;
    victim.store_id = fp->store_id;
    RaftCmdpb__RaftCmdRequest *cmd =
        change_peer_cmd(region, ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE, &victim);
    answer_t a = { 0 };
    const Errorpb__Error *e = run_cmd(m, leader, cmd, &a, "a ChangePeer removing a follower");
    pb_free(cmd);
    if (e != NULL)
        fail_msg("removing store %d's peer of region 1 on its leader (store %d) failed: %s",
                 follower, leader, e->message);
    pb_free(a.resp);
    remove_wait_t w = { m, (uint64_t)follower };
    sim_run_while(mr_sim(m), removal_unknown, &w, sim_now(mr_sim(m)) + REPORT_MS);
    if (removal_unknown(&w))
        fail_msg("%d ms after removing store %d's peer from region 1, the scheduler still "
                 "lists it; want the new membership reported by heartbeat at the next tick "
                 "(mr_report_soon), not at the periodic one",
                 REPORT_MS, follower);
    mr_cluster_free(m);
}

/* A Delete of a key outside the region is refused like a Put: on the
 * region's leader, with the current epoch, it gets KeyNotInRegion and the
 * key (another region's) keeps its value. */
static void test_delete_outside_region_refused(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 333, NULL);
    if (mr_leader_of(m, 1, 5000) == 0)
        fail_msg("region 1 elected no leader in 5 s");
    mr_must_put(m, "x", "kept");
    mr_must_split(m, "m");
    int leader = mr_leader_of(m, 1, 5000);
    const Metapb__Region *region = peer_region(mr_peer_of(m, leader, 1));
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    hdr.region_epoch = region->region_epoch;
    RaftCmdpb__DeleteRequest d = RAFT_CMDPB__DELETE_REQUEST__INIT;
    d.key.data = (uint8_t *)"x";
    d.key.len = 1;
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_DELETE;
    r.delete_ = &d;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    answer_t a = { 0 };
    const Errorpb__Error *e = run_cmd(m, leader, &cmd, &a, "a Delete of x in region 1");
    if (e == NULL || e->key_not_in_region == NULL)
        fail_msg("a Delete of x (past the split key m) sent to region 1 with its current epoch "
                 "got %s; want KeyNotInRegion: every Get, Put and Delete key must be in the "
                 "region",
                 e == NULL ? "success" : e->message);
    pb_free(a.resp);
    char *v = mr_get(m, "x");
    if (v == NULL || strcmp(v, "kept") != 0)
        fail_msg("after a refused Delete of x in region 1, x reads %s; want \"kept\"",
                 v ? v : "(nothing)");
    free(v);
    mr_cluster_free(m);
}

const tkv_test_t region_report_tests[] = {
    { "project3b", "split_reported_at_once", 3,
      "both halves of a split reach the scheduler at the next tick, not the periodic heartbeat",
      test_split_reported_at_once },
    { "project3b", "conf_change_reported_at_once", 3,
      "a conf change reaches the scheduler at the next tick, not the periodic heartbeat",
      test_conf_change_reported_at_once },
    { "project3b", "delete_outside_region_refused", 3,
      "a Delete of a key outside the region is refused with KeyNotInRegion",
      test_delete_outside_region_refused },
    { 0 },
};
