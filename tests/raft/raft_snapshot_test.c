/*
 * Snapshots in the Raft core (2C): restoring from one, ignoring stale ones,
 * a leader sending one when the entries a follower needs are compacted,
 * and logs and RawNodes that start from one.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

/* A snapshot at (index, term) of nodes `nodes` (borrowed). */
static raft_snapshot_t snap_at(uint64_t index, uint64_t term, const uint64_t *nodes, size_t n)
{
    raft_snapshot_t s = { 0 };
    s.metadata.index = index;
    s.metadata.term = term;
    s.metadata.conf_state.nodes = (uint64_t *)nodes;
    s.metadata.conf_state.n_nodes = n;
    return s;
}

static void step_snapshot(raft_t *r, uint64_t from, uint64_t term, raft_snapshot_t snap)
{
    raft_message_t m = rt_msg(RAFT_MSG_SNAPSHOT, from, r->id, term);
    m.snapshot = snap; /* borrowed: raft_step copies */
    expect_err(raft_step(r, &m), TKV_OK, "raft_step(r, &m)");
}

static void test_restore_snapshot(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 2, NULL);
    uint64_t nodes[] = { 1, 2, 3 };
    step_snapshot(r, 2, 11, snap_at(11, 11, nodes, 3));
    expect_u64(rt_last(r), 11, "the node's last log index (rt_last(r))");
    expect_u64(rt_term_at(r, 11), 11, "the node's term of entry 11 (rt_term_at(r, 11))");
    expect_u64(rlog_first_index(&r->log), 12, "the first log index (rlog_first_index(&r->log))");
    expect_u64(r->log.committed, 11, "the node's commit index (r->log.committed)");
    expect_u64(r->prs.n, 3,
               "the node's number of tracked peers (r->prs.n)"); /* membership from the snapshot */
    expect_present(prs_find(&r->prs, 3),
                   "node 3 in the progress after restoring a snapshot whose conf state is {1,2,3}");
    expect_present(rlog_pending_snapshot(&r->log),
                   "the restored snapshot pending in the log (for the Ready to hand out)");
    /* answers with its new last index */
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_APPEND_RESPONSE, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    expect_u64(msgs[0].index, 11,
               "message 0's index (of the entry before its entries) (msgs[0].index)");
    expect_false(msgs[0].reject, "the answer to a snapshot newer than the log rejects it");
    rt_free_msgs(msgs, n);
    /* and accepts entries after it */
    raft_message_t app = rt_msg(RAFT_MSG_APPEND, 2, 1, 11);
    raft_entry_t e = { RAFT_ENTRY_NORMAL, 11, 12, NULL, 0 };
    app.index = 11;
    app.log_term = 11;
    app.entries = &e;
    app.n_entries = 1;
    app.commit = 12;
    rt_step(r, app);
    expect_u64(rt_last(r), 12, "the node's last log index (rt_last(r))");
    expect_u64(r->log.committed, 12, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_free_raft(r);
}

static void test_restore_ignores_stale_snapshot(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 1, 1 };
    raft_t *r = rt_raft(1, 2, rt_storage_with_terms(terms, 3));
    r->term = 1;
    rlog_commit_to(&r->log, 3);
    uint64_t nodes[] = { 1, 2 };
    step_snapshot(r, 2, 1, snap_at(2, 1, nodes, 2));
    expect_absent(
        rlog_pending_snapshot(&r->log),
        "a pending snapshot after a stale one (index 2 below the commit index 3: ignore it)");
    expect_u64(rt_last(r), 3, "the node's last log index (rt_last(r))");
    expect_u64(rlog_first_index(&r->log), 1, "the first log index (rlog_first_index(&r->log))");
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_u64(
        msgs[0].index, 3,
        "message 0's index (of the entry before its entries) (msgs[0].index)"); /* tells the leader
                                                                                   its commit */
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_restore_matching_snapshot_fast_forwards(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 1, 1 };
    raft_t *r = rt_raft(1, 2, rt_storage_with_terms(terms, 3));
    r->term = 1;
    uint64_t nodes[] = { 1, 2 };
    step_snapshot(r, 2, 1, snap_at(2, 1, nodes, 2));
    /* we hold (2, 1) already: commit to it, keep the log */
    expect_absent(rlog_pending_snapshot(&r->log),
                  "a pending snapshot after one the log already holds (index 2, term 1: "
                  "fast-forward the commit, keep the log)");
    expect_u64(r->log.committed, 2, "the node's commit index (r->log.committed)");
    expect_u64(rt_last(r), 3, "the node's last log index (rt_last(r))");
    rt_clear(r);
    rt_free_raft(r);
}

