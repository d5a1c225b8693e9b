/*
 * Log replication and commitment (Raft paper §5.3, §5.4.2): what a leader
 * sends, what a follower accepts or rejects, and when entries commit.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

/* Acknowledges every MsgAppend in msgs as the follower would on success. */
static void ack_appends(raft_t *leader, raft_message_t *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].type != RAFT_MSG_APPEND)
            continue;
        raft_message_t resp =
            rt_msg(RAFT_MSG_APPEND_RESPONSE, msgs[i].to, leader->id, leader->term);
        resp.index = msgs[i].index + msgs[i].n_entries;
        rt_step(leader, resp);
    }
}

static void test_leader_start_replication(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    ack_appends(r, msgs, n);
    rt_free_msgs(msgs, n);
    rt_clear(r);
    uint64_t li = rt_last(r);
    rt_propose(r, "some data");
    expect_u64(rt_last(r), li + 1, "the node's last log index (rt_last(r))");
    expect_u64(r->log.committed, li, "the node's commit index (r->log.committed)");
    msgs = rt_take(r, &n);
    expect_u64(n, 2, "messages the node sent (n)");
    for (size_t i = 0; i < n; i++) {
        expect_named(msgs[i].type, RAFT_MSG_APPEND, raft_msg_type_name,
                     "message i's type (msgs[i].type)");
        expect_u64(msgs[i].to, i + 2, "message i's recipient (msgs[i].to)");
        expect_u64(msgs[i].index, li,
                   "message i's index (of the entry before its entries) (msgs[i].index)");
        expect_u64(msgs[i].log_term, 1,
                   "message i's log term (of the entry at index) (msgs[i].log_term)");
        expect_u64(msgs[i].commit, li, "message i's commit index (msgs[i].commit)");
        expect_u64(msgs[i].n_entries, 1, "message i's number of entries (msgs[i].n_entries)");
        expect_u64(msgs[i].entries[0].index, li + 1,
                   "message i's first entry's index (msgs[i].entries[0].index)");
        expect_u64(msgs[i].entries[0].term, 1,
                   "message i's first entry's term (msgs[i].entries[0].term)");
        expect_bytes(msgs[i].entries[0].data, msgs[i].entries[0].len, "some data", 9,
                     "the data of the entry in the MsgAppend to %llu (the proposal's)",
                     (unsigned long long)msgs[i].to);
    }
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_leader_commit_entry(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    ack_appends(r, msgs, n);
    rt_free_msgs(msgs, n);
    rt_clear(r);
    uint64_t li = rt_last(r);
    rt_propose(r, "some data");
    msgs = rt_take(r, &n);
    ack_appends(r, msgs, n);
    rt_free_msgs(msgs, n);
    expect_u64(r->log.committed, li + 1, "the node's commit index (r->log.committed)");
    /* The followers are told the new commit index. */
    msgs = rt_take(r, &n);
    expect_u64(n, 2, "messages the node sent (n)");
    for (size_t i = 0; i < n; i++) {
        expect_named(msgs[i].type, RAFT_MSG_APPEND, raft_msg_type_name,
                     "message i's type (msgs[i].type)");
        expect_u64(msgs[i].commit, li + 1, "message i's commit index (msgs[i].commit)");
    }
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_leader_acknowledge_commit(void **state)
{
    (void)state;
    struct {
        size_t size;
        int acks; /* bitmask of followers (bit i: node i+2) that ack */
        int committed;
    } cases[] = {
        { 1, 0, 1 }, { 3, 0, 0 },   { 3, 1, 1 },   { 3, 3, 1 }, { 5, 0, 0 }, { 5, 1, 0 },
        { 5, 3, 1 }, { 5, 0xf, 1 }, { 5, 0x6, 1 }, { 4, 1, 0 }, { 4, 3, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_t *r = rt_raft(1, cases[c].size, NULL);
        rt_make_leader(r);
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        ack_appends(r, msgs, n);
        rt_free_msgs(msgs, n);
        rt_clear(r);
        uint64_t li = rt_last(r);
        rt_propose(r, "x");
        msgs = rt_take(r, &n);
        for (size_t i = 0; i < n; i++) {
            if ((cases[c].acks >> (msgs[i].to - 2)) & 1)
                ack_appends(r, &msgs[i], 1);
        }
        rt_free_msgs(msgs, n);
        if ((r->log.committed > li) != cases[c].committed)
            fail_msg("case %zu: committed %llu after last %llu", c,
                     (unsigned long long)r->log.committed, (unsigned long long)li);
        rt_free_raft(r);
    }
}

static void test_leader_commit_preceding_entries(void **state)
{
    (void)state;
    /* Entries of earlier terms commit along with the first entry of the
     * leader's own term. */
    uint64_t prefixes[][2] = { { 0, 0 }, { 2, 0 }, { 1, 1 }, { 1, 2 } };
    size_t lens[] = { 0, 1, 2, 2 };
    for (size_t c = 0; c < 4; c++) {
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(prefixes[c], lens[c]));
        r->term = 2;
        rt_make_leader(r);
        rt_clear(r);
        rt_propose(r, "x");
        /* ack everything from both followers */
        raft_message_t resp = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
        resp.index = rt_last(r);
        rt_step(r, resp);
        expect_u64(r->log.committed, lens[c] + 2, "the node's commit index (r->log.committed)");
        raft_entry_t *ents;
        size_t n;
        expect_err(rlog_next_ents(&r->log, &ents, &n), TKV_OK,
                   "rlog_next_ents(&r->log, &ents, &n)");
        expect_u64(n, lens[c] + 2, "entries returned (n)");
        expect_u64(ents[lens[c]].term, 3,
                   "the term of the new leader's no-op (entry %zu, case %zu)", lens[c] + 1, c);
        expect_u64(ents[lens[c]].len, 0,
                   "the data length of the new leader's no-op (empty)"); /* the no-op */
        expect_u64(ents[lens[c] + 1].len, 1, "the data length of the proposal after the no-op");
        raft_entries_free(ents, n);
        rt_free_raft(r);
    }
}

static void test_follower_commit_entry(void **state)
{
    (void)state;
    for (size_t k = 1; k <= 3; k++) {
        raft_t *r = rt_raft(1, 3, NULL);
        raft_become_follower(r, 1, 2);
        raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 1);
        raft_entry_t ents[3];
        for (size_t i = 0; i < 3; i++) {
            raft_entry_t e = { RAFT_ENTRY_NORMAL, 1, i + 1, (uint8_t *)"d", 1 };
            ents[i] = e;
        }
        m.entries = ents;
        m.n_entries = 3;
        m.commit = k;
        raft_step(r, &m);
        expect_u64(r->log.committed, k, "the node's commit index (r->log.committed)");
        raft_entry_t *got;
        size_t n;
        expect_err(rlog_next_ents(&r->log, &got, &n), TKV_OK, "rlog_next_ents(&r->log, &got, &n)");
        expect_u64(n, k, "entries returned (n)");
        raft_entries_free(got, n);
        rt_free_raft(r);
    }
}

static void test_follower_check_append(void **state)
{
    (void)state;
    rt_plain_raft_only("fast_backtrack", "a rejection's hint is then fast back-tracking's (term, "
                                         "index), not the follower's last index");
    /* Log: (1,1) (2,2). An append whose previous entry we lack or disagree
     * with is rejected, with our last index as the hint. */
    struct {
        uint64_t log_term, index;
        int reject;
        uint64_t want_index;
    } cases[] = {
        { 0, 0, 0, 2 }, /* index 0 always matches; nothing new, committed 0 */
        { 1, 1, 0, 2 }, { 2, 2, 0, 2 }, { 1, 2, 1, 2 }, { 3, 3, 1, 3 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint64_t terms[] = { 1, 2 };
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
        raft_become_follower(r, 2, 2);
        raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 2);
        m.log_term = cases[c].log_term;
        m.index = cases[c].index;
        raft_step(r, &m);
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        expect_u64(n, 1, "messages the node sent (n)");
        expect_named(msgs[0].type, RAFT_MSG_APPEND_RESPONSE, raft_msg_type_name,
                     "message 0's type (msgs[0].type)");
        if (msgs[0].reject != cases[c].reject)
            fail_msg("case %zu: reject %d", c, msgs[0].reject);
        if (cases[c].reject) {
            expect_u64(msgs[0].index, cases[c].want_index,
                       "message 0's index (of the entry before its entries) (msgs[0].index)");
            expect_u64(msgs[0].reject_hint, 2, "message 0's reject hint (msgs[0].reject_hint)");
        }
        rt_free_msgs(msgs, n);
        rt_free_raft(r);
    }
}

static void test_follower_append_entries(void **state)
{
    (void)state;
    /* Log (1,1) (2,2); appends after index 'index' with entries of 'terms'. */
    struct {
        uint64_t index, log_term;
        uint64_t terms[2];
        size_t n;
        uint64_t want[4];
        size_t want_n;
    } cases[] = {
        { 2, 2, { 3 }, 1, { 1, 2, 3 }, 3 },
        { 1, 1, { 3, 4 }, 2, { 1, 3, 4 }, 3 },
        { 0, 0, { 1 }, 1, { 1, 2 }, 2 },
        { 0, 0, { 3 }, 1, { 3 }, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint64_t terms[] = { 1, 2 };
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
        raft_become_follower(r, 2, 2);
        raft_message_t m = rt_msg(RAFT_MSG_APPEND, 2, 1, 2);
        m.index = cases[c].index;
        m.log_term = cases[c].log_term;
        raft_entry_t ents[2];
        for (size_t i = 0; i < cases[c].n; i++) {
            raft_entry_t e = { RAFT_ENTRY_NORMAL, cases[c].terms[i], cases[c].index + 1 + i, NULL,
                               0 };
            ents[i] = e;
        }
        m.entries = ents;
        m.n_entries = cases[c].n;
        raft_step(r, &m);
        expect_u64(rt_last(r), cases[c].want_n, "the node's last log index (rt_last(r))");
        for (size_t i = 0; i < cases[c].want_n; i++) {
            if (rt_term_at(r, i + 1) != cases[c].want[i])
                fail_msg("case %zu: entry %zu has term %llu, want %llu", c, i + 1,
                         (unsigned long long)rt_term_at(r, i + 1),
                         (unsigned long long)cases[c].want[i]);
        }
        rt_clear(r);
        rt_free_raft(r);
    }
}

/* Builds a node whose log has the given terms at 1..n, at `term`. */
static raft_t *node_with_log(uint64_t id, const uint64_t *terms, size_t n, uint64_t term)
{
    raft_t *r = rt_raft(id, 3, rt_storage_with_terms(terms, n));
    r->term = term;
    return r;
}

static void test_leader_sync_follower_log(void **state)
{
    (void)state;
    rt_plain_raft_only("pre_vote",
                       "the test hands the candidate a MsgRequestVoteResponse; with pre-vote the "
                       "node is a pre-candidate waiting for MsgPreVoteResponses");
    /* The leader's log (paper figure 7): terms 1 1 1 4 4 5 5 6 6 6. */
    uint64_t lead[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6 };
    struct {
        uint64_t t[12];
        size_t n;
    } followers[] = {
        { { 1, 1, 1, 4, 4, 5, 5, 6, 6 }, 9 },
        { { 1, 1, 1, 4 }, 4 },
        { { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6 }, 11 },
        { { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7 }, 12 },
        { { 1, 1, 1, 4, 4, 4, 4 }, 7 },
        { { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 }, 11 },
    };
    for (size_t c = 0; c < sizeof(followers) / sizeof(followers[0]); c++) {
        raft_t *preset[3];
        preset[0] = node_with_log(1, lead, 10, 8);
        preset[1] = node_with_log(2, followers[c].t, followers[c].n, 7);
        /* The third node votes for the leader but takes no part after. */
        preset[2] = RT_BLACKHOLE;
        rt_network_t *net = rt_net_new(3, preset);
        /* Node 1 wins term 9 with node 2's vote only if its log is newer,
         * which it is in every case (its last term 6 >= theirs, or longer). */
        raft_message_t vote = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, 3, 1, 9);
        rt_net_hup(net, 1);
        rt_net_send(net, vote);
        raft_t *r = rt_net_node(net, 1);
        expect_role(r, RAFT_LEADER, "the role of node %llu", (unsigned long long)r->id);
        rt_net_propose(net, 1, "sync");
        raft_t *f = rt_net_node(net, 2);
        expect_u64(rt_last(f), rt_last(r), "the follower's last log index (rt_last(f))");
        for (uint64_t i = 1; i <= rt_last(r); i++) {
            if (rt_term_at(f, i) != rt_term_at(r, i))
                fail_msg("case %zu: entry %llu term %llu, leader has %llu", c,
                         (unsigned long long)i, (unsigned long long)rt_term_at(f, i),
                         (unsigned long long)rt_term_at(r, i));
        }
        expect_u64(f->log.committed, rt_last(r), "the follower's commit index (f->log.committed)");
        rt_net_free(net);
    }
}

static void test_leader_only_commits_current_term(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2 };
    for (uint64_t idx = 1; idx <= 3; idx++) {
        raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 2));
        r->term = 2;
        rt_make_leader(r); /* term 3, no-op at index 3 */
        rt_clear(r);
        /* A follower acknowledges up to idx: only index 3 (term 3) may
         * commit by counting; indexes 1 and 2 alone may not. */
        raft_message_t resp = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
        resp.index = idx;
        rt_step(r, resp);
        expect_u64(r->log.committed, idx == 3 ? 3 : 0,
                   "the node's commit index (r->log.committed)");
        rt_free_raft(r);
    }
}

