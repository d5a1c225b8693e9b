/*
 * Peer storage, unit by unit: the log and states it keeps in the raft DB and
 * kv DB, as the Raft core reads them, across restarts, truncation and
 * snapshots.
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/expect.h"
#include "tests/raftstore/ps_fixture.h"

static uint64_t term_of(peer_storage_t *ps, uint64_t i)
{
    uint64_t t = 0;
    tkv_err_t err = peer_storage_term(ps, i, &t);
    if (err != TKV_OK)
        fail_msg("term of %llu: %s: %s", (unsigned long long)i, tkv_strerror(err),
                 tkv_last_error());
    return t;
}

static int raft_db_has_entry(ps_fixture_t *f, uint64_t i)
{
    tkv_buf_t k = TKV_BUF_INIT, v = TKV_BUF_INIT;
    keys_raft_log_key(&k, 1, i);
    tkv_err_t err = eng_get(f->raft_db, NULL, buf_slice(&k), &v);
    buf_free(&k);
    buf_free(&v);
    return err == TKV_OK;
}

static void test_new_region_starts_empty_at_init_index(void **state)
{
    ps_fixture_t *f = *state;
    raft_storage_t s = peer_storage_as_raft_storage(f->ps);
    uint64_t first = 0, last = 0;
    expect_err(s.ops->first_index(s.self, &first), TKV_OK, "s.ops->first_index(s.self, &first)");
    expect_err(s.ops->last_index(s.self, &last), TKV_OK, "s.ops->last_index(s.self, &last)");
    expect_u64(first, RAFT_INIT_LOG_INDEX + 1,
               "a bootstrapped region's first index (one past the initial index 5)");
    expect_u64(last, RAFT_INIT_LOG_INDEX,
               "a bootstrapped region's last index (the initial index 5: an empty log)");
    expect_u64(term_of(f->ps, RAFT_INIT_LOG_INDEX), RAFT_INIT_LOG_TERM,
               "the term at the initial index 5 of a bootstrapped region");
    raft_hard_state_t hs;
    raft_conf_state_t cs;
    expect_err(s.ops->initial_state(s.self, &hs, &cs), TKV_OK,
               "s.ops->initial_state(s.self, &hs, &cs)");
    expect_u64(hs.term, RAFT_INIT_LOG_TERM, "a bootstrapped region's initial hard state term");
    expect_u64(hs.commit, RAFT_INIT_LOG_INDEX, "a bootstrapped region's initial commit index");
    expect_u64(cs.n_nodes, 3, "voters in a bootstrapped region's conf state");
    expect_u64(cs.nodes[0] + cs.nodes[1] + cs.nodes[2], 6,
               "the sum of the voters' ids in the conf state (peers 1, 2 and 3)");
    raft_conf_state_free(&cs);
    uint64_t t = 0;
    expect_err(s.ops->term(s.self, 4, &t), RAFT_ERR_COMPACTED, "s.ops->term(s.self, 4, &t)");
    expect_err(s.ops->term(s.self, 6, &t), RAFT_ERR_UNAVAILABLE, "s.ops->term(s.self, 6, &t)");
    /* A region bootstraps once. */
    Metapb__Region *r = ps_test_region();
    expect_err(peer_storage_bootstrap(f->raft_db, f->kv_db, r), TKV_ERR_INVALID,
               "peer_storage_bootstrap(f->raft_db, f->kv_db, r)");
    pb_free(r);
}

