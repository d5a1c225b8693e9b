/*
 * Snapshot rules of the Raft core (2C) that raft_snapshot_test.c let slip:
 * a follower that has compacted its log must refuse a snapshot older than
 * its compaction point. Its log no longer holds the entry the snapshot ends
 * at, so a follower that only asks "do I hold (index, term)?" finds nothing,
 * installs the old image and goes back in time.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"

/* A follower of node 2 at term 2 that held entries 1..10 (terms 1 up to 5,
 * 2 after), compacted up to 5 behind a snapshot, and has committed 7. */
static raft_t *compacted_follower(void)
{
    uint64_t terms[10] = { 1, 1, 1, 1, 1, 2, 2, 2, 2, 2 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 10);
    uint64_t nodes[] = { 1, 2 };
    raft_conf_state_t cs = { nodes, 2 };
    expect_err(mem_storage_create_snapshot(ms, 5, &cs, "five", 4), TKV_OK,
               "mem_storage_create_snapshot(ms, 5, &cs, \"five\", 4)");
    expect_err(mem_storage_compact(ms, 5), TKV_OK, "mem_storage_compact(ms, 5)");
    raft_t *r = rt_raft(1, 2, ms);
    raft_become_follower(r, 2, 2);
    rlog_commit_to(&r->log, 7);
    rt_clear(r);
    return r;
}

static void step_snapshot_at(raft_t *r, uint64_t index, uint64_t term)
{
    uint64_t nodes[] = { 1, 2 };
    raft_message_t m = rt_msg(RAFT_MSG_SNAPSHOT, 2, 1, 2);
    m.snapshot.metadata.index = index;
    m.snapshot.metadata.term = term;
    m.snapshot.metadata.conf_state.nodes = nodes; /* borrowed: raft_step copies */
    m.snapshot.metadata.conf_state.n_nodes = 2;
    m.snapshot.data = (uint8_t *)"old";
    m.snapshot.len = 3;
    rt_step(r, m);
}

static void test_snapshot_below_compaction_point_refused(void **state)
{
    (void)state;
    /* Snapshots at 3 (compacted away), at 5 (the compaction point) and at
     * 7 (committed, still in the log): each is older than what node 1 has. */
    const uint64_t stale[][2] = { { 3, 1 }, { 5, 1 }, { 7, 2 } };
    for (size_t c = 0; c < 3; c++) {
        raft_t *r = compacted_follower();
        uint64_t index = stale[c][0];
        step_snapshot_at(r, index, stale[c][1]);
        expect_true(rlog_pending_snapshot(&r->log) == NULL,
                    "node 1 (compacted to 5, committed 7, log to 10) must refuse a snapshot at "
                    "%llu",
                    (unsigned long long)index);
        expect_u64(rlog_first_index(&r->log), 6,
                   "node 1's first index after a stale snapshot at %llu",
                   (unsigned long long)index);
        expect_u64(rt_last(r), 10, "node 1's last index after a stale snapshot at %llu",
                   (unsigned long long)index);
        expect_u64(r->log.committed, 7, "node 1's commit index after a stale snapshot at %llu",
                   (unsigned long long)index);
        size_t n;
        raft_message_t *out = rt_take(r, &n);
        const raft_message_t *resp =
            expect_msg(out, n, RAFT_MSG_APPEND_RESPONSE, 2, "node 1 answers the snapshot at %llu",
                       (unsigned long long)index);
        expect_u64(resp->index, 7,
                   "the index node 1 reports after refusing a snapshot at %llu (its commit)",
                   (unsigned long long)index);
        expect_true(!resp->reject, "node 1's answer to a stale snapshot is no rejection");
        rt_free_msgs(out, n);
        rt_free_raft(r);
    }
    /* A newer one is taken, so refusing everything does not pass. */
    raft_t *r = compacted_follower();
    step_snapshot_at(r, 12, 3);
    expect_true(rlog_pending_snapshot(&r->log) != NULL,
                "node 1 (log to 10) must take a snapshot at 12 of term 3");
    expect_u64(rt_last(r), 12, "node 1's last index after the snapshot at 12");
    expect_u64(r->log.committed, 12, "node 1's commit index after the snapshot at 12");
    rt_clear(r);
    rt_free_raft(r);
}

const tkv_test_t raft_snapshot_rules_tests[] = {
    { "project2c", "snapshot_below_compaction_point_refused", 2,
      "a snapshot at or below a follower's compaction point or commit index is refused",
      test_snapshot_below_compaction_point_refused },
    { 0 },
};