static void test_log_replication_network(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum",
                       "the test changes leaders with MsgHup and no ticks: followers that heard "
                       "from a leader ignore vote requests of higher terms (the lease), and a "
                       "leader that hears from no quorum for an election timeout steps down");
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    rt_net_propose(net, 1, "a");
    rt_net_hup(net, 2);
    rt_net_propose(net, 2, "b");
    for (uint64_t i = 1; i <= 3; i++) {
        raft_t *r = rt_net_node(net, i);
        /* noop(1), a, noop(2), b */
        expect_u64(r->log.committed, 4, "the node's commit index (r->log.committed)");
        raft_entry_t *ents;
        size_t n;
        expect_err(rlog_next_ents(&r->log, &ents, &n), TKV_OK,
                   "rlog_next_ents(&r->log, &ents, &n)");
        expect_u64(n, 4, "entries returned (n)");
        expect_bytes(ents[1].data, ents[1].len, "a", 1,
                     "node %llu's entry 2 (the proposal of leader 1)", (unsigned long long)i);
        expect_bytes(ents[3].data, ents[3].len, "b", 1,
                     "node %llu's entry 4 (the proposal of leader 2)", (unsigned long long)i);
        expect_u64(ents[3].term, 2, "entry [3]'s term (ents[3].term)");
        raft_entries_free(ents, n);
    }
    rt_net_free(net);
}

