/*
 * Joint consensus and learners (project3x, raft_joint.c). Most tests apply
 * a ConfChangeV2 straight to a node, as its application would once the
 * entry commits, and then check who counts in commits and elections.
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raft/raft_pb.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

static raft_conf_change_v2_t v2(raft_conf_transition_t t, const raft_conf_change_single_t *c,
                                size_t n)
{
    raft_conf_change_v2_t cc = { t, (raft_conf_change_single_t *)c, n, NULL, 0 };
    return cc;
}

static void apply_ok(raft_t *r, raft_conf_change_v2_t cc)
{
    if (raft_apply_conf_change_v2(r, &cc) != TKV_OK)
        fail_msg("applying the conf change on node %llu: %s", (unsigned long long)r->id,
                 tkv_last_error());
}

static raft_message_t ack(uint64_t from, uint64_t term, uint64_t index)
{
    raft_message_t m = rt_msg(RAFT_MSG_APPEND_RESPONSE, from, 1, term);
    m.index = index;
    return m;
}

static const raft_conf_change_single_t add4_add5_remove3[] = { { RAFT_CONF_ADD_NODE, 4 },
                                                               { RAFT_CONF_ADD_NODE, 5 },
                                                               { RAFT_CONF_REMOVE_NODE, 3 } };

/* Leader 1 of {1,2,3} in the joint configuration {1,2,4,5} & {1,2,3}. */
static raft_t *joint_leader(void)
{
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_step(r, ack(2, 1, 1));
    rt_step(r, ack(3, 1, 1));
    expect_u64(r->log.committed, 1, "leader 1's commit index after acks of index 1 from 2 and 3");
    apply_ok(r, v2(RAFT_TRANSITION_JOINT_EXPLICIT, add4_add5_remove3, 3));
    rt_clear(r);
    return r;
}

static void test_joint_commit_needs_both_halves(void **state)
{
    (void)state;
    raft_t *r = joint_leader();
    raft_conf_state_t cs;
    memset(&cs, 0, sizeof(cs));
    prs_conf_state(&r->prs, &cs);
    if (cs.n_nodes != 4 || cs.n_voters_outgoing != 3)
        fail_msg("entering the joint configuration: incoming voters {1,2,4,5} and outgoing "
                 "{1,2,3} expected, got %zu incoming and %zu outgoing",
                 cs.n_nodes, cs.n_voters_outgoing);
    raft_conf_state_free(&cs);
    rt_propose(r, "x"); /* index 2 */
    /* 1, 4, 5: a majority of the incoming voters, not of the outgoing. */
    rt_step(r, ack(4, 1, 2));
    rt_step(r, ack(5, 1, 2));
    if (r->log.committed != 1)
        fail_msg("acks from 1, 4 and 5 are a majority of {1,2,4,5} but not of {1,2,3}: index 2 "
                 "must not commit while joint (commit is %llu)",
                 (unsigned long long)r->log.committed);
    rt_step(r, ack(2, 1, 2));
    if (r->log.committed != 2)
        fail_msg("with 2 as well both halves have a majority: index 2 should commit (commit is "
                 "%llu)",
                 (unsigned long long)r->log.committed);
    /* And the other way round: 1, 2, 3 is no majority of {1,2,4,5}. */
    rt_propose(r, "y"); /* index 3 */
    rt_step(r, ack(2, 1, 3));
    rt_step(r, ack(3, 1, 3));
    if (r->log.committed != 2)
        fail_msg("acks from 1, 2 and 3 are no majority of {1,2,4,5}: index 3 must wait");
    rt_free_raft(r);
}

static void test_joint_election_needs_both_halves(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    raft_t *r = rt_raft(1, 3, NULL);
    apply_ok(r, v2(RAFT_TRANSITION_JOINT_EXPLICIT, add4_add5_remove3, 3));
    raft_message_t hup = rt_msg(RAFT_MSG_HUP, 1, 1, 0);
    rt_step(r, hup);
    expect_role(r, RAFT_CANDIDATE, "node 1 after MsgHup in the joint config {1,2,3}&&{1,2,4,5}");
    rt_step(r, rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 4, 1, r->term));
    rt_step(r, rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 5, 1, r->term));
    if (r->role == RAFT_LEADER)
        fail_msg("votes of 1, 4 and 5 win {1,2,4,5} but not {1,2,3}: no leader yet while joint");
    rt_step(r, rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 3, 1, r->term));
    if (r->role != RAFT_LEADER)
        fail_msg("with 3's vote both halves have a majority: node 1 should lead, it is a %s",
                 raft_role_name(r->role));
    rt_free_raft(r);
}

