/*
 * The election extensions (project2x): pre-vote, and check quorum with
 * leader stickiness (raft_prevote.c). Clusters of three with election tick
 * 10 and heartbeat tick 1, driven message by message through the test
 * network of raft_helpers.h.
 */
#include <string.h>

#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

/* Three nodes with the given features; node 1 leads at term 1. */
static rt_network_t *cluster_led_by_1(int pre_vote, int check_quorum)
{
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_set_features(net, pre_vote, check_quorum);
    rt_net_hup(net, 1);
    raft_t *l = rt_net_node(net, 1);
    if (l->role != RAFT_LEADER || l->term != 1)
        fail_msg("setup: node 1 should lead at term 1, it is a %s at term %llu",
                 raft_role_name(l->role), (unsigned long long)l->term);
    return net;
}

static void test_prevote_asks_before_raising_term(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_set_features(net, 1, 0);
    /* With every answer to a pre-vote lost, node 1 cannot know it would
     * win, so nobody's term may move. */
    rt_net_ignore(net, RAFT_MSG_PRE_VOTE_RESPONSE);
    rt_net_hup(net, 1);
    for (uint64_t i = 1; i <= 3; i++) {
        raft_t *r = rt_net_node(net, i);
        if (r->term != 0)
            fail_msg("node %llu is at term %llu after node 1's pre-vote got no answers; with "
                     "pre-vote no term rises before a quorum says it could win",
                     (unsigned long long)i, (unsigned long long)r->term);
    }
    raft_t *c = rt_net_node(net, 1);
    if (c->role != RAFT_PRE_CANDIDATE)
        fail_msg("node 1 should be a pre-candidate, it is a %s", raft_role_name(c->role));
    /* With answers, it campaigns for real and wins term 1, once. */
    rt_net_recover(net);
    rt_net_hup(net, 1);
    if (c->role != RAFT_LEADER || c->term != 1)
        fail_msg("with the pre-votes answered node 1 should lead at term 1; it is a %s at "
                 "term %llu",
                 raft_role_name(c->role), (unsigned long long)c->term);
    rt_net_free(net);
}

static void test_prevote_isolated_node_term_stays(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(1, 0);
    rt_net_isolate(net, 3);
    rt_net_tick(net, 3, 100); /* five election timeouts at least */
    raft_t *iso = rt_net_node(net, 3);
    if (iso->term != 1)
        fail_msg("an isolated node with pre-vote must keep its term (1) however often it times "
                 "out; it is at term %llu",
                 (unsigned long long)iso->term);
    expect_true(
        iso->role != RAFT_LEADER,
        "isolated node 3 must not become leader (it cannot win a pre-vote alone); it is one");
    rt_net_free(net);
}

static void test_prevote_rejoining_node_does_not_depose_leader(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(1, 0);
    rt_net_isolate(net, 3);
    rt_net_tick(net, 3, 100);
    rt_net_recover(net);
    /* It rejoins, and the leader's next heartbeat reaches it. (Were it to
     * time out first, pre-vote alone would let it win with a log as good as
     * the others': check quorum's lease is what stops that.) */
    rt_net_tick(net, 1, 1);
    raft_t *l = rt_net_node(net, 1), *back = rt_net_node(net, 3);
    if (l->role != RAFT_LEADER || l->term != 1)
        fail_msg("node 3 rejoining must not disturb leader 1 at term 1; node 1 is a %s at term "
                 "%llu",
                 raft_role_name(l->role), (unsigned long long)l->term);
    if (back->role != RAFT_FOLLOWER || back->lead != 1 || back->term != 1)
        fail_msg("node 3 should follow leader 1 at term 1 again; it is a %s of %llu at term %llu",
                 raft_role_name(back->role), (unsigned long long)back->lead,
                 (unsigned long long)back->term);
    rt_net_free(net);
}