static void test_appended_entries_read_back_in_order(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 11, 6, 0);
    raft_storage_t s = peer_storage_as_raft_storage(f->ps);
    uint64_t last = 0;
    s.ops->last_index(s.self, &last);
    expect_u64(last, 10, "the last index after saving entries 6..10");
    ps_expect_entries(f->ps, 6, 11, 6);
    ps_expect_entries(f->ps, 8, 10, 6);
    expect_u64(term_of(f->ps, 9), 6, "the term of entry 9 (saved at term 6)");
    expect_u64(term_of(f->ps, 10), 6, "the term of entry 10 (saved at term 6)");
    raft_entry_t *ents = NULL;
    size_t n = 0;
    expect_err(s.ops->entries(s.self, 5, 8, UINT64_MAX, &ents, &n), RAFT_ERR_COMPACTED,
               "s.ops->entries(s.self, 5, 8, UINT64_MAX, &ents, &n)");
    expect_err(s.ops->entries(s.self, 6, 12, UINT64_MAX, &ents, &n), RAFT_ERR_UNAVAILABLE,
               "s.ops->entries(s.self, 6, 12, UINT64_MAX, &ents, &n)");
    /* A size limit still returns at least one entry. */
    expect_err(s.ops->entries(s.self, 6, 11, 1, &ents, &n), TKV_OK,
               "s.ops->entries(s.self, 6, 11, 1, &ents, &n)");
    expect_u64(n, 1,
               "entries read with a size limit of 1 byte (at least one entry is always returned)");
    raft_entries_free(ents, n);
    /* And never one that passes the limit after the first (storage.h):
     * room for two entries and most of a third gives two. */
    expect_err(s.ops->entries(s.self, 6, 11, UINT64_MAX, &ents, &n), TKV_OK, "entries(6, 11)");
    uint64_t room =
        raft_entry_size(&ents[0]) + raft_entry_size(&ents[1]) + raft_entry_size(&ents[2]) - 1;
    raft_entries_free(ents, n);
    expect_err(s.ops->entries(s.self, 6, 11, room, &ents, &n), TKV_OK, "entries(6, 11, limit)");
    if (n != 2)
        fail_msg("entries(6, 11) with room for two entries and all but a byte of a third: "
                 "expected 2 entries (none may pass the limit after the first), got %zu",
                 n);
    raft_entries_free(ents, n);
}

static void test_long_log_reads_back_whole(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 506, 6, 0);
    ps_expect_entries(f->ps, 6, 506, 6);
    ps_expect_entries(f->ps, 300, 301, 6);
}

static void test_append_overwrites_conflicting_tail(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 11, 6, 0);
    /* A new leader's log agrees up to 7 and is shorter: 8 and 9 replace
     * ours, 10 must disappear, from memory and from disk. */
    ps_save_entries(f->ps, 8, 10, 7, 0);
    raft_storage_t s = peer_storage_as_raft_storage(f->ps);
    uint64_t last = 0;
    s.ops->last_index(s.self, &last);
    expect_u64(last, 9, "the last index after a shorter conflicting append of 8..9 over 6..10");
    ps_expect_entries(f->ps, 6, 8, 6);
    ps_expect_entries(f->ps, 8, 10, 7);
    expect_false(raft_db_has_entry(f, 10),
                 "entry 10 is still in the raft DB after a conflicting append ending at 9 (what "
                 "lies past the new tail must be deleted)");
    ps_reopen(f);
    s = peer_storage_as_raft_storage(f->ps);
    s.ops->last_index(s.self, &last);
    expect_u64(last, 9,
               "the last index after a restart, following a conflicting append ending at 9");
    expect_u64(term_of(f->ps, 9), 7, "the term of entry 9 after a restart (the new leader's, 7)");
    ps_expect_entries(f->ps, 8, 10, 7);
}

static void test_restart_recovers_log_and_hard_state(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 21, 8, 15);
    ps_reopen(f);
    raft_storage_t s = peer_storage_as_raft_storage(f->ps);
    raft_hard_state_t hs;
    raft_conf_state_t cs;
    expect_err(s.ops->initial_state(s.self, &hs, &cs), TKV_OK,
               "s.ops->initial_state(s.self, &hs, &cs)");
    raft_conf_state_free(&cs);
    expect_u64(hs.term, 8, "the hard state's term after a restart");
    expect_u64(hs.commit, 15, "the hard state's commit after a restart");
    uint64_t first = 0, last = 0;
    s.ops->first_index(s.self, &first);
    s.ops->last_index(s.self, &last);
    expect_u64(first, 6, "the first index after a restart");
    expect_u64(last, 20, "the last index after a restart (entries 6..20 were saved)");
    ps_expect_entries(f->ps, 6, 21, 8);
}