/* A leader of a 2-node cluster whose storage has entries 1..10 of term 1
 * and has compacted them up to 5 behind a snapshot. */
static raft_t *compacted_leader(void)
{
    uint64_t terms[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 10);
    uint64_t nodes[] = { 1, 2 };
    raft_conf_state_t cs = { nodes, 2 };
    expect_err(mem_storage_create_snapshot(ms, 5, &cs, "img", 3), TKV_OK,
               "mem_storage_create_snapshot(ms, 5, &cs, \"img\", 3)");
    expect_err(mem_storage_compact(ms, 5), TKV_OK, "mem_storage_compact(ms, 5)");
    raft_t *r = rt_raft(1, 2, ms);
    r->term = 1;
    rt_make_leader(r);
    rt_clear(r);
    return r;
}

static void test_provide_snapshot(void **state)
{
    (void)state;
    raft_t *r = compacted_leader();
    /* The follower says it has nothing: it needs entries from 1. */
    raft_message_t rej = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    rej.reject = 1;
    rej.index = 10;
    rej.reject_hint = 0;
    rt_step(r, rej);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_SNAPSHOT, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    expect_u64(msgs[0].snapshot.metadata.index, 5,
               "message 0's snapshot's index (msgs[0].snapshot.metadata.index)");
    expect_u64(msgs[0].snapshot.metadata.term, 1,
               "message 0's snapshot's term (msgs[0].snapshot.metadata.term)");
    expect_u64(msgs[0].snapshot.len, 3, "message 0's snapshot data length (msgs[0].snapshot.len)");
    expect_bytes(msgs[0].snapshot.data, msgs[0].snapshot.len, "img", 3,
                 "the data of the snapshot the leader sends (the storage's)");
    expect_u64(msgs[0].snapshot.metadata.conf_state.n_nodes, 2,
               "message 0's snapshot's voter count (msgs[0].snapshot.metadata.conf_state.n_nodes)");
    rt_free_msgs(msgs, n);
    expect_u64(prs_find(&r->prs, 2)->next, 6,
               "the leader's next index for node 2 (prs_find(&r->prs, 2)->next)");
    /* Acknowledged: the rest follows as entries. */
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    ack.index = 5;
    rt_step(r, ack);
    msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_APPEND, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    expect_u64(msgs[0].index, 5,
               "message 0's index (of the entry before its entries) (msgs[0].index)");
    expect_u64(msgs[0].n_entries, 6, "message 0's number of entries (msgs[0].n_entries)");
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_snapshot_busy_is_retried(void **state)
{
    (void)state;
    raft_t *r = compacted_leader();
    mem_storage_set_snapshot_busy(rt_storage_of(r), 1);
    raft_message_t rej = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    rej.reject = 1;
    rej.index = 10;
    rt_step(r, rej);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 0, "messages the node sent (n)"); /* nothing to send yet */
    rt_free_msgs(msgs, n);
    /* the next heartbeat response tries again, and now gets it */
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT_RESPONSE, 2, 1, r->term));
    msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_SNAPSHOT, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_restore_from_snapshot_message(void **state)
{
    (void)state;
    raft_t *r = rt_raft(2, 2, NULL);
    raft_become_candidate(r);
    uint64_t nodes[] = { 1, 2 };
    step_snapshot(r, 1, 2, snap_at(11, 2, nodes, 2));
    expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->lead, 1, "the node's known leader (r->lead)");
    expect_u64(r->term, 2, "the node's term (r->term)");
    expect_u64(r->log.committed, 11, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_free_raft(r);
}

static void test_slow_node_restore(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    for (int i = 0; i < 100; i++)
        rt_net_propose(net, 1, "x");
    raft_t *lead = rt_net_node(net, 1);
    rt_persist(lead);
    uint64_t nodes[] = { 1, 2, 3 };
    raft_conf_state_t cs = { nodes, 3 };
    mem_storage_t *ms = rt_storage_of(lead);
    expect_u64(lead->log.committed, 101, "the leader's commit index (lead->log.committed)");
    expect_err(mem_storage_create_snapshot(ms, 101, &cs, "img", 3), TKV_OK,
               "mem_storage_create_snapshot(ms, 101, &cs, \"img\", 3)");
    expect_err(mem_storage_compact(ms, 101), TKV_OK, "mem_storage_compact(ms, 101)");
    rt_net_recover(net);
    /* Heartbeats find node 3 behind; it gets the snapshot, then the rest. */
    for (int i = 0; i < 3; i++)
        rt_net_send(net, rt_msg(RAFT_MSG_BEAT, 1, 1, 0));
    rt_net_propose(net, 1, "y");
    raft_t *slow = rt_net_node(net, 3);
    expect_u64(slow->log.committed, lead->log.committed,
               "the slow node's commit index (slow->log.committed)");
    expect_u64(rt_last(slow), 102, "the slow node's last log index (rt_last(slow))");
    expect_present(rlog_pending_snapshot(&slow->log),
                   "the snapshot node 3 caught up by (pending in its log)");
    rt_net_free(net);
}

