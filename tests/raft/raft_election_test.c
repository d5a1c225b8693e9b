/*
 * Leader election (Raft paper §5.2, §5.4.1): terms, timeouts, votes, and
 * who ends up leading. Nodes are driven message by message; nothing here
 * depends on real time.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

static void test_term_update_from_any_message(void **state)
{
    (void)state;
    /* Follower, candidate and leader all adopt a higher term they see, and
     * become followers of the sender when it is a leader's message. */
    for (int role = 0; role < 3; role++) {
        raft_t *r = rt_raft(1, 3, NULL);
        if (role == 1)
            raft_become_candidate(r);
        if (role == 2)
            rt_make_leader(r);
        raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 10);
        rt_step(r, m);
        expect_u64(r->term, 10, "the node's term (r->term)");
        expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
        expect_u64(r->lead, 2, "the node's known leader (r->lead)");
        rt_free_raft(r);
    }
    /* A vote request raises the term but names no leader. */
    raft_t *r = rt_raft(1, 3, NULL);
    rt_step(r, rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 1, 7));
    expect_u64(r->term, 7, "the node's term (r->term)");
    expect_u64(r->lead, RAFT_NONE, "the node's known leader (r->lead)");
    rt_free_raft(r);
}

static void test_start_as_follower(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->term, 0, "the node's term (r->term)");
    expect_u64(r->lead, RAFT_NONE, "the node's known leader (r->lead)");
    expect_range(
        r->randomized_election_timeout, r->election_tick, 2 * r->election_tick - 1,
        "a new node's randomized election timeout (in [election_tick, 2 * election_tick))");
    rt_free_raft(r);
}

static void test_leader_bcast_beat(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_clear(r);
    rt_tick_n(r, r->heartbeat_tick);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 2, "messages the node sent (n)");
    for (size_t i = 0; i < n; i++) {
        expect_named(msgs[i].type, RAFT_MSG_HEARTBEAT, raft_msg_type_name,
                     "message i's type (msgs[i].type)");
        expect_u64(msgs[i].from, 1, "message i's sender (msgs[i].from)");
        expect_u64(msgs[i].term, r->term, "message i's term (msgs[i].term)");
        expect_u64(msgs[i].to, i == 0 ? 2 : 3, "message i's recipient (msgs[i].to)");
    }
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_heartbeat_commit_capped_by_match(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_propose(r, "a");
    rt_propose(r, "b");
    rt_clear(r);
    /* node 3 has everything; node 2 only the no-op */
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 3, 1, r->term);
    ack.index = 3;
    rt_step(r, ack);
    ack.from = 2;
    ack.index = 1;
    rt_step(r, ack);
    expect_u64(r->log.committed, 3, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_step(r, rt_msg(RAFT_MSG_BEAT, 1, 1, 0));
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 2, "messages the node sent (n)");
    for (size_t i = 0; i < n; i++) {
        expect_named(msgs[i].type, RAFT_MSG_HEARTBEAT, raft_msg_type_name,
                     "message i's type (msgs[i].type)");
        /* a follower's log past its match may still differ from ours */
        expect_u64(msgs[i].commit, msgs[i].to == 2 ? 1 : 3,
                   "message i's commit index (msgs[i].commit)");
    }
    rt_free_msgs(msgs, n);
    /* a follower or candidate ignores MsgBeat */
    raft_t *f = rt_raft(2, 3, NULL);
    rt_step(f, rt_msg(RAFT_MSG_BEAT, 2, 2, 0));
    raft_become_candidate(f);
    rt_clear(f);
    rt_step(f, rt_msg(RAFT_MSG_BEAT, 2, 2, 0));
    msgs = rt_take(f, &n);
    expect_u64(n, 0, "messages the node sent (n)");
    rt_free_msgs(msgs, n);
    rt_free_raft(f);
    rt_free_raft(r);
}

