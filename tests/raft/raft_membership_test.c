/*
 * Leader transfer and single-step membership change in the Raft core (3A).
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raft/raft_pb.h"
#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

/* Asks the current leader `lead` to hand over to `transferee`. */
static void transfer(rt_network_t *net, uint64_t lead, uint64_t transferee)
{
    rt_net_send(net, rt_msg(RAFT_MSG_TRANSFER_LEADER, transferee, lead, 0));
}

static void check_leader(rt_network_t *net, uint64_t want, uint64_t term)
{
    for (uint64_t i = 1; i <= net->n; i++) {
        raft_t *r = rt_net_node(net, i);
        if (r == RT_BLACKHOLE)
            continue;
        if (i == want)
            expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
        else
            expect_true(r->role != RAFT_LEADER,
                        "only node %llu may lead; node %llu is a leader too (term %llu)",
                        (unsigned long long)want, (unsigned long long)i,
                        (unsigned long long)r->term);
        if (term)
            expect_u64(r->term, term, "the node's term (r->term)");
    }
}

static void test_transfer_to_up_to_date_node(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    transfer(net, 1, 2);
    check_leader(net, 2, 2);
    expect_u64(rt_net_node(net, 1)->lead, 2, "node 1's known leader (rt_net_node(net, 1)->lead)");
    expect_u64(rt_net_node(net, 1)->lead_transferee, RAFT_NONE,
               "node 1's leader transferee (rt_net_node(net, 1)->lead_transferee)");
    /* and back again */
    rt_net_propose(net, 2, "x");
    transfer(net, 2, 1);
    check_leader(net, 1, 3);
    rt_net_free(net);
}

static void test_transfer_to_lagging_node(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    rt_net_propose(net, 1, "x");
    rt_net_recover(net);
    raft_t *lagging = rt_net_node(net, 3);
    expect_u64(rt_last(lagging), 1, "the lagging node's last log index (rt_last(lagging))");
    /* Node 3 must be caught up first (its log is behind: it could not win). */
    transfer(net, 1, 3);
    check_leader(net, 3, 2);
    expect_u64(rt_term_at(lagging, 2), 1,
               "the lagging node's term of entry 2 (rt_term_at(lagging, 2))");
    rt_net_free(net);
}

static void test_transfer_to_self(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    raft_t *lead = rt_net_node(net, 1);
    rt_step(lead, rt_msg(RAFT_MSG_TRANSFER_LEADER, 1, 1, 0));
    expect_u64(lead->lead_transferee, RAFT_NONE,
               "the leader's leader transferee (lead->lead_transferee)");
    check_leader(net, 1, 1);
    rt_net_propose(net, 1, "still leading");
    expect_u64(lead->log.committed, 2, "the leader's commit index (lead->log.committed)");
    /* and a real transfer still works afterwards */
    transfer(net, 1, 2);
    check_leader(net, 2, 2);
    rt_net_free(net);
}

static void test_transfer_to_nonexistent_node(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    raft_t *lead = rt_net_node(net, 1);
    rt_step(lead, rt_msg(RAFT_MSG_TRANSFER_LEADER, 4, 1, 0));
    expect_u64(lead->lead_transferee, RAFT_NONE,
               "the leader's leader transferee (lead->lead_transferee)");
    check_leader(net, 1, 1);
    transfer(net, 1, 3);
    check_leader(net, 3, 2);
    rt_net_free(net);
}

static void test_transfer_refuses_proposals(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *lead = rt_net_node(net, 1);
    expect_u64(lead->lead_transferee, 3, "the leader's leader transferee (lead->lead_transferee)");
    uint64_t last = rt_last(lead);
    raft_message_t m = rt_propose_msg(1, "x");
    expect_err(raft_step(lead, &m), TKV_ERR_NOT_LEADER, "raft_step(lead, &m)");
    raft_message_free(&m);
    expect_u64(rt_last(lead), last, "the leader's last log index (rt_last(lead))");
    rt_net_free(net);
}