static void test_log_compaction_boundaries(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2, 3, 4, 5 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 5);
    expect_err(mem_storage_compact(ms, 3), TKV_OK, "mem_storage_compact(ms, 3)");
    raft_log_t l;
    expect_err(rlog_init(&l, mem_storage_as_storage(ms)), TKV_OK,
               "rlog_init(&l, mem_storage_as_storage(ms))");
    expect_u64(rlog_first_index(&l), 4, "the first log index (rlog_first_index(&l))");
    expect_u64(rlog_last_index(&l), 5, "the last log index (rlog_last_index(&l))");
    expect_u64(l.committed, 3,
               "the log's commit index (l.committed)"); /* what is compacted was committed */
    uint64_t t;
    expect_err(rlog_term(&l, 2, &t), RAFT_ERR_COMPACTED, "rlog_term(&l, 2, &t)");
    expect_err(rlog_term(&l, 3, &t), TKV_OK, "rlog_term(&l, 3, &t)"); /* the dummy keeps its term */
    expect_u64(t, 3, "the term at the compaction point 3 (the dummy entry keeps its term)");
    expect_err(rlog_term(&l, 5, &t), TKV_OK, "rlog_term(&l, 5, &t)");
    expect_u64(t, 5, "the term of entry 5");
    expect_err(rlog_term(&l, 6, &t), RAFT_ERR_UNAVAILABLE, "rlog_term(&l, 6, &t)");
    raft_entry_t *ents;
    size_t n;
    expect_err(rlog_slice(&l, 3, 6, UINT64_MAX, &ents, &n), RAFT_ERR_COMPACTED,
               "rlog_slice(&l, 3, 6, UINT64_MAX, &ents, &n)");
    expect_err(rlog_slice(&l, 4, 6, UINT64_MAX, &ents, &n), TKV_OK,
               "rlog_slice(&l, 4, 6, UINT64_MAX, &ents, &n)");
    expect_u64(n, 2, "entries rlog_slice returns for [4, 6)");
    raft_entries_free(ents, n);
    /* Restoring a snapshot moves the boundaries ahead of storage. */
    uint64_t nodes[] = { 1 };
    raft_snapshot_t s = snap_at(9, 6, nodes, 1);
    rlog_restore(&l, &s);
    expect_u64(rlog_first_index(&l), 10, "the first log index (rlog_first_index(&l))");
    expect_u64(rlog_last_index(&l), 9, "the last log index (rlog_last_index(&l))");
    expect_err(rlog_term(&l, 9, &t), TKV_OK, "rlog_term(&l, 9, &t)");
    expect_u64(t, 6, "the term at the restored snapshot's index 9");
    expect_err(rlog_term(&l, 5, &t), RAFT_ERR_COMPACTED, "rlog_term(&l, 5, &t)");
    expect_u64(l.committed, 9, "the log's commit index (l.committed)");
    rlog_free(&l);
    mem_storage_free(ms);
}