static void check_nonleader_start_election(raft_role_t role)
{
    raft_t *r = rt_raft(1, 3, NULL);
    if (role == RAFT_FOLLOWER)
        raft_become_follower(r, 1, 2);
    else
        raft_become_candidate(r);
    uint64_t term = r->term;
    rt_clear(r);
    rt_tick_n(r, 2 * r->election_tick);
    expect_u64(r->term, term + 1, "the node's term (r->term)");
    expect_role(r, RAFT_CANDIDATE, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->vote, 1, "the node's vote (r->vote)");
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 2, "messages the node sent (n)");
    for (size_t i = 0; i < n; i++) {
        expect_named(msgs[i].type, RAFT_MSG_REQUEST_VOTE, raft_msg_type_name,
                     "message i's type (msgs[i].type)");
        expect_u64(msgs[i].term, term + 1, "message i's term (msgs[i].term)");
        expect_u64(msgs[i].to, i + 2, "message i's recipient (msgs[i].to)");
    }
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_follower_start_election(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    check_nonleader_start_election(RAFT_FOLLOWER);
}

static void test_candidate_start_new_election(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    check_nonleader_start_election(RAFT_CANDIDATE);
}

static void test_leader_election_in_one_round(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    struct {
        size_t size;
        int votes[5]; /* from nodes 2..size: 1 grant, 0 reject, -1 silent */
        raft_role_t want;
    } cases[] = {
        { 1, { 0 }, RAFT_LEADER },
        { 3, { 1, 1 }, RAFT_LEADER },
        { 3, { 1, -1 }, RAFT_LEADER },
        { 5, { 1, 1, 1, 1 }, RAFT_LEADER },
        { 5, { 1, 1, -1, -1 }, RAFT_LEADER },
        { 3, { -1, -1 }, RAFT_CANDIDATE },
        { 5, { 1, -1, -1, -1 }, RAFT_CANDIDATE },
        { 3, { 0, 0 }, RAFT_FOLLOWER },
        { 5, { 0, 0, 0, 1 }, RAFT_FOLLOWER },
        { 5, { 0, 0, -1, -1 }, RAFT_CANDIDATE },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_t *r = rt_raft(1, cases[c].size, NULL);
        rt_step(r, rt_msg(RAFT_MSG_HUP, 1, 1, 0));
        for (size_t i = 0; i + 1 < cases[c].size; i++) {
            if (cases[c].votes[i] < 0)
                continue;
            raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, i + 2, 1, r->term);
            m.reject = cases[c].votes[i] == 0;
            rt_step(r, m);
        }
        if (r->role != cases[c].want)
            fail_msg("case %zu: role %s, want %s", c, raft_role_name(r->role),
                     raft_role_name(cases[c].want));
        expect_u64(r->term, 1, "the node's term (r->term)");
        rt_free_raft(r);
    }
}

