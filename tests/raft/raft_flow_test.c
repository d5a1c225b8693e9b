/*
 * Flow control and fast back-tracking (project2x, raft_flow.c), driven on a
 * lone leader: the test plays its followers, stepping their answers in and
 * counting what the leader sends to whom.
 */
#include <stdlib.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_helpers.h"

/* How many messages of `type` r has queued for `to`; drops the queue. */
static size_t count_to(raft_t *r, raft_msg_type_t type, uint64_t to)
{
    size_t n, k = 0;
    raft_message_t *msgs = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        k += msgs[i].type == type && msgs[i].to == to;
    rt_free_msgs(msgs, n);
    return k;
}

static raft_message_t ack(uint64_t from, uint64_t term, uint64_t index)
{
    raft_message_t m = rt_msg(RAFT_MSG_APPEND_RESPONSE, from, 1, term);
    m.index = index;
    return m;
}

/* Node 1 of 3 with flow control on, leading term 1 (its no-op at index 1). */
static raft_t *flow_leader(size_t window)
{
    raft_t *r = rt_raft(1, 3, NULL);
    r->flow_control = 1;
    r->max_inflight_msgs = window;
    rt_make_leader(r);
    rt_clear(r);
    return r;
}

static void test_flow_window_limits_inflight(void **state)
{
    (void)state;
    raft_t *r = flow_leader(3);
    rt_step(r, ack(2, 1, 1));
    rt_step(r, ack(3, 1, 1));
    rt_clear(r);
    /* Both replicate now; nobody answers the next ten appends. */
    for (int i = 0; i < 10; i++)
        rt_propose(r, "p");
    size_t sent = count_to(r, RAFT_MSG_APPEND, 2);
    if (sent != 3)
        fail_msg("with max_inflight_msgs 3 and no answers, follower 2 should get 3 appends for "
                 "10 proposals; it got %zu",
                 sent);
    /* Acking the first in-flight append (index 2) frees one slot. */
    rt_step(r, ack(2, 1, 2));
    sent = count_to(r, RAFT_MSG_APPEND, 2);
    if (sent != 1)
        fail_msg("one ack frees one slot of the window: follower 2 should get 1 more append, "
                 "it got %zu",
                 sent);
    rt_free_raft(r);
}

static void test_flow_probe_pauses(void **state)
{
    (void)state;
    raft_t *r = flow_leader(256);
    /* Follower 3 answers; follower 2 never did: it is being probed, and its
     * probe is out. */
    rt_step(r, ack(3, 1, 1));
    rt_clear(r);
    for (int i = 0; i < 5; i++)
        rt_propose(r, "p");
    size_t sent = count_to(r, RAFT_MSG_APPEND, 2);
    if (sent != 0)
        fail_msg("while its probe is unanswered, follower 2 should get no more appends; it got "
                 "%zu for 5 proposals",
                 sent);
    /* A heartbeat answer shows it alive: one probe may go. */
    rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT_RESPONSE, 2, 1, 1));
    sent = count_to(r, RAFT_MSG_APPEND, 2);
    if (sent != 1)
        fail_msg("a heartbeat response from a probed follower allows one probe; it got %zu", sent);
    rt_propose(r, "q");
    expect_u64(count_to(r, RAFT_MSG_APPEND, 2), 0,
               "MsgAppends to probed follower 2 for a new proposal (a probe is in flight: wait for "
               "its answer)");
    rt_free_raft(r);
}