static void test_joint_leave(void **state)
{
    (void)state;
    raft_t *r = joint_leader();
    apply_ok(r, v2(RAFT_TRANSITION_AUTO, NULL, 0));
    if (prs_is_joint(&r->prs) || prs_find(&r->prs, 3) != NULL)
        fail_msg("after leaving the joint configuration only {1,2,4,5} should remain; joint %d, "
                 "node 3 %s",
                 prs_is_joint(&r->prs), prs_find(&r->prs, 3) ? "still there" : "gone");
    rt_propose(r, "x");
    rt_step(r, ack(4, 1, 2));
    rt_step(r, ack(5, 1, 2));
    if (r->log.committed != 2)
        fail_msg("1, 4 and 5 are a majority of {1,2,4,5} once joint is over: index 2 should "
                 "commit (commit is %llu)",
                 (unsigned long long)r->log.committed);
    /* Leaving twice is a mistake. */
    raft_conf_change_v2_t again = v2(RAFT_TRANSITION_AUTO, NULL, 0);
    expect_err(raft_apply_conf_change_v2(r, &again), TKV_ERR_INVALID,
               "raft_apply_conf_change_v2(r, &again)");
    rt_free_raft(r);
}

static const raft_conf_change_single_t learner4[] = { { RAFT_CONF_ADD_LEARNER_NODE, 4 } };
static const raft_conf_change_single_t voter4[] = { { RAFT_CONF_ADD_NODE, 4 } };

static void test_learner_gets_log_never_counts(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    apply_ok(r, v2(RAFT_TRANSITION_AUTO, learner4, 1));
    rt_make_leader(r);
    size_t n, to4 = 0;
    raft_message_t *msgs = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        to4 += msgs[i].to == 4 && msgs[i].type == RAFT_MSG_APPEND;
    rt_free_msgs(msgs, n);
    if (to4 != 1)
        fail_msg("learner 4 should get the leader's appends like any member (got %zu)", to4);
    rt_step(r, ack(4, r->term, 1));
    if (r->log.committed != 0)
        fail_msg("an ack from learner 4 must not count: 1 and 4 are no majority of the voters "
                 "{1,2,3} (commit is %llu)",
                 (unsigned long long)r->log.committed);
    rt_step(r, ack(2, r->term, 1));
    expect_u64(
        r->log.committed, 1,
        "leader 1's commit index after an ack from voter 2 (1 and 2 are a majority of {1,2,3})");
    rt_free_raft(r);

    /* The learner itself never campaigns. */
    raft_t *l = rt_raft(4, 3, NULL);
    apply_ok(l, v2(RAFT_TRANSITION_AUTO, learner4, 1));
    rt_tick_n(l, 100);
    size_t k, votes = 0;
    raft_message_t *out = rt_take(l, &k);
    for (size_t i = 0; i < k; i++)
        votes += out[i].type == RAFT_MSG_REQUEST_VOTE;
    rt_free_msgs(out, k);
    if (l->role != RAFT_FOLLOWER || l->term != 0 || votes != 0)
        fail_msg("learner 4 must never campaign; after 100 ticks it is a %s at term %llu and "
                 "sent %zu vote requests",
                 raft_role_name(l->role), (unsigned long long)l->term, votes);
    rt_free_raft(l);
}

static void test_learner_promotion(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    apply_ok(r, v2(RAFT_TRANSITION_AUTO, learner4, 1));
    apply_ok(r, v2(RAFT_TRANSITION_AUTO, voter4, 1));
    raft_progress_t *p4 = prs_find(&r->prs, 4);
    if (p4 == NULL || !p4->voter || p4->learner || prs_is_joint(&r->prs))
        fail_msg("adding learner 4 as a voter promotes it in one simple step (no joint "
                 "configuration: one voter changes)");
    rt_make_leader(r);
    rt_clear(r);
    rt_step(r, ack(4, r->term, 1));
    rt_step(r, ack(2, r->term, 1));
    if (r->log.committed != 1)
        fail_msg("promoted 4 counts: 1, 2 and 4 are a majority of {1,2,3,4} (commit %llu)",
                 (unsigned long long)r->log.committed);
    rt_free_raft(r);
}