static void test_follower_vote(void **state)
{
    (void)state;
    struct {
        uint64_t vote, from;
        int reject;
    } cases[] = {
        { RAFT_NONE, 2, 0 }, { RAFT_NONE, 3, 0 }, { 2, 2, 0 },
        { 3, 3, 0 },         { 2, 3, 1 },         { 3, 2, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_t *r = rt_raft(1, 3, NULL);
        r->term = 1;
        r->vote = cases[c].vote;
        rt_step(r, rt_msg(RAFT_MSG_REQUEST_VOTE, cases[c].from, 1, 1));
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        expect_u64(n, 1, "messages the node sent (n)");
        expect_named(msgs[0].type, RAFT_MSG_REQUEST_VOTE_RESPONSE, raft_msg_type_name,
                     "message 0's type (msgs[0].type)");
        expect_u64(msgs[0].to, cases[c].from, "message 0's recipient (msgs[0].to)");
        expect_u64(msgs[0].term, 1, "message 0's term (msgs[0].term)");
        if (msgs[0].reject != cases[c].reject)
            fail_msg("case %zu: reject %d, want %d", c, msgs[0].reject, cases[c].reject);
        rt_free_msgs(msgs, n);
        rt_free_raft(r);
    }
}

static void test_vote_request_up_to_date_rule(void **state)
{
    (void)state;
    /* Our log: terms 1, 2, 2 (last index 3, last term 2). */
    struct {
        uint64_t index, log_term;
        int reject;
    } cases[] = {
        { 3, 2, 0 }, { 4, 2, 0 }, { 1, 3, 0 }, { 2, 2, 1 }, { 3, 1, 1 }, { 9, 1, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint64_t terms[] = { 1, 2, 2 };
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 3));
        raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE, 2, 1, 5);
        m.index = cases[c].index;
        m.log_term = cases[c].log_term;
        rt_step(r, m);
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        expect_u64(n, 1, "messages the node sent (n)");
        if (msgs[0].reject != cases[c].reject)
            fail_msg("case %zu (index %llu, term %llu): reject %d", c,
                     (unsigned long long)cases[c].index, (unsigned long long)cases[c].log_term,
                     msgs[0].reject);
        expect_u64(r->vote, cases[c].reject ? RAFT_NONE : 2, "the node's vote (r->vote)");
        rt_free_msgs(msgs, n);
        rt_free_raft(r);
    }
}

static void test_candidate_fallback(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2 }; /* the candidate's own term, and a later one */
    for (int c = 0; c < 2; c++) {
        /* Node 1 of three campaigns; nobody answers, so it stays candidate
         * at term 1 until it hears node 2 lead. */
        raft_t *r = rt_raft(1, 3, NULL);
        rt_step(r, rt_msg(RAFT_MSG_HUP, 1, 1, 0));
        expect_role(r, RAFT_CANDIDATE, "the role of node 1 after MsgHup with no answer");
        expect_u64(r->term, 1, "the candidate's term");
        rt_step(r, rt_msg(RAFT_MSG_APPEND, 2, 1, terms[c]));
        expect_role(r, RAFT_FOLLOWER, "the role of the candidate after an append at term %llu",
                    (unsigned long long)terms[c]);
        expect_u64(r->term, terms[c], "its term after the append");
        expect_u64(r->lead, 2, "the leader it follows");
        rt_free_raft(r);
    }
}

static void test_randomized_election_timeout(void **state)
{
    (void)state;
    int seen[10] = { 0 };
    for (int i = 0; i < 500; i++) {
        raft_t *r = rt_raft(1, 3, NULL);
        tkv_prng_t p;
        prng_seed(&p, (uint64_t)i);
        r->prng = &p;
        raft_become_follower(r, (uint64_t)i + 1, RAFT_NONE);
        int ticks = 0;
        while (r->role == RAFT_FOLLOWER && ticks < 100) {
            raft_tick(r);
            ticks++;
        }
        if (ticks < 10 || ticks > 19)
            fail_msg("election after %d ticks; want 10..19 (election tick 10)", ticks);
        else
            seen[ticks - 10]++;
        r->prng = &r->own_prng;
        rt_free_raft(r);
    }
    for (int i = 0; i < 10; i++) {
        if (seen[i] == 0)
            fail_msg("no election timeout of %d ticks in 500 tries: not randomized", i + 10);
    }
}