static void test_transfer_times_out(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum", "the leader ticks cut off from everyone; with check quorum "
                                       "it steps down instead of keeping its lead");
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *lead = rt_net_node(net, 1);
    expect_u64(lead->lead_transferee, 3, "the leader's leader transferee (lead->lead_transferee)");
    for (int i = 0; i < lead->election_tick - 1; i++)
        raft_tick(lead);
    expect_u64(lead->lead_transferee, 3, "the leader's leader transferee (lead->lead_transferee)");
    raft_tick(lead);
    rt_clear(lead);
    expect_u64(lead->lead_transferee, RAFT_NONE,
               "the leader's leader transferee (lead->lead_transferee)");
    expect_role(lead, RAFT_LEADER, "the role of node %llu", (unsigned long long)lead->id);
    rt_propose(lead, "accepted again");
    rt_clear(lead);
    rt_net_free(net);
}

static void test_second_transfer_while_pending(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_isolate(net, 3);
    transfer(net, 1, 3);
    raft_t *lead = rt_net_node(net, 1);
    int elapsed = lead->election_elapsed;
    rt_tick_n(lead, 3);
    rt_clear(lead);
    /* the same transfer again does not restart the clock */
    transfer(net, 1, 3);
    expect_u64(lead->lead_transferee, 3, "the leader's leader transferee (lead->lead_transferee)");
    expect_u64(lead->election_elapsed, elapsed + 3,
               "the leader's ticks since its election timer was reset (lead->election_elapsed)");
    /* a transfer to another (up-to-date) node replaces it and completes */
    transfer(net, 1, 2);
    check_leader(net, 2, 0); /* node 3, still cut off, stays at term 1 */
    expect_u64(rt_net_node(net, 2)->term, 2, "node 2's term (rt_net_node(net, 2)->term)");
    rt_net_free(net);
}

static void test_follower_forwards_transfer(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    /* node 3 is asked (as a follower) to make itself leader */
    rt_net_send(net, rt_msg(RAFT_MSG_TRANSFER_LEADER, 3, 3, 0));
    check_leader(net, 3, 2);
    rt_net_free(net);
}

static void test_add_node(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 1, NULL);
    rt_make_leader(r);
    expect_u64(r->log.committed, 1, "the node's commit index (r->log.committed)");
    raft_add_node(r, 2);
    expect_u64(r->prs.n, 2, "the node's number of tracked peers (r->prs.n)");
    expect_present(prs_find(&r->prs, 2), "the leader's progress of node 2 after raft_add_node(2)");
    /* the quorum is now 2: a proposal waits for node 2 */
    rt_propose(r, "x");
    expect_u64(r->log.committed, 1, "the node's commit index (r->log.committed)");
    rt_clear(r);
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    ack.index = 2;
    rt_step(r, ack);
    expect_u64(r->log.committed, 2, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_free_raft(r);
}

static void test_add_node_twice(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 2, NULL);
    rt_make_leader(r);
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    ack.index = 1;
    rt_step(r, ack);
    rt_clear(r);
    raft_add_node(r, 2);
    expect_u64(r->prs.n, 2, "the node's number of tracked peers (r->prs.n)");
    expect_u64(prs_find(&r->prs, 2)->match, 1,
               "the leader's match index for node 2 (prs_find(&r->prs, 2)->match)"); /* untouched */
    raft_add_node(r, 3);
    raft_add_node(r, 3);
    expect_u64(r->prs.n, 3, "the node's number of tracked peers (r->prs.n)");
    rt_free_raft(r);
}

static void test_remove_node(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 2, NULL);
    raft_remove_node(r, 2);
    expect_u64(r->prs.n, 1, "the node's number of tracked peers (r->prs.n)");
    expect_absent(prs_find(&r->prs, 2), "the progress of node 2 after raft_remove_node(2)");
    /* alone now, it elects itself */
    rt_tick_n(r, 2 * r->election_tick);
    expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
    rt_clear(r);
    rt_free_raft(r);
}

static void test_commit_after_remove_node(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 2, NULL);
    rt_make_leader(r);
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    ack.index = 1;
    rt_step(r, ack);
    rt_clear(r);
    rt_propose(r, "x");
    rt_clear(r);
    expect_u64(r->log.committed, 1,
               "the node's commit index (r->log.committed)"); /* node 2 never answers */
    raft_remove_node(r, 2);
    expect_u64(r->log.committed, 2,
               "the node's commit index (r->log.committed)"); /* a quorum of one has it */
    rt_free_raft(r);
}