static void test_conf_change_leaving_no_voter_refused(void **state)
{
    (void)state;
    static const raft_conf_change_single_t all_out[] = { { RAFT_CONF_REMOVE_NODE, 1 },
                                                         { RAFT_CONF_REMOVE_NODE, 2 },
                                                         { RAFT_CONF_REMOVE_NODE, 3 },
                                                         { RAFT_CONF_ADD_LEARNER_NODE, 4 } };
    raft_t *r = rt_raft(1, 3, NULL);
    raft_conf_change_v2_t cc = v2(RAFT_TRANSITION_AUTO, all_out, 4);
    tkv_err_t err = raft_apply_conf_change_v2(r, &cc);
    if (err != TKV_ERR_INVALID || prs_find(&r->prs, 1) == NULL || prs_find(&r->prs, 4) != NULL)
        fail_msg("a change removing every voter must be refused with TKV_ERR_INVALID and change "
                 "nothing (got %s)",
                 tkv_err_name(err));
    rt_free_raft(r);

    /* And at the door: a leader does not even log it. */
    mem_storage_t *ms = mem_storage_new();
    uint64_t one = 1;
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.peers = &one;
    cfg.n_peers = 1;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    expect_err(rawnode_campaign(rn), TKV_OK, "rawnode_campaign(rn)");
    uint64_t last = rlog_last_index(&rn->raft->log);
    static const raft_conf_change_single_t out1[] = { { RAFT_CONF_REMOVE_NODE, 1 } };
    raft_conf_change_v2_t cc1 = v2(RAFT_TRANSITION_AUTO, out1, 1);
    err = rawnode_propose_conf_change_v2(rn, &cc1);
    if (err != TKV_ERR_INVALID || rlog_last_index(&rn->raft->log) != last)
        fail_msg("proposing the removal of the only voter must fail with TKV_ERR_INVALID and "
                 "append nothing (got %s)",
                 tkv_err_name(err));
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_joint_auto_leave(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    uint64_t one = 1;
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.peers = &one;
    cfg.n_peers = 1;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    expect_err(rawnode_campaign(rn), TKV_OK, "rawnode_campaign(rn)");
    /* {1} -> {1,2,3}: two voters at once, so joint, left by the leader. */
    static const raft_conf_change_single_t add23[] = { { RAFT_CONF_ADD_NODE, 2 },
                                                       { RAFT_CONF_ADD_NODE, 3 } };
    raft_conf_change_v2_t cc = v2(RAFT_TRANSITION_AUTO, add23, 2);
    expect_err(rawnode_propose_conf_change_v2(rn, &cc), TKV_OK,
               "rawnode_propose_conf_change_v2(rn, &cc)");
    int entered = 0, leave_proposed = 0;
    for (int round = 0; round < 3 && !leave_proposed; round++) {
        raft_ready_t rd;
        expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
        expect_err(mem_storage_append(ms, rd.entries, rd.n_entries), TKV_OK,
                   "mem_storage_append(ms, rd.entries, rd.n_entries)");
        for (size_t i = 0; i < rd.n_entries; i++) {
            const raft_entry_t *e = &rd.entries[i];
            if (entered && e->type == RAFT_ENTRY_CONF_CHANGE_V2) {
                raft_conf_change_v2_t got;
                expect_err(raft_pb_decode_conf_change_v2(e->data, e->len, &got), TKV_OK,
                           "raft_pb_decode_conf_change_v2(e->data, e->len, &got)");
                leave_proposed = got.n_changes == 0;
                raft_conf_change_v2_free(&got);
            }
        }
        for (size_t i = 0; i < rd.n_committed_entries; i++) {
            const raft_entry_t *e = &rd.committed_entries[i];
            if (e->type != RAFT_ENTRY_CONF_CHANGE_V2)
                continue;
            raft_conf_change_v2_t got;
            expect_err(raft_pb_decode_conf_change_v2(e->data, e->len, &got), TKV_OK,
                       "raft_pb_decode_conf_change_v2(e->data, e->len, &got)");
            expect_err(rawnode_apply_conf_change_v2(rn, &got, NULL), TKV_OK,
                       "rawnode_apply_conf_change_v2(rn, &got, NULL)");
            entered = entered || got.n_changes > 0;
            raft_conf_change_v2_free(&got);
        }
        rawnode_advance(rn, &rd);
        raft_ready_free(&rd);
    }
    if (!entered || !prs_is_joint(&rn->raft->prs))
        fail_msg("adding 2 and 3 at once should enter a joint configuration {1,2,3} & {1}");
    if (!leave_proposed) {
        /* The leaving entry may be in the next Ready. */
        size_t n = 0;
        const raft_entry_t *u = rlog_unstable_entries(&rn->raft->log, &n);
        for (size_t i = 0; i < n; i++)
            leave_proposed = leave_proposed || u[i].type == RAFT_ENTRY_CONF_CHANGE_V2;
    }
    if (!leave_proposed)
        fail_msg("with the AUTO transition, the leader should propose leaving the joint "
                 "configuration (an empty ConfChangeV2) once it applied the first");
    rawnode_free(rn);
    mem_storage_free(ms);
}

/* One Ready of rn: persisted, committed entries applied (conf changes
 * included), advanced. Returns whether its new entries hold a ConfChangeV2
 * that leaves a joint configuration. */
static int ready_round(rawnode_t *rn, mem_storage_t *ms)
{
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    if (!raft_hard_state_is_empty(&rd.hard_state))
        mem_storage_set_hard_state(ms, &rd.hard_state);
    expect_err(mem_storage_append(ms, rd.entries, rd.n_entries), TKV_OK,
               "mem_storage_append(ms, rd.entries, rd.n_entries)");
    int leave = 0;
    for (size_t i = 0; i < rd.n_entries; i++) {
        const raft_entry_t *e = &rd.entries[i];
        if (e->type != RAFT_ENTRY_CONF_CHANGE_V2)
            continue;
        raft_conf_change_v2_t got;
        expect_err(raft_pb_decode_conf_change_v2(e->data, e->len, &got), TKV_OK,
                   "raft_pb_decode_conf_change_v2(e->data, e->len, &got)");
        leave = leave || got.n_changes == 0;
        raft_conf_change_v2_free(&got);
    }
    for (size_t i = 0; i < rd.n_committed_entries; i++) {
        const raft_entry_t *e = &rd.committed_entries[i];
        if (e->type != RAFT_ENTRY_CONF_CHANGE_V2)
            continue;
        raft_conf_change_v2_t got;
        expect_err(raft_pb_decode_conf_change_v2(e->data, e->len, &got), TKV_OK,
                   "raft_pb_decode_conf_change_v2(e->data, e->len, &got)");
        expect_err(rawnode_apply_conf_change_v2(rn, &got, NULL), TKV_OK,
                   "rawnode_apply_conf_change_v2(rn, &got, NULL)");
        raft_conf_change_v2_free(&got);
    }
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    return leave;
}

/* Node 1 restarting from storage whose configuration is cs, and leading. */
static rawnode_t *restart_and_lead(mem_storage_t *ms, const raft_conf_state_t *cs, uint64_t voter)
{
    mem_storage_set_conf_state(ms, cs);
    raft_hard_state_t hs = { 1, 0, 0 }; /* term 1, no vote, nothing committed */
    mem_storage_set_hard_state(ms, &hs);
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    expect_err(rawnode_campaign(rn), TKV_OK, "rawnode_campaign(rn)");
    raft_message_t grant = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, voter, 1, rn->raft->term);
    expect_err(rawnode_step(rn, &grant), TKV_OK, "rawnode_step(rn, &grant)");
    if (rn->raft->role != RAFT_LEADER)
        fail_msg("node 1 with a vote from node %llu should lead the restarted joint "
                 "configuration; it is a %s",
                 (unsigned long long)voter, raft_role_name(rn->raft->role));
    return rn;
}

