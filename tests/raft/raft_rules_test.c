/*
 * Rules of elections and replication (2A) that the scenario tests in
 * raft_election_test.c and raft_replication_test.c let slip: a heartbeat
 * resets the follower's election timer, messages of an older term change
 * nothing in any role, MsgHup to a leader, a candidate stepping down on a
 * heartbeat, the leader's own progress, what a vote request carries, and the
 * full handling tables of MsgAppend and MsgRequestVote (after etcd/raft's
 * TestHandleMsgApp and TestRecvMsgVote, as TinyKV grades them).
 *
 * Each test here was checked against the plausible bug it names: planted in
 * the reference, the test fails; reverted, it passes.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/raft/raft_expect.h"

/* A follower of leader 2 at `term`, in a 3-node cluster over `ms`. */
static raft_t *follower_of_2(uint64_t term, mem_storage_t *ms)
{
    raft_t *r = rt_raft(1, 3, ms);
    raft_become_follower(r, term, 2);
    rt_clear(r);
    return r;
}

static void test_heartbeat_resets_election_timer(void **state)
{
    (void)state;
    /* Bug caught: a follower that resets its timer on MsgAppend only keeps
     * campaigning against a healthy leader whose log is idle. */
    raft_t *r = follower_of_2(1, NULL);
    /* Heartbeats every election_tick - 1 ticks: sooner than any randomized
     * timeout, so a follower that restarts its timer never campaigns, even
     * if it draws a new timeout each time. Three rounds outlast any timeout. */
    int gap = r->election_tick - 1;
    for (int round = 0; round < 3; round++) {
        rt_tick_n(r, gap);
        expect_role(r, RAFT_FOLLOWER,
                    "node 1 after %d ticks with a heartbeat from leader 2 every %d ticks "
                    "(election timeout at least %d)",
                    (round + 1) * gap, gap, r->election_tick);
        rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT, 2, 1, 1));
    }
    expect_u64(r->term, 1, "node 1's term: its leader never went quiet");
    rt_free_raft(r);
}

static void test_stale_messages_ignored_by_follower(void **state)
{
    (void)state;
    /* Node 1 follows leader 2 at term 3 and has voted for 2. Node 3 was
     * leader at term 2 and does not know yet that it was deposed. Bugs
     * caught: adopting the old leader, taking its entries or commit,
     * resetting the timer for it, or granting it a vote. */
    uint64_t terms[] = { 1, 2 };
    raft_t *r = follower_of_2(3, rt_storage_with_terms(terms, 2));
    r->vote = 2;
    rt_tick_n(r, 5);

    raft_message_t app = rt_msg(RAFT_MSG_APPEND, 3, 1, 2);
    raft_entry_t e = { RAFT_ENTRY_NORMAL, 2, 3, NULL, 0 };
    app.index = 2;
    app.log_term = 2;
    app.entries = &e;
    app.n_entries = 1;
    app.commit = 3;
    rt_step(r, app);
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT, 3, 1, 2));
    raft_message_t snap = rt_msg(RAFT_MSG_SNAPSHOT, 3, 1, 2);
    snap.snapshot.metadata.index = 10;
    snap.snapshot.metadata.term = 2;
    rt_step(r, snap);
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 1, 2);
    vote.index = 9;
    vote.log_term = 2;
    rt_step(r, vote);

    expect_u64(r->term, 3, "node 1's term after messages of term 2");
    expect_u64(r->lead, 2, "node 1's leader after node 3, leader of the older term 2, wrote to it");
    expect_u64(r->vote, 2, "node 1's vote in term 3 after a vote request of term 2");
    expect_u64(rt_last(r), 2, "node 1's last index after a stale MsgAppend");
    expect_u64(r->log.committed, 0, "node 1's commit index after stale messages with commit 3");
    expect_true(rlog_pending_snapshot(&r->log) == NULL,
                "node 1 must not take a snapshot sent at term 2");
    expect_u64(r->election_elapsed, 5,
               "ticks since node 1 heard from its leader (a deposed leader does not count)");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        expect_true(out[i].type != RAFT_MSG_REQUEST_VOTE_RESPONSE || out[i].reject,
                    "node 1 must not grant a vote request of term 2 while at term 3");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

