/*
 * Leader transfer rules (3A) that raft_membership_test.c let slip, after
 * TinyKV's 3A tests: a transfer to a node that needs a snapshot first, a
 * transfer overtaken by a higher-term election, a transfer whose target is
 * removed, and what MsgTimeoutNow does to each kind of node.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"

static void transfer(rt_network_t *net, uint64_t lead, uint64_t transferee)
{
    rt_net_send(net, rt_msg(RAFT_MSG_TRANSFER_LEADER, transferee, lead, 0));
}

/* Exactly `want` leads, and everyone else is at `term` too (term 0: any). */
static void expect_leader(rt_network_t *net, uint64_t want, uint64_t term, const char *when)
{
    for (uint64_t i = 1; i <= net->n; i++) {
        raft_t *r = rt_net_node(net, i);
        if (r == RT_BLACKHOLE)
            continue;
        if (i == want)
            expect_role(r, RAFT_LEADER, "node %llu %s", (unsigned long long)i, when);
        else
            expect_true(r->role != RAFT_LEADER, "node %llu %s must not lead (node %llu does)",
                        (unsigned long long)i, when, (unsigned long long)want);
        if (term != 0)
            expect_u64(r->term, term, "node %llu's term %s", (unsigned long long)i, when);
    }
}

static void test_transfer_after_snapshot(void **state)
{
    (void)state;
    /* Node 3 misses entries the leader then compacts away: it must be sent
     * the snapshot, and the transfer finish once it acknowledges that. */
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    rt_net_propose(net, 1, "x");
    rt_net_propose(net, 1, "y");
    raft_t *lead = rt_net_node(net, 1);
    expect_u64(lead->log.committed, 3, "the leader's commit after two proposals");
    rt_persist(lead);
    uint64_t nodes[] = { 1, 2, 3 };
    raft_conf_state_t cs = { nodes, 3 };
    mem_storage_t *ms = rt_storage_of(lead);
    expect_err(mem_storage_create_snapshot(ms, 3, &cs, "img", 3), TKV_OK,
               "mem_storage_create_snapshot(ms, 3, &cs, \"img\", 3)");
    expect_err(mem_storage_compact(ms, 3), TKV_OK, "mem_storage_compact(ms, 3)");
    rt_net_recover(net);
    transfer(net, 1, 3);
    raft_t *t = rt_net_node(net, 3);
    expect_true(rlog_pending_snapshot(&t->log) != NULL,
                "node 3 (log to 1; the leader compacted to 3) must have been sent a snapshot");
    expect_leader(net, 3, 2, "after a transfer to node 3 that needed a snapshot");
    rt_net_free(net);
}

static void test_transfer_overtaken_by_higher_term(void **state)
{
    (void)state;
    rt_plain_raft_only(
        "check_quorum",
        "a node that knows a leader ignores a vote request of a higher term (the lease)");
    /* While node 1 waits for node 3 (cut off), node 2 wins term 2. Node 1
     * must follow it, and must not carry its dead transfer into a later
     * term of its own (refusing proposals there). */
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *old = rt_net_node(net, 1);
    expect_u64(old->lead_transferee, 3, "the transfer node 1 is waiting on (node 3 is cut off)");
    rt_net_hup(net, 2);
    expect_leader(net, 2, 0, "after node 2 campaigned at term 2");
    expect_u64(old->term, 2, "node 1's term after node 2 campaigned at term 2");
    expect_u64(old->lead, 2, "node 1's leader after node 2 won term 2");
    expect_u64(old->lead_transferee, RAFT_NONE, "the transfer node 1 waits on as a follower");
    rt_net_hup(net, 1);
    expect_role(old, RAFT_LEADER, "node 1 after campaigning again at term 3");
    raft_message_t p = rt_propose_msg(1, "after");
    tkv_err_t err = raft_step(old, &p);
    raft_message_free(&p);
    expect_err(err, TKV_OK, "a proposal to node 1, leader of term 3, after an old transfer");
    rt_clear(old);
    rt_net_free(net);
}

static void test_transfer_to_removed_node_is_dropped(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *lead = rt_net_node(net, 1);
    expect_u64(lead->lead_transferee, 3, "the transfer node 1 is waiting on");
    raft_remove_node(lead, 3);
    expect_u64(lead->lead_transferee, RAFT_NONE,
               "the pending transfer after its target, node 3, was removed");
    raft_message_t p = rt_propose_msg(1, "x");
    tkv_err_t err = raft_step(lead, &p);
    raft_message_free(&p);
    expect_err(err, TKV_OK, "a proposal once the transfer's target is gone");
    rt_clear(lead);
    rt_net_free(net);
}

