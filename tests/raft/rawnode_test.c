/*
 * RawNode and the Ready contract: what a Ready holds after each kind of
 * event, and that advance() consumes exactly it.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

static rawnode_t *new_rawnode(uint64_t id, const uint64_t *peers, size_t n, mem_storage_t *ms,
                              uint64_t applied)
{
    raft_config_t cfg = { 0 };
    cfg.id = id;
    cfg.peers = peers;
    cfg.n_peers = n;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    cfg.applied = applied;
    rawnode_t *rn = NULL;
    if (rawnode_new(&cfg, &rn) != TKV_OK)
        fail_msg("rawnode_new: %s", tkv_last_error());
    return rn;
}

/* Does what the application does with a Ready: persist, then advance. */
static void persist_and_advance(rawnode_t *rn, mem_storage_t *ms, raft_ready_t *rd)
{
    if (!raft_hard_state_is_empty(&rd->hard_state))
        mem_storage_set_hard_state(ms, &rd->hard_state);
    if (!raft_snapshot_is_empty(&rd->snapshot))
        expect_err(mem_storage_apply_snapshot(ms, &rd->snapshot), TKV_OK,
                   "mem_storage_apply_snapshot(ms, &rd->snapshot)");
    expect_err(mem_storage_append(ms, rd->entries, rd->n_entries), TKV_OK,
               "mem_storage_append(ms, rd->entries, rd->n_entries)");
    rawnode_advance(rn, rd);
    raft_ready_free(rd);
}