static void test_flow_snapshot_state_sends_nothing(void **state)
{
    (void)state;
    /* The leader's log is compacted up to 5: follower 2, empty, needs a
     * snapshot. */
    uint64_t terms[] = { 1, 1, 1, 1, 1 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 5);
    raft_conf_state_t cs = { (uint64_t *)rt_ids(3), 3 };
    expect_err(mem_storage_create_snapshot(ms, 5, &cs, "img", 3), TKV_OK,
               "mem_storage_create_snapshot(ms, 5, &cs, \"img\", 3)");
    expect_err(mem_storage_compact(ms, 5), TKV_OK, "mem_storage_compact(ms, 5)");
    raft_t *r = rt_new_raft(1, rt_ids(3), 3, 10, 1, ms);
    r->flow_control = 1;
    rt_make_leader(r);
    rt_clear(r);
    raft_message_t rej = ack(2, r->term, 5);
    rej.reject = 1;
    rej.reject_hint = 0;
    rt_step(r, rej);
    expect_u64(count_to(r, RAFT_MSG_SNAPSHOT, 2), 1,
               "MsgSnapshots to follower 2 after it rejected index 5, which the leader compacted");
    size_t apps = 0, snaps = 0;
    for (int i = 0; i < 10; i++) {
        rt_propose(r, "p");
        rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT_RESPONSE, 2, 1, r->term));
        size_t n;
        raft_message_t *msgs = rt_take(r, &n);
        for (size_t j = 0; j < n; j++) {
            apps += msgs[j].to == 2 && msgs[j].type == RAFT_MSG_APPEND;
            snaps += msgs[j].to == 2 && msgs[j].type == RAFT_MSG_SNAPSHOT;
        }
        rt_free_msgs(msgs, n);
    }
    if (apps != 0 || snaps != 0)
        fail_msg("while a snapshot is on its way to follower 2 it should get nothing; over 10 "
                 "proposals and heartbeat answers it got %zu appends and %zu more snapshots",
                 apps, snaps);
    /* Installed: it says so, and appends resume. */
    rt_step(r, ack(2, r->term, 5));
    if (count_to(r, RAFT_MSG_APPEND, 2) == 0)
        fail_msg("once follower 2 acknowledged the snapshot, the leader should send it the "
                 "entries after it");
    rt_free_raft(r);
}

static void test_flow_lost_snapshot_is_retried(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 1, 1 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 3);
    raft_conf_state_t cs = { (uint64_t *)rt_ids(3), 3 };
    expect_err(mem_storage_create_snapshot(ms, 3, &cs, "img", 3), TKV_OK,
               "mem_storage_create_snapshot(ms, 3, &cs, \"img\", 3)");
    expect_err(mem_storage_compact(ms, 3), TKV_OK, "mem_storage_compact(ms, 3)");
    raft_t *r = rt_new_raft(1, rt_ids(3), 3, 10, 1, ms);
    r->flow_control = 1;
    rt_make_leader(r);
    rt_clear(r);
    raft_message_t rej = ack(2, r->term, 3);
    rej.reject = 1;
    rej.reject_hint = 0;
    rt_step(r, rej);
    expect_u64(count_to(r, RAFT_MSG_SNAPSHOT, 2), 1,
               "MsgSnapshots to follower 2 after it rejected index 3, which the leader compacted");
    /* While it may still be on its way, nothing more goes to 2. */
    rt_propose(r, "early");
    size_t k, early = 0;
    raft_message_t *first = rt_take(r, &k);
    for (size_t i = 0; i < k; i++)
        early += first[i].to == 2;
    rt_free_msgs(first, k);
    if (early != 0)
        fail_msg("right after a snapshot went to follower 2, a proposal must send it nothing "
                 "(it sent %zu messages)",
                 early);
    /* The snapshot is lost. Two election timeouts later the leader stops
     * waiting and probes again. */
    for (int i = 0; i < 20; i++) {
        raft_tick(r);
        /* Node 3 answers, so a leader with check quorum on (under
         * TKV_RAFT_FEATURES) keeps its quorum and stays. */
        rt_step(r, rt_msg(RAFT_MSG_HEARTBEAT_RESPONSE, 3, 1, r->term));
        rt_clear(r);
    }
    rt_propose(r, "p");
    size_t n, to2 = 0;
    raft_message_t *msgs = rt_take(r, &n);
    for (size_t i = 0; i < n; i++)
        to2 += msgs[i].to == 2 &&
               (msgs[i].type == RAFT_MSG_APPEND || msgs[i].type == RAFT_MSG_SNAPSHOT);
    rt_free_msgs(msgs, n);
    if (to2 == 0)
        fail_msg("a snapshot unanswered for two election timeouts counts as lost: the leader "
                 "should try follower 2 again");
    rt_free_raft(r);
}