static void test_rawnode_restart_from_snapshot(void **state)
{
    (void)state;
    uint64_t nodes[] = { 1, 2 };
    raft_snapshot_t s = snap_at(2, 1, nodes, 2);
    mem_storage_t *ms = mem_storage_new();
    expect_err(mem_storage_apply_snapshot(ms, &s), TKV_OK, "mem_storage_apply_snapshot(ms, &s)");
    raft_entry_t e = { RAFT_ENTRY_NORMAL, 1, 3, (uint8_t *)"foo", 3 };
    expect_err(mem_storage_append(ms, &e, 1), TKV_OK, "mem_storage_append(ms, &e, 1)");
    raft_hard_state_t hs = { 1, 0, 3 };
    mem_storage_set_hard_state(ms, &hs);
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    expect_u64(
        rn->raft->prs.n, 2,
        "the node's number of tracked peers (rn->raft->prs.n)"); /* membership from the snapshot */
    /* the state machine holds what the snapshot covers */
    expect_u64(rn->raft->log.applied, 2, "the node's applied index (rn->raft->log.applied)");
    expect_u64(rn->raft->log.committed, 3, "the node's commit index (rn->raft->log.committed)");
    expect_true(
        rawnode_has_ready(rn),
        "rawnode_has_ready() after a restart with a committed entry past the snapshot to apply");
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_u64(rd.n_entries, 0, "the Ready's entries to persist (rd.n_entries)");
    expect_true(
        raft_snapshot_is_empty(&rd.snapshot),
        "the Ready after a restart carries no snapshot (the one in storage is already applied)");
    expect_u64(
        rd.n_committed_entries, 1,
        "the Ready's committed entries to apply (rd.n_committed_entries)"); /* only what follows the
                                                                               snapshot */
    expect_u64(rd.committed_entries[0].index, 3,
               "the index of the Ready's committed entry 0 (rd.committed_entries[0].index)");
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    expect_false(rawnode_has_ready(rn),
                 "rawnode_has_ready() after the restart's Ready was advanced");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_rawnode_ready_carries_snapshot(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    raft_config_t cfg = { 0 };
    cfg.id = 2;
    cfg.peers = rt_ids(2);
    cfg.n_peers = 2;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    uint64_t nodes[] = { 1, 2 };
    raft_message_t m = rt_msg(RAFT_MSG_SNAPSHOT, 1, 2, 3);
    m.snapshot = snap_at(7, 3, nodes, 2);
    expect_err(rawnode_step(rn, &m), TKV_OK, "rawnode_step(rn, &m)");
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_u64(rd.snapshot.metadata.index, 7,
               "the Ready's snapshot's index (rd.snapshot.metadata.index)");
    expect_u64(rd.hard_state.commit, 7, "the Ready's hard state's commit (rd.hard_state.commit)");
    expect_u64(
        rd.n_committed_entries, 0,
        "the Ready's committed entries to apply (rd.n_committed_entries)"); /* the snapshot is the
                                                                               state */
    expect_u64(rd.n_messages, 1, "the Ready's messages to send (rd.n_messages)");
    expect_err(mem_storage_apply_snapshot(ms, &rd.snapshot), TKV_OK,
               "mem_storage_apply_snapshot(ms, &rd.snapshot)");
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    expect_false(rawnode_has_ready(rn),
                 "rawnode_has_ready() after the snapshot's Ready was advanced");
    expect_u64(rn->raft->log.applied, 7, "the node's applied index (rn->raft->log.applied)");
    expect_absent(rlog_pending_snapshot(&rn->raft->log),
                  "a pending snapshot after it was handed out in a Ready and advanced");
    expect_u64(rlog_first_index(&rn->raft->log), 8,
               "the first log index (rlog_first_index(&rn->raft->log))");
    rawnode_free(rn);
    mem_storage_free(ms);
}

const tkv_test_t raft_snapshot_tests[] = {
    { "project2c", "restore_snapshot", 3,
      "a follower restores a newer snapshot: log, commit and membership follow it",
      test_restore_snapshot },
    { "project2c", "restore_ignores_stale_snapshot", 2,
      "a snapshot at or below the commit index changes nothing",
      test_restore_ignores_stale_snapshot },
    { "project2c", "restore_matching_snapshot_fast_forwards", 2,
      "a snapshot whose last entry we hold only moves the commit index",
      test_restore_matching_snapshot_fast_forwards },
    { "project2c", "provide_snapshot", 3,
      "a leader sends a snapshot when a follower needs compacted entries", test_provide_snapshot },
    { "project2c", "snapshot_busy_is_retried", 1,
      "a snapshot that storage cannot make yet is retried later", test_snapshot_busy_is_retried },
    { "project2c", "restore_from_snapshot_message", 2,
      "a candidate that receives a leader's snapshot becomes its follower",
      test_restore_from_snapshot_message },
    { "project2c", "slow_node_restore", 3,
      "an isolated node catches up from a snapshot and the entries after it",
      test_slow_node_restore },
    { "project2c", "log_compaction_boundaries", 2,
      "first index, term lookup and slicing at the compacted boundary",
      test_log_compaction_boundaries },
    { "project2c", "rawnode_restart_from_snapshot", 2,
      "a RawNode restarts from a stored snapshot and hands out only later entries",
      test_rawnode_restart_from_snapshot },
    { "project2c", "rawnode_ready_carries_snapshot", 2,
      "a received snapshot comes out in a Ready and advance makes it applied",
      test_rawnode_ready_carries_snapshot },
    { 0 },
};