/* The one message r sent, which must be of `type` to `to` at `term`. */
static void expect_one_answer(raft_t *r, raft_msg_type_t type, uint64_t to, uint64_t term,
                              const char *after)
{
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    int ok = n == 1 && out[0].type == type && out[0].to == to && out[0].term == term &&
             (type != RAFT_MSG_REQUEST_VOTE_RESPONSE || out[0].reject);
    if (!ok)
        fail_msg("after %s, node 1 should answer node %llu once with a %s%s of its term %llu; "
                 "it sent %zu messages (the first: %s to %llu at term %llu)",
                 after, (unsigned long long)to, raft_msg_type_name(type),
                 type == RAFT_MSG_REQUEST_VOTE_RESPONSE ? " (a refusal)" : "",
                 (unsigned long long)term, n, n ? raft_msg_type_name(out[0].type) : "-",
                 n ? (unsigned long long)out[0].to : 0ULL,
                 n ? (unsigned long long)out[0].term : 0ULL);
    rt_free_msgs(out, n);
}

static void test_stale_sender_told_the_term(void **state)
{
    (void)state;
    /* Paper figure 2: a request of an older term is refused, and the reply
     * carries the current term so the sender steps down. Bugs caught:
     * dropping a stale vote request or append silently. Then a candidate
     * behind the one voter it needs never catches up (both terms grow only
     * by campaigning), and a member whose term went up while a leader of a
     * lower term replicates to it is never reached. */
    raft_t *r = follower_of_2(3, NULL);
    raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE, 3, 1, 2);
    vote.index = 9;
    vote.log_term = 2;
    rt_step(r, vote);
    expect_one_answer(r, RAFT_MSG_REQUEST_VOTE_RESPONSE, 3, 3, "a vote request of term 2");
    raft_message_t app = rt_msg(RAFT_MSG_APPEND, 3, 1, 2);
    rt_step(r, app);
    expect_one_answer(r, RAFT_MSG_APPEND_RESPONSE, 3, 3, "a MsgAppend of term 2");
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT, 3, 1, 2));
    expect_one_answer(r, RAFT_MSG_APPEND_RESPONSE, 3, 3, "a heartbeat of term 2");
    expect_u64(r->term, 3, "node 1's term after the stale messages");
    expect_u64(r->lead, 2, "node 1's leader after the stale messages");
    rt_free_raft(r);

    /* And the sender, a candidate of term 2, steps down to term 3. */
    raft_t *c = rt_raft(1, 3, NULL);
    raft_become_candidate(c);
    raft_become_candidate(c);
    rt_clear(c);
    rt_step(c, rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 2, 1, 3));
    expect_role(c, RAFT_FOLLOWER, "candidate 1 of term 2, told by node 2 that the term is 3");
    expect_u64(c->term, 3, "node 1's term after a refusal of term 3");
    rt_free_raft(c);
}

static void test_stale_messages_ignored_by_candidate(void **state)
{
    (void)state;
    /* Node 1 lost its election of term 1 and campaigns again at term 2.
     * Bugs caught: counting a grant that answers the term-1 election, and
     * stepping down for a leader of an older term. */
    raft_t *r = rt_raft(1, 3, NULL);
    raft_become_candidate(r);
    raft_become_candidate(r);
    rt_clear(r);
    expect_u64(r->term, 2, "node 1's term after campaigning twice");
    raft_message_t grant = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 2, 1, 1);
    rt_step(r, grant);
    expect_role(r, RAFT_CANDIDATE,
                "node 1 at term 2 got one grant, from node 2, but for its election of term 1");
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT, 3, 1, 1));
    rt_step(r, rt_msg(RAFT_MSG_APPEND, 3, 1, 1));
    expect_role(r, RAFT_CANDIDATE, "node 1 at term 2 after messages from a leader of term 1");
    expect_u64(r->term, 2, "node 1's term");
    expect_u64(r->lead, RAFT_NONE, "node 1's leader");
    /* The same grant at the current term does win. */
    grant.term = 2;
    rt_step(r, grant);
    expect_role(r, RAFT_LEADER, "node 1 after a grant of term 2 from node 2 (2 of 3 votes)");
    rt_free_raft(r);
}