static void test_rawnode_start(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    uint64_t peers[] = { 1 };
    rawnode_t *rn = new_rawnode(1, peers, 1, ms, 0);
    expect_false(rawnode_has_ready(rn), "rawnode_has_ready() of a new node (nothing happened yet)");
    expect_err(rawnode_campaign(rn), TKV_OK, "rawnode_campaign(rn)");
    expect_true(
        rawnode_has_ready(rn),
        "rawnode_has_ready() after a single node campaigned (it leads and has a no-op to persist)");
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_true(rd.has_soft_state,
                "the Ready after winning an election carries the soft state (the role changed)");
    expect_named(rd.soft_state.role, RAFT_LEADER, raft_role_name,
                 "the Ready's soft state's role (rd.soft_state.role)");
    expect_u64(rd.soft_state.lead, 1, "the Ready's soft state's leader (rd.soft_state.lead)");
    expect_u64(rd.hard_state.term, 1, "the Ready's hard state's term (rd.hard_state.term)");
    expect_u64(rd.hard_state.vote, 1, "the Ready's hard state's vote (rd.hard_state.vote)");
    expect_u64(rd.hard_state.commit, 1, "the Ready's hard state's commit (rd.hard_state.commit)");
    expect_u64(rd.n_entries, 1,
               "the Ready's entries to persist (rd.n_entries)"); /* the no-op, to persist */
    expect_u64(rd.entries[0].index, 1, "the index of the Ready's entry 0 (rd.entries[0].index)");
    expect_u64(
        rd.n_committed_entries, 1,
        "the Ready's committed entries to apply (rd.n_committed_entries)"); /* and to apply: a
                                                                               quorum of one */
    persist_and_advance(rn, ms, &rd);
    expect_false(rawnode_has_ready(rn), "rawnode_has_ready() right after advancing");

    expect_err(rawnode_propose(rn, "foo", 3), TKV_OK, "rawnode_propose(rn, \"foo\", 3)");
    expect_true(rawnode_has_ready(rn), "rawnode_has_ready() after a proposal");
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_false(
        rd.has_soft_state,
        "the Ready of a proposal carries a soft state, though role and leader did not change");
    expect_u64(rd.hard_state.commit, 2,
               "the Ready's hard state's commit (rd.hard_state.commit)"); /* changed: it is there */
    expect_u64(rd.n_entries, 1, "the Ready's entries to persist (rd.n_entries)");
    expect_u64(rd.n_committed_entries, 1,
               "the Ready's committed entries to apply (rd.n_committed_entries)");
    expect_bytes(rd.committed_entries[0].data, rd.committed_entries[0].len, "foo", 3,
                 "the committed entry's data (the proposal's)");
    expect_u64(rd.n_messages, 0, "the Ready's messages to send (rd.n_messages)");
    persist_and_advance(rn, ms, &rd);
    expect_false(rawnode_has_ready(rn),
                 "rawnode_has_ready() after the proposal's Ready was advanced");
    expect_u64(rn->raft->log.applied, 2, "the node's applied index (rn->raft->log.applied)");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_rawnode_restart(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 1 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 2);
    raft_hard_state_t hs = { 1, 0, 1 };
    mem_storage_set_hard_state(ms, &hs);
    uint64_t peers[] = { 1 };
    rawnode_t *rn = new_rawnode(1, peers, 1, ms, 0);
    expect_true(rawnode_has_ready(rn),
                "rawnode_has_ready() after a restart with an unapplied committed entry");
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    /* Nothing to persist: the hard state and entries come from storage. */
    expect_true(raft_hard_state_is_empty(&rd.hard_state),
                "the restart's Ready carries no hard state (it comes from storage, unchanged)");
    expect_u64(rd.n_entries, 0, "the Ready's entries to persist (rd.n_entries)");
    /* Committed but not applied: entry 1 only. */
    expect_u64(rd.n_committed_entries, 1,
               "the Ready's committed entries to apply (rd.n_committed_entries)");
    expect_u64(rd.committed_entries[0].index, 1,
               "the index of the Ready's committed entry 0 (rd.committed_entries[0].index)");
    expect_u64(rn->raft->term, 1, "the node's term (rn->raft->term)");
    persist_and_advance(rn, ms, &rd);
    expect_false(rawnode_has_ready(rn),
                 "rawnode_has_ready() after the restart's Ready was advanced");
    rawnode_free(rn);

    /* Restarting with applied = 1 hands out nothing again. */
    rn = new_rawnode(1, peers, 1, ms, 1);
    expect_false(
        rawnode_has_ready(rn),
        "rawnode_has_ready() after a restart with applied = 1 (everything committed is applied)");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_rawnode_messages_after_persist(void **state)
{
    (void)state;
    /* A candidate's vote requests and its self-vote come in the same Ready:
     * the hard state holding the vote is there to persist first. */
    mem_storage_t *ms = mem_storage_new();
    rawnode_t *rn = new_rawnode(1, rt_ids(3), 3, ms, 0);
    rawnode_campaign(rn);
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_u64(rd.hard_state.term, 1, "the Ready's hard state's term (rd.hard_state.term)");
    expect_u64(rd.hard_state.vote, 1, "the Ready's hard state's vote (rd.hard_state.vote)");
    expect_u64(rd.n_messages, 2, "the Ready's messages to send (rd.n_messages)");
    expect_named(rd.messages[0].type, RAFT_MSG_REQUEST_VOTE, raft_msg_type_name,
                 "message 0's type (rd.messages[0].type)");
    expect_named(rd.soft_state.role, RAFT_CANDIDATE, raft_role_name,
                 "the Ready's soft state's role (rd.soft_state.role)");
    persist_and_advance(rn, ms, &rd);
    expect_false(rawnode_has_ready(rn),
                 "rawnode_has_ready() after the campaign's Ready was advanced");
    /* A vote arrives: leader; the no-op and two appends come out. */
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 2, 1, 1);
    expect_err(rawnode_step(rn, &vote), TKV_OK, "rawnode_step(rn, &vote)");
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_true(rd.has_soft_state, "the Ready after winning the election carries the soft state");
    expect_named(rd.soft_state.role, RAFT_LEADER, raft_role_name,
                 "the Ready's soft state's role (rd.soft_state.role)");
    expect_true(raft_hard_state_is_empty(&rd.hard_state),
                "the Ready after winning the election carries no hard state (term, vote and commit "
                "did not change)");
    expect_u64(rd.n_entries, 1, "the Ready's entries to persist (rd.n_entries)");
    expect_u64(rd.n_committed_entries, 0,
               "the Ready's committed entries to apply (rd.n_committed_entries)");
    expect_u64(rd.n_messages, 2, "the Ready's messages to send (rd.n_messages)");
    persist_and_advance(rn, ms, &rd);
    /* the entry is now stable: storage has it, the log no longer holds it */
    size_t n;
    rlog_unstable_entries(&rn->raft->log, &n);
    expect_u64(n, 0, "entries returned (n)");
    expect_u64(rlog_last_index(&rn->raft->log), 1,
               "the last log index (rlog_last_index(&rn->raft->log))");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_rawnode_step_refuses_local(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    rawnode_t *rn = new_rawnode(1, rt_ids(3), 3, ms, 0);
    raft_msg_type_t local[] = { RAFT_MSG_HUP, RAFT_MSG_BEAT, RAFT_MSG_PROPOSE };
    for (int i = 0; i < 3; i++) {
        raft_message_t m = rt_msg(local[i], 2, 1, 0);
        expect_err(rawnode_step(rn, &m), TKV_ERR_INVALID, "rawnode_step(rn, &m)");
    }
    expect_role(rn->raft, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)rn->raft->id);
    expect_u64(rn->raft->term, 0, "the node's term (rn->raft->term)");
    /* and a follower refuses proposals */
    expect_err(rawnode_propose(rn, "x", 1), TKV_ERR_NOT_LEADER, "rawnode_propose(rn, \"x\", 1)");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_rawnode_tick_elects(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    uint64_t peers[] = { 1 };
    rawnode_t *rn = new_rawnode(1, peers, 1, ms, 0);
    for (int i = 0; i < 20 && rn->raft->role != RAFT_LEADER; i++)
        rawnode_tick(rn);
    expect_role(rn->raft, RAFT_LEADER, "the role of node %llu", (unsigned long long)rn->raft->id);
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_named(rd.soft_state.role, RAFT_LEADER, raft_role_name,
                 "the Ready's soft state's role (rd.soft_state.role)");
    persist_and_advance(rn, ms, &rd);
    rawnode_free(rn);
    mem_storage_free(ms);
}

const tkv_test_t rawnode_tests[] = {
    { "project2a", "rawnode_start", 3,
      "a fresh RawNode campaigns, and Readys carry soft/hard state, entries, committed entries",
      test_rawnode_start },
    { "project2a", "rawnode_restart", 3,
      "a restarted RawNode hands out committed-but-unapplied entries and nothing to persist",
      test_rawnode_restart },
    { "project2a", "rawnode_messages_with_state", 2,
      "a Ready carries the vote to persist with the messages that depend on it",
      test_rawnode_messages_after_persist },
    { "project2a", "rawnode_step_refuses_local", 1,
      "rawnode_step refuses local message types; followers refuse proposals",
      test_rawnode_step_refuses_local },
    { "project2a", "rawnode_tick_elects", 1, "ticking a single RawNode makes it leader",
      test_rawnode_tick_elects },
    { 0 },
};
