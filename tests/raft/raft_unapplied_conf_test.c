/*
 * A node must not campaign while a committed conf change is unapplied (3A).
 *
 * Membership changes take effect when applied, so between commit and apply a
 * node still counts votes with the old membership. The scenario (issue 10):
 * {1,2,3}; the leader adds 4, then 5; an entry X commits at index 4 with
 * {1,4,5}. Node 2 has both changes committed but applied neither: it still
 * counts {1,2,3}, and a win with {2,3} would let it commit its own entry at
 * index 4, beside X. RawNode allows exactly this: a node crashes after
 * persisting a Ready (commit 3) but before applying it, restarts, and ticks
 * or gets MsgTimeoutNow before its first Ready.
 *
 * Here node 2 is rebuilt as it restarts: log 1 (normal), 2 (add 4), 3 (add
 * 5), all committed, only index 1 applied.
 */
#include <stdlib.h>

#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raft/rawnode.h"
#include "tests/harness/expect.h"
#include "tests/raft/raft_helpers.h"

static void append_conf_change(mem_storage_t *ms, uint64_t index, uint64_t node)
{
    raft_conf_change_t cc = { RAFT_CONF_ADD_NODE, node, NULL, 0 };
    raft_entry_t e = { RAFT_ENTRY_CONF_CHANGE, 1, index, NULL, 0 };
    expect_err(raft_pb_encode_conf_change(&cc, &e.data, &e.len), TKV_OK,
               "raft_pb_encode_conf_change(&cc, &e.data, &e.len)");
    expect_err(mem_storage_append(ms, &e, 1), TKV_OK, "mem_storage_append(ms, &e, 1)");
    free(e.data);
}

/* Node 2 restarting with adds of 4 and 5 committed, applied up to 1. */
static rawnode_t *restart_with_unapplied_changes(mem_storage_t **ms_out)
{
    mem_storage_t *ms = mem_storage_new();
    raft_entry_t first = { RAFT_ENTRY_NORMAL, 1, 1, NULL, 0 };
    expect_err(mem_storage_append(ms, &first, 1), TKV_OK, "mem_storage_append(ms, &first, 1)");
    append_conf_change(ms, 2, 4);
    append_conf_change(ms, 3, 5);
    raft_hard_state_t hs = { 1, 1, 3 };
    mem_storage_set_hard_state(ms, &hs);
    uint64_t nodes[] = { 1, 2, 3 };
    raft_conf_state_t cs = { nodes, 3 };
    mem_storage_set_conf_state(ms, &cs);

    raft_config_t cfg = { 0 };
    cfg.id = 2;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    cfg.applied = 1;
    rawnode_t *rn = NULL;
    if (rawnode_new(&cfg, &rn) != TKV_OK)
        fail_msg("rawnode_new: %s", tkv_last_error());
    *ms_out = ms;
    return rn;
}

/* The vote requests queued in r (and drops every queued message). */
static size_t take_vote_requests(raft_t *r)
{
    size_t n = 0, votes = 0;
    raft_message_t *msgs = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        votes += msgs[i].type == RAFT_MSG_REQUEST_VOTE;
    rt_free_msgs(msgs, n);
    return votes;
}

static void check_did_not_campaign(raft_t *r, const char *after)
{
    size_t votes = take_vote_requests(r);
    if (r->role != RAFT_FOLLOWER || r->term != 1 || votes != 0)
        fail_msg("after %s, node 2 with committed but unapplied conf changes must stay a "
                 "follower at term 1 and ask nobody for votes; it is a %s at term %llu and "
                 "sent %zu vote requests",
                 after, raft_role_name(r->role), (unsigned long long)r->term, votes);
}