static void test_non_conflicting_timeouts(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    /* Five fresh followers with different seeds rarely time out together. */
    int conflicts = 0;
    for (int round = 0; round < 200; round++) {
        raft_t *rs[5];
        tkv_prng_t ps[5];
        for (int i = 0; i < 5; i++) {
            rs[i] = rt_raft((uint64_t)i + 1, 5, NULL);
            prng_seed(&ps[i], (uint64_t)(round * 5 + i + 1000));
            rs[i]->prng = &ps[i];
            raft_become_follower(rs[i], 1, RAFT_NONE);
        }
        int first = 0, count = 0;
        for (int t = 1; t < 30 && first == 0; t++) {
            for (int i = 0; i < 5; i++) {
                raft_tick(rs[i]);
                if (rs[i]->role == RAFT_CANDIDATE) {
                    first = t;
                    count++;
                }
            }
        }
        if (first == 0)
            fail_msg("round %d: no follower timed out within 30 ticks (election tick 10)", round);
        conflicts += count > 1;
        for (int i = 0; i < 5; i++) {
            rs[i]->prng = &rs[i]->own_prng;
            rt_free_raft(rs[i]);
        }
    }
    if (conflicts > 200 * 4 / 10)
        fail_msg("%d of 200 rounds had two nodes time out on the same tick", conflicts);
}

static void test_leader_election_with_failures(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    struct {
        size_t n;
        int black[5]; /* 1: node i+1 is a black hole */
        raft_role_t want;
    } cases[] = {
        { 3, { 0, 0, 0 }, RAFT_LEADER },       { 3, { 0, 0, 1 }, RAFT_LEADER },
        { 3, { 0, 1, 1 }, RAFT_CANDIDATE },    { 4, { 0, 1, 1, 0 }, RAFT_CANDIDATE },
        { 5, { 0, 1, 1, 0, 0 }, RAFT_LEADER },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_t *preset[5] = { NULL };
        for (size_t i = 0; i < cases[c].n; i++)
            preset[i] = cases[c].black[i] ? RT_BLACKHOLE : NULL;
        rt_network_t *net = rt_net_new(cases[c].n, preset);
        rt_net_hup(net, 1);
        raft_t *r = rt_net_node(net, 1);
        if (r->role != cases[c].want)
            fail_msg("case %zu: node 1 is %s", c, raft_role_name(r->role));
        expect_u64(r->term, 1, "the node's term (r->term)");
        rt_net_free(net);
    }
}

static void test_leader_cycle(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum",
                       "the test changes leaders with MsgHup and no ticks: followers that heard "
                       "from a leader ignore vote requests of higher terms (the lease), and a "
                       "leader that hears from no quorum for an election timeout steps down");
    rt_network_t *net = rt_net_new(3, NULL);
    for (uint64_t round = 0; round < 6; round++) {
        uint64_t id = round % 3 + 1;
        rt_net_hup(net, id);
        for (uint64_t j = 1; j <= 3; j++) {
            raft_t *r = rt_net_node(net, j);
            expect_role(r, j == id ? RAFT_LEADER : RAFT_FOLLOWER, "the node");
            expect_u64(r->lead, id, "the node's known leader (r->lead)");
            expect_u64(r->term, round + 1, "the node's term (r->term)");
        }
    }
    rt_net_free(net);
}

static void test_election_overwrite_newer_logs(void **state)
{
    (void)state;
    /* Node 1 won term 1 and wrote an entry that only node 2 got; node 3 won
     * term 2 and wrote an entry nobody got; nodes 4 and 5 voted for 3 at
     * term 2 but have no entries. When node 1 finally wins (at term 3), its
     * term-1 entry must replace node 3's uncommitted term-2 entry. */
    uint64_t t1[] = { 1 }, t3[] = { 2 };
    raft_t *preset[5];
    preset[0] = rt_raft(1, 5, rt_storage_with_terms(t1, 1));
    preset[1] = rt_raft(2, 5, rt_storage_with_terms(t1, 1));
    preset[2] = rt_raft(3, 5, rt_storage_with_terms(t3, 1));
    preset[3] = rt_raft(4, 5, NULL);
    preset[4] = rt_raft(5, 5, NULL);
    preset[0]->term = preset[1]->term = 1;
    for (int i = 2; i < 5; i++) {
        preset[i]->term = 2;
        preset[i]->vote = 3;
    }
    rt_network_t *net = rt_net_new(5, preset);
    /* At term 2, node 1 gets only node 2's vote. */
    rt_net_hup(net, 1);
    expect_role(rt_net_node(net, 1), RAFT_FOLLOWER, "node 1");
    expect_u64(rt_net_node(net, 1)->term, 2, "node 1's term (rt_net_node(net, 1)->term)");
    /* At term 3 nodes 4 and 5 are free to vote and do. */
    rt_net_hup(net, 1);
    raft_t *r = rt_net_node(net, 1);
    expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->term, 3, "the node's term (r->term)");
    for (uint64_t i = 1; i <= 5; i++) {
        raft_t *n = rt_net_node(net, i);
        expect_u64(rt_last(n), 2, "node n's last log index (rt_last(n))");
        expect_u64(
            rt_term_at(n, 1), 1,
            "node n's term of entry 1 (rt_term_at(n, 1))"); /* node 3's term-2 entry is gone */
        expect_u64(rt_term_at(n, 2), 3, "node n's term of entry 2 (rt_term_at(n, 2))");
    }
    rt_net_free(net);
}

