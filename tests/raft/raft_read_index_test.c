/*
 * ReadIndex and lease read (project2x, raft_read_index.c): a read comes back
 * (a read state: its ctx and the index to have applied) only when the leader
 * has confirmed with a quorum that it still leads, or holds a lease.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

static raft_message_t read_msg(uint64_t id, const char *ctx)
{
    raft_message_t m = rt_msg(RAFT_MSG_READ_INDEX, id, id, 0);
    m.context = (uint8_t *)ctx;
    m.context_len = strlen(ctx);
    return m;
}

/* Steps a read into node id (nothing delivered yet). */
static tkv_err_t read_at(rt_network_t *net, uint64_t id, const char *ctx)
{
    raft_message_t m = read_msg(id, ctx);
    return raft_step(rt_net_node(net, id), &m);
}

/* Delivers everything node id has queued (and what that causes). */
static void deliver_from(rt_network_t *net, uint64_t id)
{
    size_t n;
    raft_message_t *out = rt_take(rt_net_node(net, id), &n);
    for (size_t i = 0; i < n; i++) {
        int dropped = net->drop_perc[id][out[i].to] >= 100;
        if (!dropped)
            rt_net_send(net, out[i]);
        raft_message_free(&out[i]);
    }
    free(out);
}

/* Fails unless node id has exactly one read state, for ctx at index. */
static void check_read_state(raft_t *r, const char *ctx, uint64_t index, const char *why)
{
    if (r->n_read_states != 1)
        fail_msg("%s: node %llu should hand back 1 read state (ctx \"%s\"), it has %zu", why,
                 (unsigned long long)r->id, ctx, r->n_read_states);
    const raft_read_state_t *rs = &r->read_states[0];
    if (rs->index != index || rs->ctx_len != strlen(ctx) || memcmp(rs->ctx, ctx, rs->ctx_len) != 0)
        fail_msg("%s: the read state should be ctx \"%s\" at index %llu, it is \"%.*s\" at %llu",
                 why, ctx, (unsigned long long)index, (int)rs->ctx_len, (const char *)rs->ctx,
                 (unsigned long long)rs->index);
}

static void check_no_read_state(raft_t *r, const char *why)
{
    if (r->n_read_states != 0)
        fail_msg("%s: node %llu must not hand back a read, yet it has %zu read state(s), the "
                 "first at index %llu",
                 why, (unsigned long long)r->id, r->n_read_states,
                 (unsigned long long)r->read_states[0].index);
}

static void test_read_index_waits_for_quorum_round(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_propose(net, 1, "x");
    raft_t *l = rt_net_node(net, 1);
    expect_u64(l->log.committed, 2, "leader 1's commit index after its no-op and one proposal");
    expect_err(read_at(net, 1, "r1"), TKV_OK, "read_at(net, 1, \"r1\")");
    check_no_read_state(l, "before any follower confirmed the leadership");
    rt_net_cut(net, 1, 3);
    deliver_from(net, 1); /* node 2 acks: with the leader, a quorum of 3 */
    check_read_state(l, "r1", 2, "after node 2 acknowledged the read's heartbeat");
    rt_net_free(net);
}

static void test_read_index_deposed_leader_cannot_answer(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote+check_quorum",
                       "with both, node 2 cannot campaign while 3 holds leader 1's lease, so 1 is "
                       "never deposed and answering the read is right");
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 1);
    rt_net_hup(net, 2); /* 2 and 3 move on to term 2 */
    rt_net_propose(net, 2, "y");
    raft_t *old = rt_net_node(net, 1);
    expect_role(old, RAFT_LEADER,
                "isolated node 1 after 2 and 3 moved to term 2 (it has not heard)");
    expect_err(read_at(net, 1, "stale"), TKV_OK, "read_at(net, 1, \"stale\")");
    /* Its heartbeats reach the others only now: they are at term 2. */
    rt_net_recover(net);
    deliver_from(net, 1);
    rt_net_tick(net, 1, 3);
    check_no_read_state(old, "node 1 was deposed (nodes 2 and 3 are at term 2 and committed "
                             "\"y\" it lacks)");
    /* Caught up and leader again, it answers new reads, never the old one
     * (its index predates "y"). */
    rt_net_propose(net, 2, "z");
    /* A heartbeat round: with flow control (TKV_RAFT_FEATURES) leader 2's
     * probe of node 1 went out while 1 was cut off, and only an answer to a
     * heartbeat lets it probe again. */
    rt_net_tick(net, 2, 1);
    rt_net_hup(net, 1);
    expect_role(old, RAFT_LEADER, "node 1 after it caught up and campaigned again");
    rt_net_send(net, read_msg(1, "fresh"));
    check_read_state(old, "fresh", old->log.committed, "node 1, leader again");
    rt_net_free(net);
}