static void test_removed_leader_steps_down(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_clear(r);
    raft_remove_node(r, 1);
    expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
    /* and, no longer a member, it never campaigns */
    rt_tick_n(r, 5 * r->election_tick);
    expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 0, "messages the node sent (n)");
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static raft_message_t conf_change_proposal(uint64_t to, raft_conf_change_type_t type, uint64_t id)
{
    raft_conf_change_t cc = { type, id, NULL, 0 };
    raft_message_t m = rt_msg(RAFT_MSG_PROPOSE, to, to, 0);
    m.entries = calloc(1, sizeof(raft_entry_t));
    m.n_entries = 1;
    m.entries[0].type = RAFT_ENTRY_CONF_CHANGE;
    expect_err(raft_pb_encode_conf_change(&cc, &m.entries[0].data, &m.entries[0].len), TKV_OK,
               "raft_pb_encode_conf_change(&cc, &m.entries[0].data, &m.entries[0].len)");
    return m;
}

static raft_entry_type_t type_at(raft_t *r, uint64_t i)
{
    raft_entry_t *e;
    size_t n;
    expect_err(rlog_slice(&r->log, i, i + 1, UINT64_MAX, &e, &n), TKV_OK,
               "rlog_slice(&r->log, i, i + 1, UINT64_MAX, &e, &n)");
    raft_entry_type_t t = e[0].type;
    raft_entries_free(e, n);
    return t;
}

static void test_conf_change_with_pending_one(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 1, NULL);
    rt_make_leader(r);
    rlog_applied_to(&r->log, 1);
    raft_message_t m = conf_change_proposal(1, RAFT_CONF_ADD_NODE, 2);
    rt_step(r, m);
    expect_u64(type_at(r, 2), RAFT_ENTRY_CONF_CHANGE, "the type of entry 2 (type_at(r, 2))");
    expect_u64(r->pending_conf_index, 2,
               "the node's pending conf change index (r->pending_conf_index)");
    /* the first is not applied yet: the second one is dropped */
    rt_step(r, m);
    expect_u64(rt_last(r), 3, "the node's last log index (rt_last(r))");
    expect_u64(type_at(r, 3), RAFT_ENTRY_NORMAL, "the type of entry 3 (type_at(r, 3))");
    /* once it is applied, a new one is accepted */
    rlog_applied_to(&r->log, 3);
    rt_step(r, m);
    expect_u64(type_at(r, 4), RAFT_ENTRY_CONF_CHANGE, "the type of entry 4 (type_at(r, 4))");
    expect_u64(r->pending_conf_index, 4,
               "the node's pending conf change index (r->pending_conf_index)");
    raft_message_free(&m);
    rt_free_raft(r);
}

static void test_new_leader_waits_for_old_conf_change(void **state)
{
    (void)state;
    /* A leader cannot know whether entries before its term hold a conf
     * change, so it takes none until everything up to its start is applied. */
    uint64_t terms[] = { 1, 1 };
    raft_t *r = rt_raft(1, 1, rt_storage_with_terms(terms, 2));
    r->term = 1;
    rt_make_leader(r);
    expect_u64(r->pending_conf_index, 2,
               "the node's pending conf change index (r->pending_conf_index)");
    raft_message_t m = conf_change_proposal(1, RAFT_CONF_ADD_NODE, 2);
    rt_step(r, m);
    expect_u64(type_at(r, 4), RAFT_ENTRY_NORMAL, "the type of entry 4 (type_at(r, 4))");
    raft_message_free(&m);
    rt_free_raft(r);
}