/* Runs appends and answers between leader l and follower f until quiet;
 * returns how many appends f rejected. */
static size_t exchange(raft_t *l, raft_t *f)
{
    size_t rejects = 0;
    for (int round = 0; round < 100; round++) {
        size_t n, k;
        raft_message_t *out = rt_take(l, &n);
        for (size_t i = 0; i < n; i++)
            if (out[i].to == f->id)
                rt_step(f, out[i]);
        rt_free_msgs(out, n);
        raft_message_t *back = rt_take(f, &k);
        for (size_t i = 0; i < k; i++) {
            rejects += back[i].type == RAFT_MSG_APPEND_RESPONSE && back[i].reject;
            rt_step(l, back[i]);
        }
        rt_free_msgs(back, k);
        if (n == 0 && k == 0)
            break;
    }
    return rejects;
}

static void test_fast_backtrack_skips_divergent_term(void **state)
{
    (void)state;
    /* Leader: terms 1 1 4 4 4 4 4 4; follower: 1 1 2 2 2 3 3 3. They agree
     * up to index 2 only. */
    uint64_t lt[] = { 1, 1, 4, 4, 4, 4, 4, 4 };
    uint64_t ft[] = { 1, 1, 2, 2, 2, 3, 3, 3 };
    mem_storage_t *lms = rt_storage_with_terms(lt, 8), *fms = rt_storage_with_terms(ft, 8);
    raft_hard_state_t lhs = { 4, 0, 0 }, fhs = { 3, 0, 0 };
    mem_storage_set_hard_state(lms, &lhs);
    mem_storage_set_hard_state(fms, &fhs);
    raft_t *l = rt_new_raft(1, rt_ids(2), 2, 10, 1, lms);
    raft_t *f = rt_new_raft(2, rt_ids(2), 2, 10, 1, fms);
    l->fast_backtrack = f->fast_backtrack = 1;
    rt_make_leader(l); /* term 5, no-op at 9 */
    size_t rejects = exchange(l, f);
    if (rejects != 1)
        fail_msg("with (term, index) hints the leader should find the match at index 2 after "
                 "1 rejection (one per divergent term of the follower's that the leader "
                 "lacks, here all skipped at once); it took %zu",
                 rejects);
    expect_u64(rt_last(f), 9, "the follower's last index after catching up with the leader");
    for (uint64_t i = 1; i <= 9; i++)
        expect_u64(rt_term_at(f, i), rt_term_at(l, i),
                   "the term of the follower's entry %llu (must match the leader's)",
                   (unsigned long long)i);
    rt_free_raft(l);
    rt_free_raft(f);
}

const tkv_test_t raft_flow_tests[] = {
    { "project2x", "flow_window_limits_inflight", 3,
      "a replicating follower gets at most max_inflight_msgs unacknowledged appends",
      test_flow_window_limits_inflight },
    { "project2x", "flow_probe_pauses", 2,
      "a probed follower gets one append at a time, the next after it answers",
      test_flow_probe_pauses },
    { "project2x", "flow_snapshot_state_sends_nothing", 3,
      "a follower in snapshot state gets no appends and no second snapshot until it answers",
      test_flow_snapshot_state_sends_nothing },
    { "project2x", "flow_lost_snapshot_is_retried", 1,
      "a snapshot unanswered for two election timeouts is taken as lost and retried",
      test_flow_lost_snapshot_is_retried },
    { "project2x", "fast_backtrack_skips_divergent_term", 3,
      "a rejection's (term, index) hint skips a divergent term in one round trip",
      test_fast_backtrack_skips_divergent_term },
    { 0 },
};