static void test_hup_to_leader_changes_nothing(void **state)
{
    (void)state;
    /* Bug caught: a leader that campaigns again on MsgHup (a new term, a
     * needless election, and followers' logs truncated behind it). */
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_propose(r, "x");
    rt_clear(r);
    uint64_t term = r->term, last = rt_last(r);
    rt_step(r, rt_msg(RAFT_MSG_HUP, 1, 1, 0));
    expect_role(r, RAFT_LEADER, "node 1, leader of term %llu, after MsgHup",
                (unsigned long long)term);
    expect_u64(r->term, term, "the leader's term after MsgHup");
    expect_u64(rt_last(r), last, "the leader's last index after MsgHup");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    expect_no_msg(out, n, RAFT_MSG_REQUEST_VOTE, "a leader given MsgHup");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

static void test_candidate_steps_down_on_heartbeat(void **state)
{
    (void)state;
    /* Node 2 won term 1 while node 1 was also campaigning in it. Its
     * first word to node 1 may be a heartbeat, not an append. */
    raft_t *r = rt_raft(1, 3, NULL);
    raft_become_candidate(r);
    rt_clear(r);
    raft_message_t hb = rt_msg(RAFT_MSG_HEARTBEAT, 2, 1, 1);
    rt_step(r, hb);
    expect_role(r, RAFT_FOLLOWER, "candidate 1 after a heartbeat from leader 2 of its own term 1");
    expect_u64(r->term, 1, "node 1's term");
    expect_u64(r->lead, 2, "node 1's leader after leader 2's heartbeat");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    const raft_message_t *resp =
        expect_msg(out, n, RAFT_MSG_HEARTBEAT_RESPONSE, 2, "node 1 answers the heartbeat");
    expect_u64(resp->term, 1, "the term of node 1's heartbeat response");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

static void test_leader_tracks_own_progress(void **state)
{
    (void)state;
    /* The leader is one of the quorum: its own match follows its log.
     * Bug caught: a leader that counts only its followers' acks (commit
     * then needs every follower of a 3-node cluster, not one). */
    uint64_t terms[] = { 1, 1 };
    raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
    r->term = 1;
    rt_make_leader(r);
    raft_progress_t *self = prs_find(&r->prs, 1);
    expect_true(self != NULL, "the leader has a progress entry for itself");
    expect_u64(self->match, 3, "the new leader's own match: 2 old entries and its no-op");
    expect_u64(self->next, 4, "the new leader's own next");
    rt_propose(r, "a");
    rt_propose(r, "b");
    self = prs_find(&r->prs, 1);
    expect_u64(self->match, 5, "the leader's own match after two proposals");
    expect_u64(self->next, 6, "the leader's own next after two proposals");
    raft_message_t ack = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    ack.index = 5;
    rt_step(r, ack);
    expect_u64(r->log.committed, 5,
               "the commit index once node 2 of 3 holds entry 5 (the leader holds it too)");
    rt_free_raft(r);
}

static void test_vote_request_carries_last_index_and_term(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote", "a timeout or MsgHup makes a pre-candidate that asks first "
                                   "(MsgPreVote), not a candidate at term + 1");
    /* Bugs caught: a candidate that sends its commit index, or the term of
     * its committed entry, instead of its last entry's index and term (the
     * up-to-date check of §5.4.1 then elects the wrong nodes). */
    uint64_t terms[] = { 1, 1, 2, 3, 3 };
    raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 5));
    r->term = 3;
    rlog_commit_to(&r->log, 2);
    rt_step(r, rt_msg(RAFT_MSG_HUP, 1, 1, 0));
    expect_role(r, RAFT_CANDIDATE, "node 1 after MsgHup");
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    for (uint64_t to = 2; to <= 3; to++) {
        const raft_message_t *m =
            expect_msg(out, n, RAFT_MSG_REQUEST_VOTE, to, "candidate 1 asks node %llu for a vote",
                       (unsigned long long)to);
        expect_u64(m->term, 4, "the term of the vote request to node %llu", (unsigned long long)to);
        expect_u64(m->index, 5, "the last index in the vote request to node %llu (log 1..5)",
                   (unsigned long long)to);
        expect_u64(m->log_term, 3, "the last term in the vote request to node %llu",
                   (unsigned long long)to);
        expect_u64(m->from, 1, "the sender of the vote request");
    }
    expect_u64(n, 2, "messages sent by candidate 1 of a 3-node cluster");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

/* ---- MsgAppend: the follower's whole table ---------------------------------- */

typedef struct {
    uint64_t log_term, index, commit; /* the message's */
    uint64_t ent_terms[2];            /* terms of the entries after index (0: none) */
    uint64_t want_last, want_commit;
    int want_reject;
    uint64_t want_index; /* in the response */
    const char *why;
} append_case_t;