static void test_vote_from_any_state(void **state)
{
    (void)state;
    rt_plain_raft_only(
        "check_quorum",
        "a node that knows a leader ignores a vote request of a higher term (the lease)");
    for (int role = 0; role < 3; role++) {
        raft_t *r = rt_raft(1, 3, NULL);
        r->term = 1;
        if (role == 0)
            raft_become_follower(r, r->term, 3);
        if (role == 1)
            raft_become_candidate(r);
        if (role == 2)
            rt_make_leader(r);
        rt_clear(r);
        uint64_t new_term = r->term + 1;
        raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE, 2, 1, new_term);
        m.index = 42;
        m.log_term = new_term;
        rt_step(r, m);
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        expect_u64(n, 1, "messages the node sent (n)");
        expect_named(msgs[0].type, RAFT_MSG_REQUEST_VOTE_RESPONSE, raft_msg_type_name,
                     "message 0's type (msgs[0].type)");
        expect_false(msgs[0].reject, "the vote response rejects a MsgRequestVote of a newer term "
                                     "whose log is at least as up to date");
        expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
        expect_u64(r->term, new_term, "the node's term (r->term)");
        expect_u64(r->vote, 2, "the node's vote (r->vote)");
        rt_free_msgs(msgs, n);
        rt_free_raft(r);
    }
}

static void test_single_node_candidate(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(1, NULL);
    rt_net_hup(net, 1);
    raft_t *r = rt_net_node(net, 1);
    expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->term, 1, "the node's term (r->term)");
    expect_u64(r->log.committed, 1,
               "the node's commit index (r->log.committed)"); /* its no-op commits alone */
    rt_net_free(net);
}

static void test_dueling_candidates(void **state)
{
    (void)state;
    rt_plain_raft_only(
        "pre_vote,check_quorum",
        "pre-vote and the lease change who may campaign and who listens (see disruptive_follower)");
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_cut(net, 1, 3);
    rt_net_hup(net, 1);
    rt_net_hup(net, 3);
    /* 1 won with 2's vote; 3 could not (2 had voted already). */
    expect_role(rt_net_node(net, 1), RAFT_LEADER, "node 1");
    expect_role(rt_net_node(net, 3), RAFT_CANDIDATE, "node 3");
    rt_net_recover(net);
    /* 3 campaigns again at term 2; its log is behind, so it loses, and the
     * whole cluster ends at term 2 without a leader. */
    rt_net_hup(net, 3);
    for (uint64_t i = 1; i <= 3; i++) {
        raft_t *r = rt_net_node(net, i);
        expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
        expect_u64(r->term, 2, "the node's term (r->term)");
    }
    expect_u64(rt_last(rt_net_node(net, 1)), 1, "node 1's last log index");
    expect_u64(rt_last(rt_net_node(net, 3)), 0, "node 3's last log index");
    rt_net_free(net);
}

