/*
 * A proposal whose log slot went to another leader's entry (project 2B).
 *
 * A leader tracks each proposal by the index and the term its entry got.
 * If it is deposed before the entry commits, a new leader may fill that
 * index with an entry of its own. When the deposed leader learns of both at
 * once (one MsgAppend that raises its term, replaces the entry and commits
 * the slot, all handled in one Ready), the entry it applies at the index is
 * not its proposal: matching by index alone would answer the proposer OK for
 * a command that never applied. The term must match too.
 *
 * The simulator rarely puts the step-down and the commit in one Ready, so
 * this test drives one store by hand: it plays the other two stores' peers,
 * writing their Raft messages itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/store.h"
#include "tests/harness/test.h"

#define MAX_SENT 64

/* What the store sent, decoded (the test's). */
typedef struct {
    RaftServerpb__RaftMessage *msgs[MAX_SENT];
    size_t n;
} outbox_t;

static void capture(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    (void)to_store;
    outbox_t *o = arg;
    RaftServerpb__RaftMessage *m = raft_serverpb__raft_message__unpack(NULL, len, data);
    if (m != NULL && o->n < MAX_SENT)
        o->msgs[o->n++] = m;
    else if (m != NULL)
        pb_free(m);
}

static void outbox_clear(outbox_t *o)
{
    for (size_t i = 0; i < o->n; i++)
        pb_free(o->msgs[i]);
    o->n = 0;
}

/* The last message of `type` the store sent to peer `to`, or NULL. */
static const Eraftpb__Message *sent(const outbox_t *o, Eraftpb__MessageType type, uint64_t to)
{
    for (size_t i = o->n; i-- > 0;) {
        const Eraftpb__Message *m = o->msgs[i]->message;
        if (m != NULL && m->msg_type == type && o->msgs[i]->to_peer != NULL &&
            o->msgs[i]->to_peer->id == to)
            return m;
    }
    return NULL;
}

typedef struct {
    int calls, ok;
    char what[160]; /* the answer in words */
} answer_t;

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    answer_t *a = arg;
    a->calls++;
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e == NULL)
        a->ok++;
    snprintf(a->what, sizeof(a->what), "%s%s%s",
             e == NULL          ? "OK"
             : e->stale_command ? "StaleCommand"
             : e->not_leader    ? "NotLeader"
                                : "another error",
             e != NULL && e->message ? ": " : "", e != NULL && e->message ? e->message : "");
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

static Metapb__Region *three_peer_region(void)
{
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Peer p[3], *pp[3];
    for (int i = 0; i < 3; i++) {
        metapb__peer__init(&p[i]);
        p[i].id = (uint64_t)i + 1;
        p[i].store_id = (uint64_t)i + 1;
        pp[i] = &p[i];
    }
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = 1;
    r.region_epoch = &ep;
    r.n_peers = 3;
    r.peers = pp;
    return pb_region_dup(&r);
}

/* Steps Raft message `m` from peer (and store) `from` into store 1's peer. */
static tkv_err_t deliver(store_t *s, uint64_t from, Eraftpb__Message *m)
{
    Metapb__Peer src = METAPB__PEER__INIT, dst = METAPB__PEER__INIT;
    src.id = src.store_id = from;
    dst.id = dst.store_id = 1;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    m->from = from;
    m->to = 1;
    RaftServerpb__RaftMessage env = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    env.region_id = 1;
    env.from_peer = &src;
    env.to_peer = &dst;
    env.region_epoch = &ep;
    env.message = m;
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(&env.base, &bytes);
    tkv_err_t err = store_step(s, bytes.data, bytes.len);
    buf_free(&bytes);
    return err;
}

/* A packed Put key=val command for region 1 (the caller frees it). */
static void put_cmd(tkv_buf_t *out, const char *key, const char *val)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    put.key.data = (uint8_t *)key;
    put.key.len = strlen(key);
    put.value.data = (uint8_t *)val;
    put.value.len = strlen(val);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    r.put = &put;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    pb_pack(&cmd.base, out);
}