static void test_hard_state_and_entries_are_saved_together(void **state)
{
    ps_fixture_t *f = *state;
    /* Each Ready is one raft DB write: after a restart either both the
     * entries and the commit that covers them are there, or neither. Here
     * the write happened, so both are. */
    ps_save_entries(f->ps, 6, 8, 6, 7);
    ps_reopen(f);
    expect_u64(f->ps->hard_state.commit, 7,
               "the commit index after a restart (saved in the same Ready as entries 6..7)");
    expect_u64(f->ps->last_index, 7,
               "the last index after a restart (entries 6..7 saved with commit 7)");
    expect_u64(f->ps->last_term, 6, "the last term after a restart");
}

static void test_vote_alone_is_persisted(void **state)
{
    ps_fixture_t *f = *state;
    raft_ready_t rd;
    memset(&rd, 0, sizeof(rd));
    rd.hard_state.term = 9;
    rd.hard_state.vote = 2;
    rd.hard_state.commit = RAFT_INIT_LOG_INDEX;
    int snap = 0;
    expect_err(peer_storage_save_ready(f->ps, &rd, &snap), TKV_OK,
               "peer_storage_save_ready(f->ps, &rd, &snap)");
    ps_reopen(f);
    raft_storage_t s = peer_storage_as_raft_storage(f->ps);
    raft_hard_state_t hs;
    raft_conf_state_t cs;
    expect_err(s.ops->initial_state(s.self, &hs, &cs), TKV_OK,
               "s.ops->initial_state(s.self, &hs, &cs)");
    raft_conf_state_free(&cs);
    expect_u64(hs.term, 9,
               "the term after a restart (a Ready with only a new term and vote must be saved)");
    expect_u64(hs.vote, 2,
               "the vote after a restart (a Ready with only a new term and vote must be saved)");
}

/* ---- 2C ---------------------------------------------------------------------- */

/* What applying CompactLog does to the apply state (the peer's job). */
static void truncate_to(ps_fixture_t *f, uint64_t index)
{
    uint64_t term = term_of(f->ps, index);
    f->ps->applied_index = f->ps->applied_index > index ? f->ps->applied_index : index;
    f->ps->truncated_index = index;
    f->ps->truncated_term = term;
    eng_batch_t *wb = eng_batch_new();
    peer_storage_put_apply_state(f->ps, wb);
    expect_err(eng_write(f->kv_db, wb, 0), TKV_OK, "eng_write(f->kv_db, wb, 0)");
    eng_batch_free(wb);
}

static void test_log_gc_deletes_truncated_entries(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 21, 6, 20);
    truncate_to(f, 15);
    expect_err(peer_storage_gc_log(f->ps, 15), TKV_OK, "peer_storage_gc_log(f->ps, 15)");
    for (uint64_t i = 6; i <= 15; i++)
        if (raft_db_has_entry(f, i))
            fail_msg("entry %llu is still in the raft DB after GC to 15", (unsigned long long)i);
    expect_true(raft_db_has_entry(f, 16), "entry 16 must stay in the raft DB after GC to 15");
    expect_u64(peer_storage_first_index(f->ps), 16,
               "the first index after truncating and GCing the log to 15");
    expect_u64(term_of(f->ps, 15), 6,
               "the term at the truncated index 15 (still known from the apply state)");
    uint64_t t = 0;
    expect_err(peer_storage_term(f->ps, 14, &t), RAFT_ERR_COMPACTED,
               "peer_storage_term(f->ps, 14, &t)");
    ps_expect_entries(f->ps, 16, 21, 6);
    ps_reopen(f);
    expect_u64(peer_storage_first_index(f->ps), 16,
               "the first index after a restart following GC to 15");
    ps_expect_entries(f->ps, 16, 21, 6);
}

static void test_restart_finishes_an_interrupted_log_gc(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 21, 6, 20);
    truncate_to(f, 12); /* apply state says truncated; the crash came before GC */
    expect_true(raft_db_has_entry(f, 10),
                "entry 10 in the raft DB before the restart (the crash came before GC)");
    ps_reopen(f);
    expect_false(raft_db_has_entry(f, 10),
                 "entry 10 is still in the raft DB after a restart with the log truncated to 12 (a "
                 "restart finishes the interrupted GC)");
    expect_false(raft_db_has_entry(f, 12),
                 "entry 12 is still in the raft DB after a restart with the log truncated to 12 (a "
                 "restart finishes the interrupted GC)");
    expect_true(raft_db_has_entry(f, 13),
                "entry 13 must stay in the raft DB after a restart with the log truncated to 12");
    ps_expect_entries(f->ps, 13, 21, 6);
}