static void test_candidate_concede(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_isolate(net, 1);
    rt_net_hup(net, 1);
    rt_net_hup(net, 3);
    rt_net_recover(net);
    /* 3 leads at term 1; 1 is a stale candidate at term 1 and concedes when
     * 3's heartbeat arrives. */
    rt_net_send(net, rt_msg(RAFT_MSG_BEAT, 3, 3, 0));
    rt_net_propose(net, 3, "force");
    raft_t *a = rt_net_node(net, 1);
    expect_role(a, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)a->id);
    expect_u64(a->term, 1, "node a's term (a->term)");
    expect_u64(a->lead, 3, "node a's known leader (a->lead)");
    for (uint64_t i = 1; i <= 3; i++) {
        raft_t *r = rt_net_node(net, i);
        expect_u64(rt_last(r), 2, "the node's last log index (rt_last(r))");
        expect_u64(r->log.committed, 2, "the node's commit index (r->log.committed)");
    }
    rt_net_free(net);
}

static void test_old_messages_ignored(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum",
                       "the test builds term 3 by MsgHups with no ticks: followers that heard from "
                       "a leader ignore vote requests of higher terms (the lease), and a leader "
                       "that hears from no quorum for an election timeout steps down");
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_hup(net, 2);
    rt_net_hup(net, 1); /* node 1 leads at term 3 */
    /* An append from node 2 as leader of term 2 is stale. */
    raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 2);
    raft_entry_t e = { RAFT_ENTRY_NORMAL, 2, 3, NULL, 0 };
    m.entries = &e;
    m.n_entries = 1;
    m.index = 2;
    m.log_term = 2;
    raft_t *r = rt_net_node(net, 1);
    tkv_err_t err = raft_step(r, &m);
    expect_err(
        err, TKV_OK,
        "raft_step of a MsgAppend from a lower term on leader 1 (it is ignored, not an error)");
    expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
    expect_u64(r->term, 3, "the node's term (r->term)");
    expect_u64(rt_last(r), 3, "the node's last log index (rt_last(r))");
    expect_u64(rt_term_at(r, 3), 3, "the node's term of entry 3 (rt_term_at(r, 3))");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (out[i].type != RAFT_MSG_APPEND_RESPONSE || out[i].to != 2 || out[i].term != 3)
            fail_msg("leader 1 of term 3 may only answer the stale append of node 2 with its "
                     "term (a MsgAppendResponse of term 3 to node 2); it sent a %s to %llu at "
                     "term %llu",
                     raft_msg_type_name(out[i].type), (unsigned long long)out[i].to,
                     (unsigned long long)out[i].term);
    }
    rt_free_msgs(out, n);
    rt_net_free(net);
}

static void test_higher_term_steps_leader_down(void **state)
{
    (void)state;
    raft_msg_type_t types[] = { RAFT_MSG_APPEND_RESPONSE, RAFT_MSG_HEARTBEAT_RESPONSE,
                                RAFT_MSG_REQUEST_VOTE_RESPONSE, RAFT_MSG_HEARTBEAT };
    for (size_t c = 0; c < 4; c++) {
        raft_t *r = rt_raft(1, 3, NULL);
        rt_make_leader(r);
        rt_step(r, rt_msg(types[c], 2, 1, r->term + 3));
        expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
        expect_u64(r->term, 4, "the node's term (r->term)");
        expect_u64(r->lead, types[c] == RAFT_MSG_HEARTBEAT ? 2 : RAFT_NONE,
                   "the node's known leader (r->lead)");
        rt_free_raft(r);
    }
}