static void propose_put(store_t *s, const char *key, const char *val, answer_t *a)
{
    tkv_buf_t bytes = TKV_BUF_INIT;
    put_cmd(&bytes, key, val);
    RaftCmdpb__RaftCmdRequest *cmd =
        raft_cmdpb__raft_cmd_request__unpack(NULL, bytes.len, bytes.data);
    buf_free(&bytes);
    peer_cb_t cb = { on_answer, a };
    store_propose(s, cmd, cb);
    pb_free(cmd);
}

/* Makes store 1 leader with peer 2's votes (pre-vote first, if it asks);
 * returns its term, or 0 if it did not win. */
static uint64_t win_election(store_t *s, outbox_t *o)
{
    outbox_clear(o);
    if (store_campaign(s, 1) != TKV_OK)
        return 0;
    for (int round = 0; round < 3 && !peer_is_leader(store_peer(s, 1)); round++) {
        const Eraftpb__Message *pre = sent(o, ERAFTPB__MESSAGE_TYPE__MSG_PRE_VOTE, 2);
        const Eraftpb__Message *vote = sent(o, ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE, 2);
        const Eraftpb__Message *ask = vote != NULL ? vote : pre;
        if (ask == NULL)
            return 0;
        Eraftpb__Message grant = ERAFTPB__MESSAGE__INIT;
        grant.msg_type = vote != NULL ? ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE_RESPONSE
                                      : ERAFTPB__MESSAGE_TYPE__MSG_PRE_VOTE_RESPONSE;
        grant.term = ask->term;
        outbox_clear(o);
        if (deliver(s, 2, &grant) != TKV_OK)
            return 0;
    }
    return peer_is_leader(store_peer(s, 1)) ? peer_term(store_peer(s, 1)) : 0;
}

/* Peer 2 acknowledges everything in the last MsgAppend store 1 sent it;
 * returns the last index acknowledged, or 0 if there was none. */
static uint64_t ack_append(store_t *s, outbox_t *o, uint64_t term)
{
    const Eraftpb__Message *app = sent(o, ERAFTPB__MESSAGE_TYPE__MSG_APPEND, 2);
    if (app == NULL)
        return 0;
    uint64_t last = app->index + app->n_entries;
    Eraftpb__Message ack = ERAFTPB__MESSAGE__INIT;
    ack.msg_type = ERAFTPB__MESSAGE_TYPE__MSG_APPEND_RESPONSE;
    ack.term = term;
    ack.index = last;
    outbox_clear(o);
    return deliver(s, 2, &ack) == TKV_OK ? last : 0;
}