static void test_single_node_commit(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(1, NULL);
    rt_net_hup(net, 1);
    rt_net_propose(net, 1, "some data");
    rt_net_propose(net, 1, "some data");
    expect_u64(rt_net_node(net, 1)->log.committed, 3,
               "node 1's commit index (rt_net_node(net, 1)->log.committed)");
    rt_net_free(net);
}

static void test_cannot_commit_without_new_term_entry(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum",
                       "the test changes leaders with MsgHup and no ticks: followers that heard "
                       "from a leader ignore vote requests of higher terms (the lease), and a "
                       "leader that hears from no quorum for an election timeout steps down");
    rt_network_t *net = rt_net_new(5, NULL);
    rt_net_hup(net, 1);
    rt_net_cut(net, 1, 3);
    rt_net_cut(net, 1, 4);
    rt_net_cut(net, 1, 5);
    rt_net_propose(net, 1, "x");
    rt_net_propose(net, 1, "y");
    raft_t *a = rt_net_node(net, 1);
    expect_u64(a->log.committed, 1, "node a's commit index (a->log.committed)");
    rt_net_recover(net);
    /* Node 2 leads term 2 but its no-op is lost: it cannot commit 2 and 3
     * (entries of term 1) by counting replicas. */
    rt_net_ignore(net, RAFT_MSG_APPEND);
    rt_net_hup(net, 2);
    raft_t *b = rt_net_node(net, 2);
    expect_role(b, RAFT_LEADER, "the role of node %llu", (unsigned long long)b->id);
    expect_u64(b->log.committed, 1, "node b's commit index (b->log.committed)");
    rt_net_recover(net);
    rt_net_send(net, rt_msg(RAFT_MSG_BEAT, 2, 2, 0));
    rt_net_propose(net, 2, "z");
    expect_u64(b->log.committed, 5, "node b's commit index (b->log.committed)");
    rt_net_free(net);
}