static void test_read_index_minority_cannot_serve(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum", "the majority side elects with MsgHup and no ticks, and its "
                                       "members still hold leader 1's lease");
    rt_network_t *net = rt_net_new(5, NULL);
    rt_net_hup(net, 1);
    /* {1,2} | {3,4,5} */
    for (uint64_t a = 1; a <= 2; a++)
        for (uint64_t b = 3; b <= 5; b++)
            rt_net_cut(net, a, b);
    expect_err(read_at(net, 1, "m1"), TKV_OK, "read_at(net, 1, \"m1\")");
    deliver_from(net, 1);
    rt_net_send(net, read_msg(2, "m2"));
    rt_net_tick(net, 1, 5);
    check_no_read_state(rt_net_node(net, 1), "leader 1 hears only from node 2 of 5");
    check_no_read_state(rt_net_node(net, 2), "node 2's leader hears only from it, 2 of 5");
    /* The majority side elects a leader that serves reads. */
    rt_net_hup(net, 3);
    raft_t *l = rt_net_node(net, 3);
    expect_role(l, RAFT_LEADER, "node 3 after MsgHup on the majority side (3 of 5)");
    rt_net_send(net, read_msg(3, "m3"));
    check_read_state(l, "m3", l->log.committed, "the majority's new leader");
    rt_net_free(net);
}

static void test_read_index_follower_forwards(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_propose(net, 1, "x");
    rt_net_send(net, read_msg(2, "f1"));
    check_read_state(rt_net_node(net, 2), "f1", 2,
                     "a read at follower 2 goes to leader 1 and comes back with its commit index");
    check_no_read_state(rt_net_node(net, 1), "the read was node 2's, not the leader's");
    rt_net_free(net);
}

static void test_read_index_new_leader_waits_for_own_commit(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_ignore(net, RAFT_MSG_APPEND_RESPONSE);
    rt_net_hup(net, 1);
    raft_t *l = rt_net_node(net, 1);
    expect_role(l, RAFT_LEADER, "node 1 after MsgHup");
    tkv_err_t err = read_at(net, 1, "early");
    deliver_from(net, 1);
    if (err != TKV_ERR_BUSY || l->n_read_states != 0)
        fail_msg("a new leader that has not committed an entry of its term does not know the "
                 "commit index: the read must fail with TKV_ERR_BUSY (got %d) and hand back "
                 "nothing (has %zu)",
                 (int)err, l->n_read_states);
    rt_net_recover(net);
    rt_net_tick(net, 1, 1); /* heartbeat, then the no-op is caught up and commits */
    expect_u64(l->log.committed, 1, "leader 1's commit index once its no-op was acknowledged");
    rt_net_send(net, read_msg(1, "later"));
    check_read_state(l, "later", 1, "once its no-op committed");
    rt_net_free(net);
}