/* Applies everything in the pending Ready, conf changes included. */
static void apply_ready(rawnode_t *rn, mem_storage_t *ms)
{
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_u64(rd.n_committed_entries, 2,
               "committed entries in the Ready (the no-op and the conf change)");
    if (rd.n_entries > 0)
        expect_err(mem_storage_append(ms, rd.entries, rd.n_entries), TKV_OK,
                   "mem_storage_append(ms, rd.entries, rd.n_entries)");
    for (size_t i = 0; i < rd.n_committed_entries; i++) {
        const raft_entry_t *e = &rd.committed_entries[i];
        if (e->type != RAFT_ENTRY_CONF_CHANGE)
            continue;
        raft_conf_change_t cc;
        expect_err(raft_pb_decode_conf_change(e->data, e->len, &cc), TKV_OK,
                   "raft_pb_decode_conf_change(e->data, e->len, &cc)");
        expect_err(rawnode_apply_conf_change(rn, &cc, NULL), TKV_OK,
                   "rawnode_apply_conf_change(rn, &cc, NULL)");
        raft_conf_change_free(&cc);
    }
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
}

static void test_no_campaign_on_timeout_with_unapplied_conf_change(void **state)
{
    (void)state;
    mem_storage_t *ms = NULL;
    rawnode_t *rn = restart_with_unapplied_changes(&ms);
    raft_t *r = rn->raft;
    /* Two full timeouts: the randomized one is below 2 * election_tick. */
    for (int i = 0; i < 20; i++)
        rawnode_tick(rn);
    check_did_not_campaign(r, "20 ticks");
    /* A stray grant for term 2 must not make it a leader either. */
    raft_message_t grant = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 3, 2, 2);
    expect_err(rawnode_step(rn, &grant), TKV_OK, "rawnode_step(rn, &grant)");
    if (r->role == RAFT_LEADER)
        fail_msg("node 2 became leader of term 2 from one vote while counting the "
                 "membership {1,2,3} it is about to leave");
    rt_clear(r);

    /* Once the changes are applied it counts {1,2,3,4,5} and campaigns. */
    apply_ready(rn, ms);
    for (int i = 0; i < 20 && r->role == RAFT_FOLLOWER; i++)
        rawnode_tick(rn);
    size_t votes = take_vote_requests(r);
    if (r->role != RAFT_CANDIDATE || votes != 4)
        fail_msg("after applying the adds of 4 and 5, node 2 should campaign and ask the 4 "
                 "others of {1,2,3,4,5}; it is a %s and sent %zu vote requests",
                 raft_role_name(r->role), votes);
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_no_campaign_on_timeout_now_with_unapplied_conf_change(void **state)
{
    (void)state;
    mem_storage_t *ms = NULL;
    rawnode_t *rn = restart_with_unapplied_changes(&ms);
    raft_t *r = rn->raft;
    raft_message_t tn = rt_msg(RAFT_MSG_TIMEOUT_NOW, 1, 2, 1);
    expect_err(rawnode_step(rn, &tn), TKV_OK, "rawnode_step(rn, &tn)");
    check_did_not_campaign(r, "MsgTimeoutNow");

    apply_ready(rn, ms);
    expect_err(rawnode_step(rn, &tn), TKV_OK, "rawnode_step(rn, &tn)");
    size_t votes = take_vote_requests(r);
    if (r->role != RAFT_CANDIDATE || votes != 4)
        fail_msg("after applying the adds, MsgTimeoutNow should make node 2 campaign among "
                 "{1,2,3,4,5}; it is a %s and sent %zu vote requests",
                 raft_role_name(r->role), votes);
    rawnode_free(rn);
    mem_storage_free(ms);
}

const tkv_test_t raft_unapplied_conf_tests[] = {
    { "project3a", "no_campaign_on_timeout_with_unapplied_conf_change", 3,
      "a node with a committed, unapplied conf change does not campaign when its timer fires",
      test_no_campaign_on_timeout_with_unapplied_conf_change },
    { "project3a", "no_campaign_on_timeout_now_with_unapplied_conf_change", 2,
      "a node with a committed, unapplied conf change ignores MsgTimeoutNow until it applies",
      test_no_campaign_on_timeout_now_with_unapplied_conf_change },
    { 0 },
};