static void test_commit_without_new_term_entry(void **state)
{
    (void)state;
    rt_plain_raft_only("check_quorum",
                       "the test changes leaders with MsgHup and no ticks: followers that heard "
                       "from a leader ignore vote requests of higher terms (the lease), and a "
                       "leader that hears from no quorum for an election timeout steps down");
    rt_network_t *net = rt_net_new(5, NULL);
    rt_net_hup(net, 1);
    rt_net_cut(net, 1, 3);
    rt_net_cut(net, 1, 4);
    rt_net_cut(net, 1, 5);
    rt_net_propose(net, 1, "x");
    rt_net_propose(net, 1, "y");
    expect_u64(rt_net_node(net, 1)->log.committed, 1,
               "node 1's commit index (rt_net_node(net, 1)->log.committed)");
    rt_net_recover(net);
    /* The new leader's no-op commits everything before it. */
    rt_net_hup(net, 2);
    expect_u64(rt_net_node(net, 2)->log.committed, 4,
               "node 2's commit index (rt_net_node(net, 2)->log.committed)");
    for (uint64_t i = 1; i <= 5; i++)
        expect_u64(rt_net_node(net, i)->log.committed, 4,
                   "node i's commit index (rt_net_node(net, i)->log.committed)");
    rt_net_free(net);
}