static void test_append_handling_table(void **state)
{
    (void)state;
    /* The follower holds (index 1, term 1), (2, 2), is at term 2, commit 0. */
    static const append_case_t cases[] = {
        { 3, 2, 3, { 0 }, 2, 0, 1, 2, "entry 2 has term 2, not 3: reject" },
        { 3, 3, 3, { 0 }, 2, 0, 1, 3, "there is no entry 3: reject" },
        { 1, 1, 1, { 0 }, 2, 1, 0, 1, "entry 1 matches: commit 1" },
        { 0, 0, 1, { 2 }, 1, 1, 0, 1, "from the start: entry 1 of term 2 replaces all" },
        { 2, 2, 3, { 2, 2 }, 4, 3, 0, 4, "two new entries; commit 3 of 4" },
        { 2, 2, 4, { 2 }, 3, 3, 0, 3, "commit 4 is capped at the last new entry, 3" },
        { 1, 1, 4, { 2 }, 2, 2, 0, 2, "entry 2 of term 2 again: commit capped at 2" },
        { 1, 1, 3, { 0 }, 2, 1, 0, 1, "no entries after 1: commit capped at 1, not 3" },
        { 2, 2, 2, { 0 }, 2, 2, 0, 2, "a heartbeat-like append commits 2" },
        { 1, 1, 2, { 3 }, 2, 2, 0, 2, "entry 2 of term 3 overwrites entry 2 of term 2" },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const append_case_t *tc = &cases[c];
        uint64_t terms[] = { 1, 2 };
        raft_t *r = follower_of_2(2, rt_storage_with_terms(terms, 2));
        raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 2);
        raft_entry_t ents[2] = { { 0 } };
        m.log_term = tc->log_term;
        m.index = tc->index;
        m.commit = tc->commit;
        for (size_t i = 0; i < 2 && tc->ent_terms[i]; i++) {
            ents[i].term = tc->ent_terms[i];
            ents[i].index = tc->index + 1 + i;
            m.n_entries = i + 1;
        }
        m.entries = m.n_entries ? ents : NULL;
        rt_step(r, m);
        expect_u64(rt_last(r), tc->want_last, "case %zu (%s): the follower's last index", c,
                   tc->why);
        expect_u64(r->log.committed, tc->want_commit, "case %zu (%s): the follower's commit", c,
                   tc->why);
        for (size_t i = 0; i < 2 && tc->ent_terms[i]; i++)
            expect_u64(rt_term_at(r, tc->index + 1 + i), tc->ent_terms[i],
                       "case %zu (%s): the term of entry %llu", c, tc->why,
                       (unsigned long long)(tc->index + 1 + i));
        size_t n;
        raft_message_t *out = rt_take(r, &n);
        const raft_message_t *resp = expect_msg(out, n, RAFT_MSG_APPEND_RESPONSE, 2,
                                                "case %zu (%s): the answer", c, tc->why);
        expect_u64((uint64_t)(resp->reject != 0), (uint64_t)tc->want_reject,
                   "case %zu (%s): the response rejects (1) or accepts (0)", c, tc->why);
        expect_u64(resp->index, tc->want_index, "case %zu (%s): the index in the response", c,
                   tc->why);
        expect_u64(resp->term, 2, "case %zu (%s): the term of the response", c, tc->why);
        if (tc->want_reject)
            expect_u64(resp->reject_hint, 2,
                       "case %zu (%s): a rejection's hint is the follower's last index", c,
                       tc->why);
        rt_free_msgs(out, n);
        rt_free_raft(r);
    }
}

/* ---- MsgRequestVote: the whole table ---------------------------------------- */

typedef struct {
    raft_role_t role;
    uint64_t index, log_term; /* the candidate's last entry */
    uint64_t vote;            /* whom node 1 voted for at term 3 */
    int want_reject;
} vote_case_t;