static void put_data(eng_t *kv, const char *cf, const char *k, const char *v)
{
    expect_err(eng_put(kv, cf, slice_of_str(k), slice_of_str(v)), TKV_OK,
               "eng_put(kv, cf, slice_of_str(k), slice_of_str(v))");
}

static int has_data(eng_t *kv, const char *cf, const char *k, const char *want)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t err = eng_get(kv, cf, slice_of_str(k), &v);
    int ok = err == TKV_OK && v.len == strlen(want) && memcmp(v.data, want, v.len) == 0;
    buf_free(&v);
    return ok;
}

static void test_snapshot_replaces_data_log_and_state(void **state)
{
    ps_fixture_t *f = *state;
    /* The leader's side, in a second pair of databases. */
    ps_fixture_t *leader = NULL;
    ps_setup((void **)&leader);
    ps_save_entries(leader->ps, 6, 31, 7, 30);
    put_data(leader->kv_db, CF_DEFAULT, "a", "1");
    put_data(leader->kv_db, CF_WRITE, "b", "2");
    put_data(leader->kv_db, CF_LOCK, "c", "3");
    leader->ps->applied_index = 30;
    raft_snapshot_t snap;
    expect_err(peer_storage_generate_snapshot(leader->ps, &snap), TKV_OK,
               "peer_storage_generate_snapshot(leader->ps, &snap)");
    expect_u64(snap.metadata.index, 30, "the index of the generated snapshot (the applied index)");
    expect_u64(snap.metadata.term, 7, "the term of the generated snapshot (entry 30's)");
    expect_u64(snap.metadata.conf_state.n_nodes, 3,
               "voters in the generated snapshot's conf state");
    ps_teardown((void **)&leader);

    /* The follower has an old, diverging log and data the snapshot drops. */
    ps_save_entries(f->ps, 6, 12, 6, 8);
    put_data(f->kv_db, CF_DEFAULT, "stale", "x");
    raft_ready_t rd;
    memset(&rd, 0, sizeof(rd));
    rd.snapshot = snap;
    rd.hard_state.term = 7;
    rd.hard_state.commit = 30;
    int applied = 0;
    expect_err(peer_storage_save_ready(f->ps, &rd, &applied), TKV_OK,
               "peer_storage_save_ready(f->ps, &rd, &applied)");
    expect_u64(
        applied, 1,
        "peer_storage_save_ready's snapshot flag for a Ready with a snapshot (1: it was applied)");
    raft_snapshot_free(&snap);
    for (int round = 0; round < 2; round++) {
        expect_true(
            has_data(f->kv_db, CF_DEFAULT, "a", "1"),
            "after installing the snapshot%s the default CF must hold a=1 (from the snapshot)",
            round ? " and a restart" : "");
        expect_true(
            has_data(f->kv_db, CF_WRITE, "b", "2"),
            "after installing the snapshot%s the write CF must hold b=2 (from the snapshot)",
            round ? " and a restart" : "");
        expect_true(has_data(f->kv_db, CF_LOCK, "c", "3"),
                    "after installing the snapshot%s the lock CF must hold c=3 (from the snapshot)",
                    round ? " and a restart" : "");
        expect_false(has_data(f->kv_db, CF_DEFAULT, "stale", "x"),
                     "after installing the snapshot%s the default CF still holds stale=x (the "
                     "region's old data must be cleared)",
                     round ? " and a restart" : "");
        for (uint64_t i = 6; i < 12; i++)
            expect_false(raft_db_has_entry(f, i),
                         "after installing the snapshot%s old entry %llu is still in the raft DB "
                         "(the old log must be dropped)",
                         round ? " and a restart" : "", (unsigned long long)i);
        expect_u64(peer_storage_first_index(f->ps), 31,
                   "the first index after installing a snapshot at 30%s",
                   round ? " and a restart" : "");
        expect_u64(f->ps->last_index, 30, "the last index after installing a snapshot at 30%s",
                   round ? " and a restart" : "");
        expect_u64(f->ps->applied_index, 30,
                   "the applied index after installing a snapshot at 30%s",
                   round ? " and a restart" : "");
        expect_u64(term_of(f->ps, 30), 7, "the term at the snapshot's index 30%s",
                   round ? " (after a restart)" : "");
        expect_u64(f->ps->hard_state.commit, 30,
                   "the commit index after installing a snapshot at 30%s",
                   round ? " and a restart" : "");
        ps_reopen(f); /* and the same after a restart */
    }
    /* The log continues after the snapshot. */
    ps_save_entries(f->ps, 31, 33, 7, 32);
    ps_expect_entries(f->ps, 31, 33, 7);
}