static void test_commit_by_heartbeat(void **state)
{
    (void)state;
    raft_t *r = rt_raft(2, 3, NULL);
    raft_become_follower(r, 2, 1);
    raft_message_t m = rt_msg(RAFT_MSG_APPEND, 1, 2, 2);
    raft_entry_t ents[3] = { { RAFT_ENTRY_NORMAL, 1, 1, NULL, 0 },
                             { RAFT_ENTRY_NORMAL, 2, 2, NULL, 0 },
                             { RAFT_ENTRY_NORMAL, 2, 3, NULL, 0 } };
    m.entries = ents;
    m.n_entries = 3;
    raft_step(r, &m);
    expect_u64(r->log.committed, 0, "the node's commit index (r->log.committed)");
    rt_clear(r);
    raft_message_t hb = rt_msg(RAFT_MSG_HEARTBEAT, 1, 2, 2);
    hb.commit = 2;
    rt_step(r, hb);
    expect_u64(r->log.committed, 2, "the node's commit index (r->log.committed)");
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_HEARTBEAT_RESPONSE, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    rt_free_msgs(msgs, n);
    /* A heartbeat never lowers commit. */
    hb.commit = 1;
    rt_step(r, hb);
    expect_u64(r->log.committed, 2, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_free_raft(r);
}

static void test_heartbeat_response_sends_missing_entries(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    rt_propose(r, "a");
    rt_clear(r);
    /* Node 2 has nothing yet: its heartbeat response brings it entries. */
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT_RESPONSE, 2, 1, r->term));
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_APPEND, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    expect_u64(msgs[0].to, 2, "message 0's recipient (msgs[0].to)");
    expect_u64(msgs[0].n_entries, 2, "message 0's number of entries (msgs[0].n_entries)");
    rt_free_msgs(msgs, n);
    rt_free_raft(r);
}