static void test_read_index_in_ready(void **state)
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
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_err(mem_storage_append(ms, rd.entries, rd.n_entries), TKV_OK,
               "mem_storage_append(ms, rd.entries, rd.n_entries)");
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    expect_err(rawnode_read_index(rn, "ctx-7", 5), TKV_OK, "rawnode_read_index(rn, \"ctx-7\", 5)");
    if (!rawnode_has_ready(rn))
        fail_msg("a confirmed read must make rawnode_has_ready() true");
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    if (rd.n_read_states != 1 || rd.read_states[0].index != 1 || rd.read_states[0].ctx_len != 5 ||
        memcmp(rd.read_states[0].ctx, "ctx-7", 5) != 0)
        fail_msg("the Ready should carry one read state, ctx \"ctx-7\" at index 1; it has %zu",
                 rd.n_read_states);
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    expect_false(rawnode_has_ready(rn), "rawnode_has_ready() after the read state was handed out "
                                        "and advanced (nothing new to hand out)");
    rawnode_free(rn);
    mem_storage_free(ms);
}

static void test_lease_read_answers_without_round(void **state)
{
    (void)state;
    /* A lease without check quorum would be a promise nobody keeps. */
    mem_storage_t *ms = mem_storage_new();
    raft_config_t bad = { 0 };
    bad.id = 1;
    bad.peers = rt_ids(3);
    bad.n_peers = 3;
    bad.election_tick = 10;
    bad.heartbeat_tick = 1;
    bad.storage = mem_storage_as_storage(ms);
    bad.read_lease = 1;
    raft_t *r = NULL;
    expect_err(raft_new(&bad, &r), TKV_ERR_INVALID, "raft_new(&bad, &r)");
    mem_storage_free(ms);

    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_set_features(net, 0, 1);
    for (uint64_t i = 1; i <= 3; i++)
        rt_net_node(net, i)->read_lease = 1;
    rt_net_hup(net, 1);
    rt_net_tick(net, 1, 1); /* a heartbeat both followers acknowledge */
    raft_t *l = rt_net_node(net, 1);
    expect_err(read_at(net, 1, "lease"), TKV_OK, "read_at(net, 1, \"lease\")");
    size_t n_msgs = l->n_msgs;
    check_read_state(l, "lease", l->log.committed, "a leader holding a lease answers at once");
    if (n_msgs != 0)
        fail_msg("a lease read needs no heartbeat round, yet the leader queued %zu messages",
                 n_msgs);
    rt_clear(l);
    raft_read_state_t *rs;
    size_t n_rs;
    raft_take_read_states(l, &rs, &n_rs);
    raft_read_states_free(rs, n_rs);
    /* Cut off for an election timeout, the lease has run out: the followers
     * may have elected someone else by now. */
    rt_net_isolate(net, 1);
    rt_net_tick(net, 1, 10);
    (void)read_at(net, 1, "late");
    deliver_from(net, 1);
    check_no_read_state(l, "the lease of leader 1, cut off for an election timeout, ran out");
    rt_net_free(net);
}

const tkv_test_t raft_read_index_tests[] = {
    { "project2x", "read_index_waits_for_quorum_round", 3,
      "a ReadIndex read comes back only after a quorum acknowledged the leader's heartbeat",
      test_read_index_waits_for_quorum_round },
    { "project2x", "read_index_deposed_leader_cannot_answer", 3,
      "a leader deposed while a read is pending never hands that read back",
      test_read_index_deposed_leader_cannot_answer },
    { "project2x", "read_index_minority_cannot_serve", 3,
      "reads issued on the minority side of a partition are not served",
      test_read_index_minority_cannot_serve },
    { "project2x", "read_index_follower_forwards", 2,
      "a follower forwards a read to the leader and gets the leader's commit index back",
      test_read_index_follower_forwards },
    { "project2x", "read_index_new_leader_waits_for_own_commit", 2,
      "a leader refuses reads until it has committed an entry of its own term",
      test_read_index_new_leader_waits_for_own_commit },
    { "project2x", "read_index_in_ready", 2, "a confirmed read is handed back in the next Ready",
      test_read_index_in_ready },
    { "project2x", "lease_read_answers_without_round", 3,
      "with a lease a leader answers reads at once, and stops once the lease runs out",
      test_lease_read_answers_without_round },
    { 0 },
};