static void test_disruptive_follower(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote,check_quorum",
                       "the test is plain Raft's disruption (a higher-term vote request deposes "
                       "the leader), which pre-vote and the lease exist to prevent");
    /* A follower cut off from the leader keeps campaigning and raising its
     * term; when it comes back, its higher term deposes the leader, and the
     * cluster elects a leader again at the new term. */
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    raft_t *c = rt_net_node(net, 3);
    rt_net_isolate(net, 3);
    for (int i = 0; i < 3 * 2 * c->election_tick; i++)
        raft_tick(c);
    rt_clear(c);
    uint64_t t = c->term;
    expect_true(t >= 3,
                "isolated node 3 keeps campaigning: after 3 election timeouts its term must be at "
                "least 3, it is %llu",
                (unsigned long long)t);
    expect_role(c, RAFT_CANDIDATE, "the role of node %llu", (unsigned long long)c->id);
    rt_net_recover(net);
    rt_net_hup(net, 3);
    /* Its log is behind, so it cannot win, but node 1 lost leadership. */
    expect_role(rt_net_node(net, 1), RAFT_FOLLOWER, "node 1");
    expect_u64(rt_net_node(net, 1)->term, t + 1, "node 1's term (rt_net_node(net, 1)->term)");
    rt_net_hup(net, 1);
    expect_role(rt_net_node(net, 1), RAFT_LEADER, "node 1");
    expect_u64(c->lead, 1, "node c's known leader (c->lead)");
    expect_u64(c->term, t + 2, "node c's term (c->term)");
    rt_net_free(net);
}

static void test_split_vote(void **state)
{
    (void)state;
    /* In a cluster of four, two candidates with one vote each besides their
     * own: nobody has three, nobody leads; a later election settles it. */
    rt_network_t *net = rt_net_new(4, NULL);
    rt_net_cut(net, 1, 4);
    rt_net_cut(net, 2, 3);
    rt_net_cut(net, 1, 3);
    rt_net_cut(net, 2, 4);
    rt_net_cut(net, 3, 4);
    rt_net_hup(net, 1); /* votes: 1, 2 */
    rt_net_hup(net, 3); /* it knows of term 1 only from nobody: votes 3 alone */
    rt_net_hup(net, 4); /* 4 and... nobody */
    for (uint64_t i = 1; i <= 4; i++)
        expect_true(rt_net_node(net, i)->role != RAFT_LEADER,
                    "with every vote split, node %llu must not lead (no candidate has 3 of 4 "
                    "votes); it is a %s",
                    (unsigned long long)i, raft_role_name(rt_net_node(net, i)->role));
    rt_net_recover(net);
    rt_net_hup(net, 1);
    int leaders = 0;
    for (uint64_t i = 1; i <= 4; i++)
        leaders += rt_net_node(net, i)->role == RAFT_LEADER;
    expect_u64(leaders, 1, "leaders after the partition healed and node 1 campaigned");
    expect_role(rt_net_node(net, 1), RAFT_LEADER, "node 1");
    rt_net_free(net);
}

static void test_become_leader_appends_noop(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    expect_u64(rt_last(r), 1, "the node's last log index (rt_last(r))");
    expect_u64(rt_term_at(r, 1), r->term, "the node's term of entry 1 (rt_term_at(r, 1))");
    raft_entry_t *ents;
    size_t n;
    expect_err(rlog_slice(&r->log, 1, 2, UINT64_MAX, &ents, &n), TKV_OK,
               "rlog_slice(&r->log, 1, 2, UINT64_MAX, &ents, &n)");
    expect_u64(n, 1, "entries at index 1 of a new leader (its no-op)");
    expect_u64(ents[0].len, 0, "entry [0]'s len (ents[0].len)");
    expect_u64(ents[0].type, RAFT_ENTRY_NORMAL, "entry [0]'s type (ents[0].type)");
    raft_entries_free(ents, n);
    /* and it sends that entry to both followers */
    size_t nm;
    raft_message_t *msgs = rt_take(r, &nm);
    int appends = 0;
    for (size_t i = 0; i < nm; i++) {
        if (msgs[i].type == RAFT_MSG_APPEND && msgs[i].n_entries == 1 &&
            msgs[i].entries[0].index == 1)
            appends++;
    }
    expect_u64(appends, 2,
               "MsgAppends of the no-op (index 1) sent by the new leader (one per follower)");
    rt_free_msgs(msgs, nm);
    rt_free_raft(r);
}