static void test_proposal(void **state)
{
    (void)state;
    struct {
        size_t n;
        int black[5];
        int success;
    } cases[] = {
        { 3, { 0, 0, 0 }, 1 },    { 3, { 0, 0, 1 }, 1 },       { 3, { 0, 1, 1 }, 0 },
        { 4, { 0, 1, 1, 0 }, 0 }, { 5, { 0, 1, 1, 0, 0 }, 1 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_t *preset[5] = { NULL };
        for (size_t i = 0; i < cases[c].n; i++)
            preset[i] = cases[c].black[i] ? RT_BLACKHOLE : NULL;
        rt_network_t *net = rt_net_new(cases[c].n, preset);
        rt_net_hup(net, 1);
        raft_t *r = rt_net_node(net, 1);
        raft_message_t m = rt_propose_msg(1, "somedata");
        tkv_err_t err = raft_step(r, &m);
        rt_clear(r);
        raft_message_free(&m);
        if (cases[c].success) {
            expect_err(err, TKV_OK,
                       "raft_step of a proposal on node 1 in case %zu (it leads: it must take it)",
                       c);
            rt_net_send(net, rt_msg(RAFT_MSG_BEAT, 1, 1, 0));
            rt_net_propose(net, 1, "more");
            expect_u64(r->log.committed, 3, "the node's commit index (r->log.committed)");
        } else {
            expect_err(err, TKV_ERR_NOT_LEADER,
                       "raft_step of a proposal on node 1 in case %zu (no leader: dropped)", c);
            expect_u64(rt_last(r), 0, "the node's last log index (rt_last(r))");
        }
        rt_net_free(net);
    }
}

static void test_proposal_on_follower_dropped(void **state)
{
    (void)state;
    rt_network_t *net = rt_net_new(3, NULL);
    rt_net_hup(net, 1);
    raft_t *f = rt_net_node(net, 2);
    raft_message_t m = rt_propose_msg(2, "x");
    expect_err(raft_step(f, &m), TKV_ERR_NOT_LEADER, "raft_step(f, &m)");
    raft_message_free(&m);
    expect_u64(rt_last(f), 1, "the follower's last log index (rt_last(f))");
    size_t n;
    raft_message_t *msgs = rt_take(f, &n);
    expect_u64(n, 0, "messages the node sent (n)");
    rt_free_msgs(msgs, n);
    rt_net_free(net);
}

static void test_leader_increase_next(void **state)
{
    (void)state;
    raft_t *r = rt_raft(1, 3, NULL);
    rt_make_leader(r);
    raft_progress_t *pr = prs_find(&r->prs, 2);
    expect_u64(pr->next, 1, "the peer's progress next index (pr->next)");
    expect_u64(pr->match, 0, "the peer's progress match index (pr->match)");
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    ack_appends(r, msgs, n);
    rt_free_msgs(msgs, n);
    pr = prs_find(&r->prs, 2);
    expect_u64(pr->match, 1, "the peer's progress match index (pr->match)");
    expect_u64(pr->next, 2, "the peer's progress next index (pr->next)");
    /* Once the follower acknowledged, further appends stream: next moves
     * ahead of match as entries are sent. */
    rt_clear(r);
    rt_propose(r, "a");
    rt_propose(r, "b");
    pr = prs_find(&r->prs, 2);
    expect_u64(pr->match, 1, "the peer's progress match index (pr->match)");
    expect_u64(pr->next, 4, "the peer's progress next index (pr->next)");
    rt_clear(r);
    rt_free_raft(r);
}

static void test_rejection_backs_off_fast(void **state)
{
    (void)state;
    /* The leader has 10 entries; the follower has 3. One rejection with the
     * follower's last index as hint is enough to find the match point. */
    uint64_t terms[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    raft_t *r = rt_raft(1, 3, rt_storage_with_terms(terms, 10));
    r->term = 1;
    rt_make_leader(r); /* term 2, no-op at 11 sent after index 10 */
    rt_clear(r);
    raft_message_t rej = rt_msg(RAFT_MSG_APPEND_RESPONSE, 2, 1, r->term);
    rej.reject = 1;
    rej.index = 10; /* the no-op went out after index 10 */
    rej.reject_hint = 3;
    rt_step(r, rej);
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    expect_u64(n, 1, "messages the node sent (n)");
    expect_named(msgs[0].type, RAFT_MSG_APPEND, raft_msg_type_name,
                 "message 0's type (msgs[0].type)");
    expect_u64(msgs[0].index, 3,
               "message 0's index (of the entry before its entries) (msgs[0].index)");
    expect_u64(msgs[0].log_term, 1,
               "message 0's log term (of the entry at index) (msgs[0].log_term)");
    expect_u64(msgs[0].n_entries, 8, "message 0's number of entries (msgs[0].n_entries)");
    rt_free_msgs(msgs, n);
    /* A duplicate of the old rejection changes nothing. */
    rt_step(r, rej);
    msgs = rt_take(r, &n);
    expect_u64(n, 0, "messages the node sent (n)");
    rt_free_msgs(msgs, n);
    expect_u64(prs_find(&r->prs, 2)->next, 4,
               "the leader's next index for node 2 (prs_find(&r->prs, 2)->next)");
    rt_free_raft(r);
}

static void test_all_server_stepdown(void **state)
{
    (void)state;
    rt_plain_raft_only(
        "check_quorum",
        "followers that heard from a leader ignore vote requests of higher terms (the lease), and "
        "a leader that hears from no quorum for an election timeout steps down");
    raft_msg_type_t types[] = { RAFT_MSG_REQUEST_VOTE, RAFT_MSG_APPEND };
    for (int role = 0; role < 3; role++) {
        for (int t = 0; t < 2; t++) {
            raft_t *r = rt_raft(1, 3, NULL);
            if (role == 1)
                raft_become_candidate(r);
            if (role == 2)
                rt_make_leader(r);
            rt_clear(r);
            raft_message_t m = rt_msg(types[t], 2, 1, 3);
            m.log_term = 3;
            m.index = 0;
            raft_step(r, &m);
            expect_role(r, RAFT_FOLLOWER, "the role of node %llu", (unsigned long long)r->id);
            expect_u64(r->term, 3, "the node's term (r->term)");
            expect_u64(r->lead, types[t] == RAFT_MSG_APPEND ? 2 : RAFT_NONE,
                       "the node's known leader (r->lead)");
            rt_clear(r);
            rt_free_raft(r);
        }
    }
}

static void test_stale_commit_not_beyond_log(void **state)
{
    (void)state;
    /* A follower never commits past the last entry the append proved it
     * shares with the leader. */
    uint64_t terms[] = { 1, 1, 1, 1 };
    raft_t *r = rt_raft(2, 3, rt_storage_with_terms(terms, 4));
    raft_become_follower(r, 2, 1);
    raft_message_t m = rt_msg(RAFT_MSG_APPEND, 1, 2, 2);
    m.index = 1;
    m.log_term = 1;
    m.commit = 4;
    rt_step(r, m);
    expect_u64(r->log.committed, 1, "the node's commit index (r->log.committed)");
    rt_clear(r);
    rt_free_raft(r);
}

const tkv_test_t raft_replication_tests[] = {
    { "project2a", "leader_start_replication", 3,
      "a proposal is appended and sent to every follower with the right prev index/term",
      test_leader_start_replication },
    { "project2a", "leader_commit_entry", 2,
      "an entry acknowledged by a majority commits and the new commit is broadcast",
      test_leader_commit_entry },
    { "project2a", "leader_acknowledge_commit", 3, "commit needs exactly a majority of acks",
      test_leader_acknowledge_commit },
    { "project2a", "leader_commit_preceding_entries", 2,
      "earlier-term entries commit together with the leader's own",
      test_leader_commit_preceding_entries },
    { "project2a", "follower_commit_entry", 2, "a follower commits what the leader says",
      test_follower_commit_entry },
    { "project2a", "follower_check_append", 3,
      "a follower rejects an append whose previous entry does not match, with a hint",
      test_follower_check_append },
    { "project2a", "follower_append_entries", 3,
      "a follower truncates conflicting entries and appends new ones",
      test_follower_append_entries },
    { "project2a", "leader_sync_follower_log", 5,
      "a leader brings any follower's log (paper figure 7) in line with its own",
      test_leader_sync_follower_log },
    { "project2a", "leader_only_commits_current_term", 3,
      "a leader commits by counting only entries of its own term (5.4.2)",
      test_leader_only_commits_current_term },
    { "project2a", "log_replication_network", 2,
      "proposals through two leaders reach and commit on every node in order",
      test_log_replication_network },
    { "project2a", "single_node_commit", 1, "a cluster of one commits proposals at once",
      test_single_node_commit },
    { "project2a", "cannot_commit_without_new_term_entry", 3,
      "a new leader cannot commit old-term entries until an entry of its term replicates",
      test_cannot_commit_without_new_term_entry },
    { "project2a", "commit_without_new_term_entry", 2,
      "a new leader's no-op commits the entries before it", test_commit_without_new_term_entry },
    { "project2a", "commit_by_heartbeat", 2, "heartbeats carry the commit index forward only",
      test_commit_by_heartbeat },
    { "project2a", "heartbeat_response_sends_missing_entries", 2,
      "a heartbeat response from a lagging follower triggers an append",
      test_heartbeat_response_sends_missing_entries },
    { "project2a", "proposal_with_and_without_leader", 3,
      "proposals succeed with a leader and are dropped with an error without one", test_proposal },
    { "project2a", "proposal_on_follower_dropped", 1,
      "a follower drops proposals with TKV_ERR_NOT_LEADER", test_proposal_on_follower_dropped },
    { "project2a", "leader_increase_next", 2,
      "acknowledgements move match and next; a replicating peer's next runs ahead",
      test_leader_increase_next },
    { "project2a", "rejection_backs_off_fast", 3,
      "a rejection hint lets the leader skip to the follower's last index",
      test_rejection_backs_off_fast },
    { "project2a", "all_server_stepdown", 2,
      "every role steps down to follower on a higher-term vote request or append",
      test_all_server_stepdown },
    { "project2a", "follower_commit_not_beyond_match", 2,
      "a follower commits no further than the entries the append proved",
      test_stale_commit_not_beyond_log },
    { 0 },
};