static void test_rawnode_conf_change_round(void **state)
{
    (void)state;
    mem_storage_t *ms = mem_storage_new();
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.peers = rt_ids(1);
    cfg.n_peers = 1;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    expect_err(rawnode_new(&cfg, &rn), TKV_OK, "rawnode_new(&cfg, &rn)");
    rawnode_campaign(rn);
    raft_ready_t rd;
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    mem_storage_append(ms, rd.entries, rd.n_entries);
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    raft_conf_change_t cc = { RAFT_CONF_ADD_NODE, 2, (uint8_t *)"ctx", 3 };
    expect_err(rawnode_propose_conf_change(rn, &cc), TKV_OK,
               "rawnode_propose_conf_change(rn, &cc)");
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    expect_u64(rd.n_committed_entries, 1,
               "the Ready's committed entries to apply (rd.n_committed_entries)");
    const raft_entry_t *e = &rd.committed_entries[0];
    expect_u64(e->type, RAFT_ENTRY_CONF_CHANGE, "the type of the committed entry (a conf change)");
    raft_conf_change_t got;
    expect_err(raft_pb_decode_conf_change(e->data, e->len, &got), TKV_OK,
               "raft_pb_decode_conf_change(e->data, e->len, &got)");
    expect_u64(got.type, RAFT_CONF_ADD_NODE, "the type of the decoded conf change (AddNode)");
    expect_u64(got.node_id, 2, "the node the decoded conf change adds");
    expect_bytes(got.context, got.context_len, "ctx", 3,
                 "the context of the committed conf change (the proposal's)");
    raft_conf_state_t cs;
    expect_err(rawnode_apply_conf_change(rn, &got, &cs), TKV_OK,
               "rawnode_apply_conf_change(rn, &got, &cs)");
    expect_u64(cs.n_nodes, 2, "voters in the conf state after adding node 2");
    expect_u64(cs.nodes[0], 1, "the first voter after adding node 2");
    expect_u64(cs.nodes[1], 2, "the second voter after adding node 2");
    raft_conf_state_free(&cs);
    raft_conf_change_free(&got);
    mem_storage_append(ms, rd.entries, rd.n_entries);
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    /* node 2 now gets appends from the leader */
    rawnode_tick(rn);
    expect_err(rawnode_ready(rn, &rd), TKV_OK, "rawnode_ready(rn, &rd)");
    int to2 = 0;
    for (size_t i = 0; i < rd.n_messages; i++)
        to2 += rd.messages[i].to == 2;
    expect_true(to2 > 0,
                "once node 2 is added, the leader's next Ready must hold messages to it; it holds "
                "%zu messages, none to 2",
                rd.n_messages);
    rawnode_advance(rn, &rd);
    raft_ready_free(&rd);
    rawnode_free(rn);
    mem_storage_free(ms);
}

const tkv_test_t raft_membership_tests[] = {
    { "project3a", "transfer_to_up_to_date_node", 3,
      "leadership moves at once to an up-to-date follower", test_transfer_to_up_to_date_node },
    { "project3a", "transfer_to_lagging_node", 3,
      "a lagging transferee is caught up first, then takes over", test_transfer_to_lagging_node },
    { "project3a", "transfer_to_self", 1, "a transfer to the leader itself changes nothing",
      test_transfer_to_self },
    { "project3a", "transfer_to_nonexistent_node", 1,
      "a transfer to a node outside the cluster is ignored", test_transfer_to_nonexistent_node },
    { "project3a", "transfer_refuses_proposals", 2,
      "a leader handing over leadership refuses proposals", test_transfer_refuses_proposals },
    { "project3a", "transfer_times_out", 2,
      "a transfer that does not finish within an election timeout is abandoned",
      test_transfer_times_out },
    { "project3a", "second_transfer_while_pending", 2,
      "a repeated transfer is ignored; one to another node replaces it",
      test_second_transfer_while_pending },
    { "project3a", "follower_forwards_transfer", 2,
      "a follower forwards a transfer request to its leader", test_follower_forwards_transfer },
    { "project3a", "add_node", 2, "an added node counts towards the quorum", test_add_node },
    { "project3a", "add_node_twice", 1, "adding a member again changes nothing",
      test_add_node_twice },
    { "project3a", "remove_node", 2, "a removed node no longer counts", test_remove_node },
    { "project3a", "commit_after_remove_node", 2,
      "removing a node can commit entries the smaller quorum already holds",
      test_commit_after_remove_node },
    { "project3a", "removed_leader_steps_down", 2,
      "a leader that removes itself steps down and never campaigns again",
      test_removed_leader_steps_down },
    { "project3a", "conf_change_with_pending_one", 3,
      "one conf change at a time: another waits until the first is applied",
      test_conf_change_with_pending_one },
    { "project3a", "new_leader_waits_for_old_conf_change", 1,
      "a new leader takes no conf change until its earlier entries are applied",
      test_new_leader_waits_for_old_conf_change },
    { "project3a", "rawnode_conf_change_round", 2,
      "propose, commit, decode and apply a conf change through a RawNode",
      test_rawnode_conf_change_round },
    { 0 },
};