static void test_crash_during_snapshot_install_is_repaired(void **state)
{
    ps_fixture_t *f = *state;
    ps_save_entries(f->ps, 6, 12, 6, 8);
    /* The kv DB got the snapshot (PEER_APPLYING, apply state at 40) but the
     * raft DB write never happened. */
    f->ps->applied_index = f->ps->truncated_index = 40;
    f->ps->truncated_term = 9;
    eng_batch_t *wb = eng_batch_new();
    peer_storage_put_apply_state(f->ps, wb);
    peer_storage_put_region_state(f->ps, RAFT_SERVERPB__PEER_STATE__PEER_APPLYING, wb);
    expect_err(eng_write(f->kv_db, wb, 0), TKV_OK, "eng_write(f->kv_db, wb, 0)");
    eng_batch_free(wb);
    ps_reopen(f);
    expect_u64(f->ps->last_index, 40,
               "the last index after a restart with a snapshot at 40 half-installed (kv DB only: "
               "the restart completes it)");
    expect_u64(f->ps->last_term, 9,
               "the last term after a restart with a snapshot (index 40, term 9) half-installed");
    expect_true(f->ps->hard_state.commit >= 40,
                "the commit index after a restart with a snapshot at 40 half-installed must be at "
                "least 40; it is %llu",
                (unsigned long long)f->ps->hard_state.commit);
    expect_u64(peer_storage_first_index(f->ps), 41,
               "the first index after a restart with a snapshot at 40 half-installed");
    for (uint64_t i = 6; i < 12; i++)
        expect_false(raft_db_has_entry(f, i),
                     "old entry %llu is still in the raft DB after a restart that completed a "
                     "snapshot at 40",
                     (unsigned long long)i);
}

#define T(suite, name, pts, desc)                                                                  \
    {                                                                                              \
        suite, #name, pts, desc, test_##name, 0, ps_setup, ps_teardown                             \
    }

const tkv_test_t peer_storage_tests[] = {
    T("frame", new_region_starts_empty_at_init_index, 0,
      "a bootstrapped region's log is empty at index 5, term 5, with its peers as voters"),
    T("project2b", appended_entries_read_back_in_order, 3,
      "entries saved from a Ready read back through the Raft storage interface"),
    T("project2b", long_log_reads_back_whole, 1,
      "five hundred entries saved in one Ready read back in one call"),
    T("project2b", append_overwrites_conflicting_tail, 3,
      "appending a shorter conflicting log replaces the tail and deletes what lies past it"),
    T("project2b", restart_recovers_log_and_hard_state, 3,
      "after a restart the log, last index and hard state are what was saved"),
    T("project2b", hard_state_and_entries_are_saved_together, 2,
      "a Ready's entries and hard state reach the raft DB in the same write"),
    T("project2b", vote_alone_is_persisted, 2,
      "a Ready with only a new term and vote still reaches the raft DB"),
    T("project2c", log_gc_deletes_truncated_entries, 3,
      "log GC removes every entry up to the truncated index from the raft DB"),
    T("project2c", restart_finishes_an_interrupted_log_gc, 2,
      "entries left behind by a crash before log GC are removed on restart"),
    T("project2c", snapshot_replaces_data_log_and_state, 5,
      "installing a snapshot replaces the region's data, drops the old log, survives restart"),
    T("project2c", crash_during_snapshot_install_is_repaired, 2,
      "a snapshot written to the kv DB but not the raft DB is completed on restart"),
    { 0 },
};