static void test_prevote_refused_to_stale_log(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(1, 0);
    rt_net_isolate(net, 3);
    rt_net_propose(net, 1, "x");
    rt_net_recover(net);
    /* Node 3 lacks index 2: the others refuse it, and no term moves. */
    rt_net_hup(net, 3);
    for (uint64_t i = 1; i <= 3; i++) {
        raft_t *r = rt_net_node(net, i);
        if (r->term != 1)
            fail_msg("node %llu moved to term %llu on a pre-vote from node 3, whose log is "
                     "behind; a refused pre-vote must change no term",
                     (unsigned long long)i, (unsigned long long)r->term);
    }
    expect_role(rt_net_node(net, 1), RAFT_LEADER,
                "node 1 after node 3's refused pre-vote (a refused pre-vote disturbs no leader)");
    expect_role(rt_net_node(net, 3), RAFT_FOLLOWER, "node 3 after its refused pre-vote");
    rt_net_free(net);
}

static void test_prevote_granted_despite_vote_in_term(void **state)
{
    (void)state;
    /* etcd's TestRecvMsgPreVote: a pre-vote asks about term + 1, where this
     * node has voted for nobody yet, so a vote cast in the current term does
     * not bind it; and answering records nothing. Bugs caught: a pre-vote
     * refused because of the current term's vote (after a split election no
     * node could pre-win: each voted for itself), and a pre-vote that
     * moves the voter's term or vote. */
    raft_t *r = rt_raft(1, 3, NULL);
    r->pre_vote = 1;
    raft_become_follower(r, 1, RAFT_NONE);
    r->vote = 3;
    rt_clear(r);
    raft_message_t pv = rt_msg(RAFT_MSG_PRE_VOTE, 2, 1, 2);
    pv.index = 5;
    pv.log_term = 1;
    rt_step(r, pv);
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    int granted =
        n == 1 && out[0].type == RAFT_MSG_PRE_VOTE_RESPONSE && !out[0].reject && out[0].term == 2;
    rt_free_msgs(out, n);
    if (!granted)
        fail_msg("node 1 voted for 3 in term 1; node 2's pre-vote for term 2 with a newer log "
                 "should be granted with a MsgPreVoteResponse of term 2 (%zu messages sent)",
                 n);
    if (r->term != 1 || r->vote != 3)
        fail_msg("answering a pre-vote records nothing: node 1 should stay at term 1 with its "
                 "vote for 3 (term %llu, vote %llu)",
                 (unsigned long long)r->term, (unsigned long long)r->vote);
    rt_free_raft(r);
}

static void test_check_quorum_leader_steps_down_without_quorum(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(0, 1);
    raft_t *l = rt_net_node(net, 1);
    /* Hearing from its followers, it stays, timeout after timeout. */
    rt_net_tick(net, 1, 3 * 10);
    if (l->role != RAFT_LEADER)
        fail_msg("a leader that hears from its followers must stay leader; node 1 is a %s "
                 "after 3 election timeouts",
                 raft_role_name(l->role));
    rt_net_isolate(net, 1);
    int ticks = 0;
    while (l->role == RAFT_LEADER && ticks < 100) {
        rt_net_tick(net, 1, 1);
        ticks++;
    }
    /* The check runs once per election timeout (10 ticks); the last one
     * that heard from the followers may have been just before the cut. */
    if (l->role == RAFT_LEADER || ticks > 2 * 10)
        fail_msg("an isolated leader with check quorum must step down within two election "
                 "timeouts (20 ticks); node 1 is a %s after %d ticks",
                 raft_role_name(l->role), ticks);
    expect_u64(l->term, 1,
               "the term of node 1 after it stepped down for lack of a quorum (stepping down does "
               "not start an election)");
    rt_net_free(net);
}