static void test_overwritten_slot_answers_stale(void **state)
{
    (void)state;
    char dir[256];
    tkv_tmpdir(dir, sizeof(dir));
    outbox_t o = { 0 };
    store_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.store_id = 1;
    cfg.data_dir = dir;
    cfg.peer = peer_config_default();
    cfg.peer.sync = 0;
    cfg.transport.send = capture;
    cfg.transport.arg = &o;
    store_t *s = NULL;
    if (store_open(&cfg, &s) != TKV_OK)
        fail_msg("could not open a store in %s: %s", dir, tkv_last_error());
    Metapb__Region *region = three_peer_region();
    tkv_err_t err = store_bootstrap_region(s, region);
    pb_free(region);
    if (err != TKV_OK)
        fail_msg("could not bootstrap region 1: %s", tkv_last_error());

    uint64_t term = win_election(s, &o);
    if (term == 0)
        fail_msg("store 1 did not become leader of region 1 with peer 2's vote "
                 "(a campaign, then a granted vote, must make a leader of 3 peers)");
    /* Peer 2 acknowledges the leader's first entry: it commits. */
    uint64_t first = ack_append(s, &o, term);
    if (first == 0)
        fail_msg("the new leader (term %llu) sent peer 2 no MsgAppend, or refused its answer",
                 (unsigned long long)term);

    answer_t a = { 0 };
    propose_put(s, "k", "from-old-leader", &a);
    const Eraftpb__Message *app = sent(&o, ERAFTPB__MESSAGE_TYPE__MSG_APPEND, 2);
    if (app == NULL || app->n_entries == 0 || a.calls != 0)
        fail_msg("the leader's Put was not sent to peer 2 as a MsgAppend, or was answered at "
                 "once (%d answers: %s)",
                 a.calls, a.what);
    uint64_t slot = app->entries[app->n_entries - 1]->index;
    if (slot != first + 1)
        fail_msg("the Put went to index %llu; want %llu, after the committed %llu",
                 (unsigned long long)slot, (unsigned long long)(first + 1),
                 (unsigned long long)first);

    /* Peer 2 became leader at term+1 (with peer 3) and committed its own
     * entry at that index. Its first append to store 1 says all of it. */
    tkv_buf_t data = TKV_BUF_INIT;
    put_cmd(&data, "k", "from-new-leader");
    Eraftpb__Entry ent = ERAFTPB__ENTRY__INIT, *ents[1] = { &ent };
    ent.term = term + 1;
    ent.index = slot;
    ent.data.data = data.data;
    ent.data.len = data.len;
    Eraftpb__Message m = ERAFTPB__MESSAGE__INIT;
    m.msg_type = ERAFTPB__MESSAGE_TYPE__MSG_APPEND;
    m.term = term + 1;
    m.index = first;
    m.log_term = term;
    m.entries = ents;
    m.n_entries = 1;
    m.commit = slot;
    outbox_clear(&o);
    err = deliver(s, 2, &m);
    buf_free(&data);
    if (err != TKV_OK)
        fail_msg("store 1 refused the new leader's MsgAppend: %s", tkv_last_error());

    peer_t *p = store_peer(s, 1);
    if (peer_is_leader(p) || peer_storage(p)->applied_index < slot)
        fail_msg("after a MsgAppend of term %llu committing index %llu, store 1 is %s with "
                 "applied index %llu; want a follower that applied index %llu",
                 (unsigned long long)(term + 1), (unsigned long long)slot,
                 peer_is_leader(p) ? "still leader" : "a follower",
                 (unsigned long long)peer_storage(p)->applied_index, (unsigned long long)slot);
    if (a.calls != 1 || a.ok != 0)
        fail_msg("the deposed leader's Put at index %llu (term %llu) lost its slot to the new "
                 "leader's entry (term %llu), committed and applied in the same Ready; its "
                 "proposer got %d answers (%s); want exactly one StaleCommand or NotLeader: "
                 "a proposal matches an applied entry only if index AND term are equal",
                 (unsigned long long)slot, (unsigned long long)term, (unsigned long long)(term + 1),
                 a.calls, a.calls ? a.what : "none");
    tkv_buf_t v = TKV_BUF_INIT;
    err = eng_get(store_kv_db(s), CF_DEFAULT, slice_of_str("k"), &v);
    int applied_new = err == TKV_OK && v.len == strlen("from-new-leader") &&
                      memcmp(v.data, "from-new-leader", v.len) == 0;
    buf_free(&v);
    if (!applied_new)
        fail_msg("store 1 does not hold k=from-new-leader: the entry committed at index %llu "
                 "is the new leader's, and it must be applied",
                 (unsigned long long)slot);
    store_close(s);
    outbox_clear(&o);
    tkv_rmdir(dir);
}

const tkv_test_t overwritten_slot_tests[] = {
    { "project2b", "overwritten_slot_answers_stale", 3,
      "a proposal whose slot another leader's entry took, seen in one Ready, is answered "
      "StaleCommand, never OK",
      test_overwritten_slot_answers_stale },
    { 0 },
};