static void test_vote_handling_table(void **state)
{
    (void)state;
    /* Node 1 holds (1, 2), (2, 2) and is at term 3; node 2 asks at term 3. */
    static const vote_case_t cases[] = {
        { RAFT_FOLLOWER, 0, 0, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 0, 1, RAFT_NONE, 1 },
        { RAFT_FOLLOWER, 0, 2, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 0, 3, RAFT_NONE, 0 },
        { RAFT_FOLLOWER, 1, 0, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 1, 1, RAFT_NONE, 1 },
        { RAFT_FOLLOWER, 1, 2, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 1, 3, RAFT_NONE, 0 },
        { RAFT_FOLLOWER, 2, 0, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 2, 1, RAFT_NONE, 1 },
        { RAFT_FOLLOWER, 2, 2, RAFT_NONE, 0 }, { RAFT_FOLLOWER, 2, 3, RAFT_NONE, 0 },
        { RAFT_FOLLOWER, 3, 0, RAFT_NONE, 1 }, { RAFT_FOLLOWER, 3, 1, RAFT_NONE, 1 },
        { RAFT_FOLLOWER, 3, 2, RAFT_NONE, 0 }, { RAFT_FOLLOWER, 3, 3, RAFT_NONE, 0 },
        { RAFT_FOLLOWER, 3, 2, 2, 0 },         { RAFT_FOLLOWER, 3, 2, 3, 1 },
        { RAFT_FOLLOWER, 1, 1, 2, 1 },         { RAFT_CANDIDATE, 3, 3, 1, 1 },
        { RAFT_LEADER, 3, 3, 1, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const vote_case_t *tc = &cases[c];
        uint64_t terms[] = { 2, 2 };
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
        r->term = 2;
        if (tc->role == RAFT_FOLLOWER) {
            raft_become_follower(r, 3, RAFT_NONE);
            r->vote = tc->vote;
        } else if (tc->role == RAFT_CANDIDATE) {
            raft_become_candidate(r);
        } else {
            rt_make_leader(r);
        }
        rt_clear(r);
        raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE, 2, 1, 3);
        m.index = tc->index;
        m.log_term = tc->log_term;
        rt_step(r, m);
        size_t n;
        raft_message_t *out = rt_take(r, &n);
        const raft_message_t *resp = expect_msg(
            out, n, RAFT_MSG_REQUEST_VOTE_RESPONSE, 2,
            "case %zu: %s 1 (log ends at 2@2, voted for %llu) asked by node 2 (log ends at "
            "%llu@%llu)",
            c, raft_role_name(tc->role), (unsigned long long)tc->vote,
            (unsigned long long)tc->index, (unsigned long long)tc->log_term);
        expect_u64((uint64_t)(resp->reject != 0), (uint64_t)tc->want_reject,
                   "case %zu: %s 1 (log ends at 2@2, voted for %llu) asked by node 2 (log ends "
                   "at %llu@%llu): rejects (1) or grants (0)",
                   c, raft_role_name(tc->role), (unsigned long long)tc->vote,
                   (unsigned long long)tc->index, (unsigned long long)tc->log_term);
        expect_u64(resp->term, 3, "case %zu: the term of the vote response", c);
        if (!tc->want_reject)
            expect_u64(r->vote, 2, "case %zu: whom node 1 voted for after granting", c);
        rt_free_msgs(out, n);
        rt_free_raft(r);
    }
    /* A request of a newer term frees the vote given in the old one. */
    uint64_t terms[] = { 2, 2 };
    raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
    raft_become_follower(r, 3, RAFT_NONE);
    r->vote = 3;
    raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE, 2, 1, 4);
    m.index = 2;
    m.log_term = 2;
    rt_step(r, m);
    size_t n;
    raft_message_t *out = rt_take(r, &n);
    const raft_message_t *resp =
        expect_msg(out, n, RAFT_MSG_REQUEST_VOTE_RESPONSE, 2, "node 1 answers a term-4 request");
    expect_u64((uint64_t)(resp->reject != 0), 0,
               "node 1 voted for 3 at term 3; node 2 asks at term 4 with an equal log: rejects "
               "(1) or grants (0)");
    expect_u64(r->vote, 2, "node 1's vote at term 4");
    rt_free_msgs(out, n);
    rt_free_raft(r);
}

const tkv_test_t raft_rules_tests[] = {
    { "project2a", "heartbeat_resets_election_timer", 2,
      "a follower's election timer restarts on every heartbeat of its leader",
      test_heartbeat_resets_election_timer },
    { "project2a", "stale_messages_ignored_by_follower", 2,
      "a follower ignores appends, heartbeats, snapshots and votes of an older term",
      test_stale_messages_ignored_by_follower },
    { "project2a", "stale_sender_told_the_term", 2,
      "a vote request or append of an older term gets an answer with the current term",
      test_stale_sender_told_the_term },
    { "project2a", "stale_messages_ignored_by_candidate", 2,
      "a candidate counts no votes and follows no leader of an older term",
      test_stale_messages_ignored_by_candidate },
    { "project2a", "hup_to_leader_changes_nothing", 1, "MsgHup to a leader starts no election",
      test_hup_to_leader_changes_nothing },
    { "project2a", "candidate_steps_down_on_heartbeat", 2,
      "a candidate that hears a heartbeat of its term follows the sender",
      test_candidate_steps_down_on_heartbeat },
    { "project2a", "leader_tracks_own_progress", 2,
      "a leader's own match and next follow its log, and count towards commit",
      test_leader_tracks_own_progress },
    { "project2a", "vote_request_carries_last_index_and_term", 2,
      "a vote request carries the candidate's last log index and term",
      test_vote_request_carries_last_index_and_term },
    { "project2a", "append_handling_table", 3,
      "MsgAppend: reject on mismatch, append, truncate conflicts, commit min(commit, last new)",
      test_append_handling_table },
    { "project2a", "vote_handling_table", 3,
      "MsgRequestVote: one vote per term, only for a log at least as up to date",
      test_vote_handling_table },
    { 0 },
};