static void test_check_quorum_lease_ignores_disruptive_vote(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(0, 1);
    rt_net_tick(net, 1, 1); /* followers just heard from the leader */
    /* Node 3's term ran ahead (say it was cut off a while): its request
     * would depose a healthy leader in plain Raft. */
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 2, 5);
    vote.index = rt_last(rt_net_node(net, 3));
    vote.log_term = 1;
    rt_net_send(net, vote);
    raft_t *f = rt_net_node(net, 2);
    if (f->term != 1 || f->vote != 1)
        fail_msg("node 2 heard from leader 1 within an election timeout and must ignore a vote "
                 "request of term 5 (leader lease); it is at term %llu, voted for %llu",
                 (unsigned long long)f->term, (unsigned long long)f->vote);
    raft_message_t to_leader = rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 1, 5);
    to_leader.index = vote.index;
    to_leader.log_term = 1;
    rt_net_send(net, to_leader);
    raft_t *l = rt_net_node(net, 1);
    if (l->role != RAFT_LEADER || l->term != 1)
        fail_msg("the leader must ignore a disruptive vote request too; node 1 is a %s at "
                 "term %llu",
                 raft_role_name(l->role), (unsigned long long)l->term);
    rt_net_free(net);
}

static void test_check_quorum_lease_of_removed_node_expires(void **state)
{
    (void)state;
    /* Node 1 follows leader 2 with check quorum on, then applies its own
     * removal and hears nothing more: the leader it knew is gone. Its lease
     * holds a vote request off at first, and must run out. Bug caught: a
     * node that may not campaign restarting its election count at every
     * timeout, so the count never passes the election timeout and the
     * departed leader's lease lasts for ever; a candidate that needs this
     * node's vote (it has not applied the change that brings it back) then
     * never gets it. */
    raft_t *r = rt_raft(1, 3, NULL);
    r->check_quorum = 1;
    raft_become_follower(r, 1, 2);
    raft_remove_node(r, 1);
    rt_clear(r);
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 1, 2);
    vote.index = 5;
    vote.log_term = 1;
    rt_step(r, vote);
    if (r->term != 1)
        fail_msg("node 1 just heard from leader 2: its lease must hold off a vote request of "
                 "term 2 (its term is %llu)",
                 (unsigned long long)r->term);
    rt_clear(r);
    rt_tick_n(r, 3 * r->election_tick);
    rt_step(r, vote);
    size_t n, granted = 0;
    raft_message_t *out = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        granted += out[i].type == RAFT_MSG_REQUEST_VOTE_RESPONSE && !out[i].reject;
    rt_free_msgs(out, n);
    if (r->term != 2 || granted != 1)
        fail_msg("after %d ticks without a leader node 1's lease is over: it should take term 2 "
                 "and grant node 3's request (term %llu, %zu grants)",
                 3 * r->election_tick, (unsigned long long)r->term, granted);
    rt_free_raft(r);
}

static void test_check_quorum_lease_lets_transfer_through(void **state)
{
    (void)state;
    rt_network_t *net = cluster_led_by_1(0, 1);
    rt_net_tick(net, 1, 1);
    /* A plain higher-term request is held off... */
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 2, 3, 4);
    vote.index = rt_last(rt_net_node(net, 2));
    vote.log_term = 1;
    rt_net_send(net, vote);
    expect_u64(rt_net_node(net, 3)->term, 1,
               "node 3's term after a higher-term MsgRequestVote within the leader's lease (check "
               "quorum: ignore it)");
    /* ...but a transfer's campaign is the leader's own wish. */
    rt_net_send(net, rt_msg(RAFT_MSG_TRANSFER_LEADER, 2, 1, 0));
    raft_t *t = rt_net_node(net, 2);
    if (t->role != RAFT_LEADER || t->term != 2)
        fail_msg("a leader transfer to node 2 must pass the lease: node 2 should lead at "
                 "term 2, it is a %s at term %llu",
                 raft_role_name(t->role), (unsigned long long)t->term);
    rt_net_free(net);
}