const tkv_test_t raft_election_tests[] = {
    { "project2a", "term_update_from_any_message", 2,
      "a higher term in any message makes the node a follower in that term",
      test_term_update_from_any_message },
    { "project2a", "start_as_follower", 1,
      "a new node starts as a follower at term 0 with a timeout in [et, 2*et)",
      test_start_as_follower },
    { "project2a", "leader_bcast_beat", 2, "a leader sends heartbeats every heartbeat_tick",
      test_leader_bcast_beat },
    { "project2a", "heartbeat_commit_capped_by_match", 2,
      "heartbeats carry min(match, commit); only a leader acts on MsgBeat",
      test_heartbeat_commit_capped_by_match },
    { "project2a", "follower_start_election", 2,
      "a follower that hears nothing for an election timeout campaigns at term+1",
      test_follower_start_election },
    { "project2a", "candidate_start_new_election", 2,
      "a candidate whose election timed out starts a new one at term+1",
      test_candidate_start_new_election },
    { "project2a", "leader_election_in_one_round", 3,
      "a candidate wins with a majority, loses with a majority of rejections, else waits",
      test_leader_election_in_one_round },
    { "project2a", "follower_vote", 2, "a follower votes for at most one candidate per term",
      test_follower_vote },
    { "project2a", "vote_request_up_to_date_rule", 3,
      "votes go only to candidates whose log is at least as up to date (5.4.1)",
      test_vote_request_up_to_date_rule },
    { "project2a", "candidate_fallback", 2,
      "a candidate that hears a leader of its term or later becomes its follower",
      test_candidate_fallback },
    { "project2a", "randomized_election_timeout", 2,
      "election timeouts are drawn from [et, 2*et) and cover that range",
      test_randomized_election_timeout },
    { "project2a", "non_conflicting_timeouts", 2, "five followers rarely time out on the same tick",
      test_non_conflicting_timeouts },
    { "project2a", "leader_election_with_failures", 3,
      "an election succeeds exactly when a majority is reachable",
      test_leader_election_with_failures },
    { "project2a", "leader_cycle", 2, "every node can in turn win an election", test_leader_cycle },
    { "project2a", "election_overwrite_newer_logs", 3,
      "a new leader overwrites uncommitted entries of later terms on other nodes",
      test_election_overwrite_newer_logs },
    { "project2a", "vote_from_any_state", 2,
      "follower, candidate and leader all grant a vote for a higher term",
      test_vote_from_any_state },
    { "project2a", "single_node_candidate", 1, "a cluster of one elects itself at once",
      test_single_node_candidate },
    { "project2a", "dueling_candidates", 3,
      "a second candidate with a shorter log cannot win; terms still converge",
      test_dueling_candidates },
    { "project2a", "candidate_concede", 2,
      "a stale candidate concedes to a leader of its term and catches up", test_candidate_concede },
    { "project2a", "old_messages_ignored", 2, "messages from an older term change nothing",
      test_old_messages_ignored },
    { "project2a", "higher_term_steps_leader_down", 2,
      "a leader that sees a higher term in any response steps down",
      test_higher_term_steps_leader_down },
    { "project2a", "disruptive_follower", 2,
      "a partitioned follower returning with a higher term forces a new election",
      test_disruptive_follower },
    { "project2a", "split_vote", 2, "a split vote elects nobody; a later election settles it",
      test_split_vote },
    { "project2a", "become_leader_appends_noop", 2,
      "a new leader appends an empty entry of its term and sends it out",
      test_become_leader_appends_noop },
    { 0 },
};