static void test_timeout_now_campaigns_at_once(void **state)
{
    (void)state;
    /* A follower that gets MsgTimeoutNow campaigns now, whatever its timer
     * says, at the next term, asking every peer. */
    raft_t *r = rt_raft(2, 3, NULL);
    raft_become_follower(r, 1, 1);
    rt_clear(r);
    rt_step(r, rt_msg(RAFT_MSG_TIMEOUT_NOW, 1, 2, 1));
    expect_role(r, RAFT_CANDIDATE,
                "node 2, a follower that has not timed out, after MsgTimeoutNow");
    expect_u64(r->term, 2, "node 2's term after MsgTimeoutNow at term 1");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    expect_msg(out, n, RAFT_MSG_REQUEST_VOTE, 1, "node 2 asks node 1 for its vote");
    expect_msg(out, n, RAFT_MSG_REQUEST_VOTE, 3, "node 2 asks node 3 for its vote");
    rt_free_msgs(out, n);
    rt_free_raft(r);

    /* A leader ignores it. */
    r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    uint64_t term = r->term;
    rt_clear(r);
    rt_step(r, rt_msg(RAFT_MSG_TIMEOUT_NOW, 2, 1, term));
    expect_role(r, RAFT_LEADER, "node 1, a leader, after MsgTimeoutNow");
    expect_u64(r->term, term, "the leader's term after MsgTimeoutNow");
    rt_clear(r);
    rt_free_raft(r);

    /* So does a node removed from the cluster: it must not disrupt it. */
    r = rt_raft(3, 3, NULL);
    raft_become_follower(r, 1, 1);
    raft_remove_node(r, 3);
    rt_clear(r);
    rt_step(r, rt_msg(RAFT_MSG_TIMEOUT_NOW, 1, 3, 1));
    expect_role(r, RAFT_FOLLOWER, "node 3, removed from the cluster, after MsgTimeoutNow");
    expect_u64(r->term, 1, "the removed node's term after MsgTimeoutNow");
    out = rt_take(r, &n);
    expect_no_msg(out, n, RAFT_MSG_REQUEST_VOTE, "a removed node given MsgTimeoutNow");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

static void test_transfer_back_to_leader_cancels(void **state)
{
    (void)state;
    /* Asking for the leader itself while a transfer waits cancels it (etcd,
     * TinyKV's TestLeaderTransferBack): the leader takes proposals again. */
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *lead = rt_net_node(net, 1);
    expect_u64(lead->lead_transferee, 3, "the transfer node 1 is waiting on");
    transfer(net, 1, 1);
    expect_u64(lead->lead_transferee, RAFT_NONE,
               "the transfer to node 3 after a transfer to node 1 itself");
    expect_leader(net, 1, 1, "after the transfer was called back");
    raft_message_t p = rt_propose_msg(1, "x");
    tkv_err_t err = raft_step(lead, &p);
    raft_message_free(&p);
    expect_err(err, TKV_OK, "a proposal once the transfer was called back");
    rt_clear(lead);
    rt_net_free(net);
}

const tkv_test_t raft_transfer_rules_tests[] = {
    { "project3a", "transfer_after_snapshot", 2,
      "a transfer to a node behind the compaction point sends a snapshot, then hands over",
      test_transfer_after_snapshot },
    { "project3a", "transfer_overtaken_by_higher_term", 2,
      "a leader deposed mid-transfer follows the new leader and forgets the transfer",
      test_transfer_overtaken_by_higher_term },
    { "project3a", "transfer_to_removed_node_is_dropped", 1,
      "removing a transfer's target ends the transfer", test_transfer_to_removed_node_is_dropped },
    { "project3a", "timeout_now_campaigns_at_once", 2,
      "MsgTimeoutNow makes a follower campaign at once; leaders and removed nodes ignore it",
      test_timeout_now_campaigns_at_once },
    { "project3a", "transfer_back_to_leader_cancels", 1,
      "a transfer to the leader itself cancels a pending transfer",
      test_transfer_back_to_leader_cancels },
    { 0 },
};