static void test_check_quorum_frees_stuck_node(void **state)
{
    (void)state;
    /* Node 3 campaigned while cut off (no pre-vote): its term ran ahead
     * but its log is behind, so it can never win, and the lease makes the
     * others ignore it. Plain Raft also ignores the old leader's messages
     * to it: it would sit out for good. */
    rt_network_t *net = cluster_led_by_1(0, 1);
    rt_net_isolate(net, 3);
    rt_net_propose(net, 1, "x");
    rt_net_tick(net, 3, 40);
    raft_t *stuck = rt_net_node(net, 3);
    uint64_t high = stuck->term;
    expect_true(high > 1,
                "node 3, cut off without pre-vote, must campaign and raise its term; it is still "
                "at term %llu",
                (unsigned long long)high);
    rt_net_recover(net);
    /* The leader's heartbeat of term 1 reaches it: it answers with its
     * term, the leader steps down, and a new election follows. */
    rt_net_tick(net, 1, 1);
    raft_t *l = rt_net_node(net, 1);
    if (l->term < high)
        fail_msg("node 3 at term %llu got a heartbeat of term 1 and should answer it, so the "
                 "old leader learns the newer term; node 1 is at term %llu",
                 (unsigned long long)high, (unsigned long long)l->term);
    for (int i = 0; i < 60 && l->role != RAFT_LEADER && rt_net_node(net, 2)->role != RAFT_LEADER;
         i++) {
        rt_net_tick(net, 1, 1);
        rt_net_tick(net, 2, 1);
        rt_net_tick(net, 3, 1);
    }
    if (l->role != RAFT_LEADER && rt_net_node(net, 2)->role != RAFT_LEADER)
        fail_msg("after the old leader learnt the term, node 1 or 2 (the up-to-date logs) "
                 "should win an election");
    rt_net_propose(net, l->role == RAFT_LEADER ? 1 : 2, "y");
    expect_u64(rt_last(stuck), rt_last(l),
               "node 3's last index after the new election and a proposal (it must catch up with "
               "the leader)");
    rt_net_free(net);
}

const tkv_test_t raft_prevote_tests[] = {
    { "project2x", "prevote_asks_before_raising_term", 3,
      "with pre-vote a node raises no term until a quorum says it could win",
      test_prevote_asks_before_raising_term },
    { "project2x", "prevote_isolated_node_term_stays", 3,
      "with pre-vote an isolated node's term does not grow however often it times out",
      test_prevote_isolated_node_term_stays },
    { "project2x", "prevote_rejoining_node_does_not_depose_leader", 3,
      "with pre-vote a node rejoining after a partition leaves the leader in place",
      test_prevote_rejoining_node_does_not_depose_leader },
    { "project2x", "prevote_refused_to_stale_log", 2,
      "a pre-vote from a node whose log is behind is refused and moves no term",
      test_prevote_refused_to_stale_log },
    { "project2x", "prevote_granted_despite_vote_in_term", 2,
      "a pre-vote for the next term is granted whatever the current term's vote, and recorded "
      "nowhere",
      test_prevote_granted_despite_vote_in_term },
    { "project2x", "check_quorum_leader_steps_down_without_quorum", 3,
      "with check quorum a leader that hears from no quorum for an election timeout steps down",
      test_check_quorum_leader_steps_down_without_quorum },
    { "project2x", "check_quorum_lease_ignores_disruptive_vote", 3,
      "with check quorum, nodes that heard from the leader recently ignore higher-term votes",
      test_check_quorum_lease_ignores_disruptive_vote },
    { "project2x", "check_quorum_lease_of_removed_node_expires", 2,
      "the lease of a node that may not campaign runs out an election timeout after its "
      "leader went quiet",
      test_check_quorum_lease_of_removed_node_expires },
    { "project2x", "check_quorum_lease_lets_transfer_through", 2,
      "the leader lease holds off votes but not the campaign of a leader transfer",
      test_check_quorum_lease_lets_transfer_through },
    { "project2x", "check_quorum_frees_stuck_node", 2,
      "a node whose term ran ahead answers the old leader's heartbeat so the cluster moves on",
      test_check_quorum_frees_stuck_node },
    { 0 },
};