static void test_joint_auto_leave_survives_restart(void **state)
{
    (void)state;
    /* Node 1 entered {1,2} & {1} with the AUTO transition, persisted that
     * conf state, and crashed before the leaving entry was proposed. Bug
     * caught: auto_leave kept only in memory, so the restarted leader stays
     * joint for ever (every later change refused while joint). */
    mem_storage_t *ms = mem_storage_new();
    uint64_t in[] = { 1, 2 }, out[] = { 1 };
    raft_conf_state_t cs = { in, 2, NULL, 0, out, 1, 1 };
    rawnode_t *rn = restart_and_lead(ms, &cs, 2);
    raft_conf_state_t got;
    memset(&got, 0, sizeof(got));
    prs_conf_state(&rn->raft->prs, &got);
    int auto_leave = got.auto_leave, joint = got.n_voters_outgoing == 1;
    raft_conf_state_free(&got);
    if (!joint || !auto_leave)
        fail_msg("restarted from the conf state {1,2} & {1} with auto_leave, node 1's "
                 "configuration should be that one (joint %d, auto_leave %d)",
                 joint, auto_leave);
    int leave = ready_round(rn, ms); /* the leader's empty entry, index 1 */
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, rn->raft->term);
    ack.index = 1;
    expect_err(rawnode_step(rn, &ack), TKV_OK, "rawnode_step(rn, &ack)");
    for (int round = 0; round < 3 && !leave; round++)
        leave = ready_round(rn, ms);
    if (!leave)
        fail_msg("a leader restarted in a joint configuration entered with the AUTO "
                 "transition should still propose leaving it (an empty ConfChangeV2) once it "
                 "applied what it had; it proposed nothing");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_restart_keeps_learners(void **state)
{
    (void)state;
    /* Node 3 is being demoted through a joint configuration: a voter of the
     * outgoing half, a learner of the incoming one; node 4 is a learner.
     * Bugs caught: a learner read back from storage as a voter, and the
     * demoted node lost when the joint configuration is left. */
    mem_storage_t *ms = mem_storage_new();
    uint64_t in[] = { 1, 2 }, out[] = { 1, 2, 3 }, learners[] = { 3, 4 };
    raft_conf_state_t cs = { in, 2, learners, 2, out, 3, 0 };
    rawnode_t *rn = restart_and_lead(ms, &cs, 2);
    raft_progress_set_t *prs = &rn->raft->prs;
    raft_progress_t *p3 = prs_find(prs, 3), *p4 = prs_find(prs, 4);
    if (p4 == NULL || p4->voter || p4->voter_out || !p4->learner)
        fail_msg("node 4, a learner in the stored conf state, must come back a learner "
                 "(voter %d, learner %d)",
                 p4 ? p4->voter : -1, p4 ? p4->learner : -1);
    if (p3 == NULL || p3->voter || !p3->voter_out || !p3->learner)
        fail_msg("node 3, an outgoing voter and incoming learner, must come back as both "
                 "(voter %d, outgoing voter %d, learner %d)",
                 p3 ? p3->voter : -1, p3 ? p3->voter_out : -1, p3 ? p3->learner : -1);
    raft_conf_change_v2_t leave = v2(RAFT_TRANSITION_AUTO, NULL, 0);
    raft_conf_state_t after;
    memset(&after, 0, sizeof(after));
    expect_err(rawnode_apply_conf_change_v2(rn, &leave, &after), TKV_OK,
               "rawnode_apply_conf_change_v2(rn, &leave, &after)");
    p3 = prs_find(&rn->raft->prs, 3);
    int ok = after.n_nodes == 2 && after.n_voters_outgoing == 0 && after.n_learners == 2 &&
             p3 != NULL && p3->learner && !p3->voter;
    raft_conf_state_free(&after);
    if (!ok)
        fail_msg("leaving the joint configuration should leave voters {1,2} and learners {3,4} "
                 "(node 3 %s)",
                 p3 == NULL    ? "gone"
                 : p3->learner ? "a learner"
                               : "not a learner");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_follower_accepts_conf_change_v2_entries(void **state)
{
    (void)state;
    /* A ConfChangeV2 entry replicated to a follower through rawnode_step().
     * Bug caught: the border check (raft_validate.c) refusing entries of
     * that type as unknown, so no follower ever got a joint change. */
    mem_storage_t *ms = mem_storage_new();
    raft_config_t cfg = { 0 };
    cfg.id = 2;
    cfg.peers = rt_ids(3);
    cfg.n_peers = 3;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    raft_conf_change_v2_t cc = v2(RAFT_TRANSITION_AUTO, learner4, 1);
    raft_entry_t e = { RAFT_ENTRY_CONF_CHANGE_V2, 1, 1, NULL, 0 };
    expect_err(raft_pb_encode_conf_change_v2(&cc, &e.data, &e.len), TKV_OK,
               "raft_pb_encode_conf_change_v2(&cc, &e.data, &e.len)");
    raft_message_t app = rt_msg(RAFT_MSG_APPEND, 1, 2, 1);
    app.entries = &e;
    app.n_entries = 1;
    app.commit = 1;
    tkv_err_t err = rawnode_step(rn, &app);
    free(e.data);
    if (err != TKV_OK || rlog_last_index(&rn->raft->log) != 1)
        fail_msg("follower 2 should take a MsgAppend carrying a ConfChangeV2 entry (error %d, "
                 "last index %llu)",
                 (int)err, (unsigned long long)rlog_last_index(&rn->raft->log));
    ready_round(rn, ms);
    raft_progress_t *p4 = prs_find(&rn->raft->prs, 4);
    if (p4 == NULL || !p4->learner)
        fail_msg("once applied, the replicated change makes node 4 a learner on follower 2");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static const uint64_t only1[] = { 1 };
static const raft_conf_change_single_t learner2[] = { { RAFT_CONF_ADD_LEARNER_NODE, 2 } };

/* Node id of the cluster {1} with node 2 as a learner (applied). */
static raft_t *voter1_learner2(uint64_t id)
{
    raft_t *r = rt_new_raft(id, only1, 1, 10, 1, NULL);
    apply_ok(r, v2(RAFT_TRANSITION_AUTO, learner2, 1));
    return r;
}

static void test_learner_can_vote(void **state)
{
    (void)state;
    /* etcd's TestLearnerCanVote. A learner answers a vote request like any
     * node: a candidate may count it as a voter of a configuration the
     * learner has not applied yet (it was promoted there). Bug caught: a
     * learner refusing every vote, so a cluster whose quorum needs a freshly
     * promoted node cannot elect until that node applies its promotion. */
    raft_t *l = voter1_learner2(2);
    raft_become_follower(l, 1, RAFT_NONE);
    rt_clear(l);
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 1, 2, 2);
    vote.index = 11;
    vote.log_term = 11;
    rt_step(l, vote);
    size_t n;
    raft_message_t *out = rt_take(l, &n);
    int granted = n == 1 && out[0].type == RAFT_MSG_REQUEST_VOTE_RESPONSE && !out[0].reject;
    rt_free_msgs(out, n);
    if (!granted)
        fail_msg("learner 2 should grant node 1's vote request of term 2 (its log is newer): "
                 "it sent %zu messages, none a grant",
                 n);
    rt_free_raft(l);
}

static void test_learner_never_takes_leadership(void **state)
{
    (void)state;
    /* etcd's TestLearnerCampaign, and transfers. Bugs caught: a learner that
     * campaigns on MsgTimeoutNow, and a leader that hands leadership to a
     * learner (which could then never win: it cannot vote for itself in any
     * quorum). */
    raft_t *l = voter1_learner2(2);
    raft_become_follower(l, 1, 1);
    rt_clear(l);
    rt_step(l, rt_msg(RAFT_MSG_TIMEOUT_NOW, 1, 2, 1));
    size_t n;
    raft_message_t *out = rt_take(l, &n);
    rt_free_msgs(out, n);
    if (l->role != RAFT_FOLLOWER || l->term != 1 || n != 0)
        fail_msg("learner 2 must ignore MsgTimeoutNow: it is a %s at term %llu and sent %zu "
                 "messages",
                 raft_role_name(l->role), (unsigned long long)l->term, n);
    rt_free_raft(l);

    raft_t *r = voter1_learner2(1);
    raft_message_t hup = rt_msg(RAFT_MSG_HUP, 1, 1, 0);
    rt_step(r, hup);
    expect_role(r, RAFT_LEADER, "voter 1 after MsgHup (the only voter; learner 2 does not vote)");
    rt_clear(r);
    rt_step(r, rt_msg(RAFT_MSG_TRANSFER_LEADER, 2, 1, 0));
    out = rt_take(r, &n);
    size_t timeout_now = 0;
    for (size_t i = 0; i < n; i++)
        timeout_now += out[i].type == RAFT_MSG_TIMEOUT_NOW;
    rt_free_msgs(out, n);
    if (r->lead_transferee != RAFT_NONE || timeout_now != 0)
        fail_msg("leader 1 must refuse to hand leadership to learner 2 (transferee %llu, %zu "
                 "MsgTimeoutNow sent)",
                 (unsigned long long)r->lead_transferee, timeout_now);
    rt_free_raft(r);
}

static void test_read_index_on_learner(void **state)
{
    (void)state;
    /* etcd's TestReadOnlyWithLearner: a read asked of a learner goes to the
     * leader, which confirms with its voters only, and comes back. Bugs
     * caught: counting (or waiting for) the learner in the read's quorum,
     * and a leader ignoring a read forwarded by a non-voter. */
    raft_t *preset[2] = { voter1_learner2(1), voter1_learner2(2) };
    rt_network_t *net = rt_net_new(2, preset);
    rt_net_hup(net, 1);
    raft_t *l = rt_net_node(net, 1), *learner = rt_net_node(net, 2);
    expect_role(l, RAFT_LEADER, "voter 1 after MsgHup (the only voter; learner 2 does not vote)");
    for (int i = 0; i < 5; i++)
        rt_net_propose(net, 1, "x");
    /* Heartbeats lost: the learner's acknowledgement is not needed. */
    rt_net_ignore(net, RAFT_MSG_HEARTBEAT);
    raft_message_t rd = rt_msg(RAFT_MSG_READ_INDEX, 2, 2, 0);
    rd.context = (uint8_t *)"on-learner";
    rd.context_len = strlen("on-learner");
    rt_net_send(net, rd);
    if (learner->n_read_states != 1)
        fail_msg("a read asked of learner 2 should come back to it once; it has %zu read states "
                 "(leader 1 alone is the quorum, heartbeats to the learner were lost)",
                 learner->n_read_states);
    if (learner->read_states[0].index != l->log.committed)
        fail_msg("the read should come back at the leader's commit index %llu, not %llu",
                 (unsigned long long)l->log.committed,
                 (unsigned long long)learner->read_states[0].index);
    rt_net_free(net);
}

const tkv_test_t raft_joint_tests[] = {
    { "project3x", "joint_commit_needs_both_halves", 4,
      "while joint, an entry commits only with a majority of the incoming and of the outgoing "
      "voters",
      test_joint_commit_needs_both_halves },
    { "project3x", "joint_election_needs_both_halves", 3,
      "while joint, a candidate needs a majority of both halves to win",
      test_joint_election_needs_both_halves },
    { "project3x", "joint_leave", 2,
      "leaving the joint configuration keeps only the incoming voters", test_joint_leave },
    { "project3x", "learner_gets_log_never_counts", 3,
      "a learner receives the log but never counts in a quorum, and never campaigns",
      test_learner_gets_log_never_counts },
    { "project3x", "learner_promotion", 2, "adding a learner as a voter promotes it",
      test_learner_promotion },
    { "project3x", "conf_change_leaving_no_voter_refused", 2,
      "a conf change that leaves no voter is refused, at proposal and at apply",
      test_conf_change_leaving_no_voter_refused },
    { "project3x", "joint_auto_leave", 2,
      "with the AUTO transition the leader leaves the joint configuration by itself",
      test_joint_auto_leave },
    { "project3x", "joint_auto_leave_survives_restart", 2,
      "a leader restarted in a joint configuration entered with AUTO still leaves it",
      test_joint_auto_leave_survives_restart },
    { "project3x", "restart_keeps_learners", 2,
      "learners, and a voter being demoted to learner, come back as such from storage",
      test_restart_keeps_learners },
    { "project3x", "follower_accepts_conf_change_v2_entries", 2,
      "a follower takes ConfChangeV2 entries from its leader and applies them",
      test_follower_accepts_conf_change_v2_entries },
    { "project3x", "learner_can_vote", 1,
      "a learner answers vote requests (it may be a voter in the candidate's configuration)",
      test_learner_can_vote },
    { "project3x", "learner_never_takes_leadership", 2,
      "a learner ignores MsgTimeoutNow and a leader never hands leadership to one",
      test_learner_never_takes_leadership },
    { "project3x", "read_index_on_learner", 2,
      "a read asked of a learner is confirmed by the voters alone and comes back to it",
      test_read_index_on_learner },
    { 0 },
};
