/*
 * The transaction client against the fakes' Percolator model: the order of
 * prewrite and commit, locks resolved on reads, live locks waited for,
 * write conflicts reported with the locks taken back.
 */
#include <stdio.h>
#include <string.h>

#include "client/txn_client.h"
#include "tests/client/client_fixture.h"

static tkv_slice_t S(const char *s)
{
    return slice_of_str(s);
}

static txnc_t *begin(cfix_t *f)
{
    txnc_t *t = NULL;
    assert_int_equal(txnc_begin(f->cache, &t), TKV_OK);
    return t;
}

static void expect_stored(cfix_t *f, const char *key, const char *want)
{
    char got[64];
    uint64_t now = cfix_tso(f);
    int found = fake_read(f->fake, key, now, got, sizeof(got));
    if (want == NULL && found)
        fail_msg("'%s' should hold nothing, holds '%s'", key, got);
    if (want != NULL && (!found || strcmp(got, want) != 0))
        fail_msg("'%s' should hold '%s', holds %s%s%s", key, want, found ? "'" : "nothing",
                 found ? got : "", found ? "'" : "");
}

static void test_commit_is_primary_first(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    txnc_t *t = begin(f);
    uint64_t start = txnc_start_ts(t);
    txnc_put(t, S("q"), S("3"));
    txnc_put(t, S("b"), S("1"));
    txnc_put(t, S("k"), S("2"));
    txnc_put(t, S("c"), S("1c"));
    uint64_t cts = 0;
    tkv_err_t e = txnc_commit(t, &cts);
    txnc_free(t);
    if (e != TKV_OK) {
        cfix_dump_calls(f);
        fail_msg("commit failed: %s", tkv_last_error());
    }
    /* Primary "b" prewritten alone; then "c" (region 1), "k" (2), "q" (3);
     * primary committed alone; then the secondaries by region. */
    const uint64_t stores[] = { 1, 1, 2, 3, 1, 1, 2, 3 };
    const char *const m[] = { "KvPrewrite", "KvPrewrite", "KvPrewrite", "KvPrewrite",
                              "KvCommit",   "KvCommit",   "KvCommit",   "KvCommit" };
    const char *const k[] = { "b", "c", "k", "q", "b", "c", "k", "q" };
    cfix_expect_calls(f, 8, stores, m);
    for (size_t i = 0; i < 8; i++) {
        fake_call_t c = fake_call(f->fake, i);
        int ok = strcmp(c.keys, k[i]) == 0 && c.start_ts == start &&
                 (i < 4 || (c.commit_ts == cts && cts > start));
        if (!ok) {
            cfix_dump_calls(f);
            fail_msg("call %zu (%s) had keys [%s] start %llu commit %llu; expected keys [%s], "
                     "start %llu%s",
                     i, c.method, c.keys, (unsigned long long)c.start_ts,
                     (unsigned long long)c.commit_ts, k[i], (unsigned long long)start,
                     i < 4 ? "" : " and the commit ts returned, later than start");
        }
    }
    expect_stored(f, "b", "1");
    expect_stored(f, "q", "3");
    assert_int_equal(fake_n_locks(f->fake), 0);
}

static void test_get_resolves_lock_of_committed_txn(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    /* An old transaction committed its primary "b" but died before its
     * secondary "x" (another region). */
    uint64_t t1 = cfix_tso(f), c1 = cfix_tso(f);
    fake_put_write(f->fake, "b", t1, c1, "B");
    fake_put_lock(f->fake, "x", "b", t1, 3000, "X");
    txnc_t *t = begin(f);
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = txnc_get(t, S("x"), &v);
    txnc_free(t);
    if (e != TKV_OK || !slice_equal(buf_slice(&v), S("X"))) {
        cfix_dump_calls(f);
        fail_msg("reading a key locked by a committed transaction: expected 'X' after "
                 "resolving, got %s '%.*s'",
                 tkv_strerror(e), (int)v.len, (const char *)v.data);
    }
    buf_free(&v);
    const uint64_t stores[] = { 3, 1, 3, 3 };
    const char *const m[] = { "KvGet", "KvCheckTxnStatus", "KvResolveLock", "KvGet" };
    cfix_expect_calls(f, 4, stores, m);
    fake_call_t r = fake_call(f->fake, 2);
    if (r.start_ts != t1 || r.commit_ts != c1)
        fail_msg("KvResolveLock must commit the lock's txn %llu at its commit ts %llu; it was "
                 "sent start %llu commit %llu",
                 (unsigned long long)t1, (unsigned long long)c1, (unsigned long long)r.start_ts,
                 (unsigned long long)r.commit_ts);
}

static void test_get_rolls_back_expired_lock(void **state)
{
    cfix_t *f = *state;
    uint64_t t1 = cfix_tso(f);
    fake_put_lock(f->fake, "x", "p", t1, 50, "X");
    fake_put_lock(f->fake, "p", "p", t1, 50, "P");
    /* 60 ms later the TTL has run out. */
    vclock_advance(&f->vc, 60);
    txnc_t *t = begin(f);
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = txnc_get(t, S("x"), &v);
    txnc_free(t);
    if (e != TKV_ERR_NOT_FOUND) {
        cfix_dump_calls(f);
        fail_msg("a key locked by a transaction whose TTL ran out: expected not found after "
                 "the rollback, got %s",
                 tkv_strerror(e));
    }
    fake_call_t r = fake_call(f->fake, 2);
    if (strcmp(r.method, "KvResolveLock") != 0 || r.commit_ts != 0)
        fail_msg("expected KvResolveLock with commit ts 0 (roll back) as the third call, saw "
                 "%s commit %llu",
                 r.method, (unsigned long long)r.commit_ts);
}

static void test_get_waits_for_a_live_lock(void **state)
{
    cfix_t *f = *state;
    uint64_t t1 = cfix_tso(f);
    /* TTL long enough to outlast every wait. */
    fake_put_lock(f->fake, "x", "x", t1, 10000000, "X");
    txnc_t *t = begin(f);
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = txnc_get(t, S("x"), &v);
    txnc_free(t);
    if (e != TKV_ERR_BUSY)
        fail_msg("a key locked by a live transaction: expected TKV_ERR_BUSY after waiting, "
                 "got %s (%s)",
                 tkv_strerror(e), tkv_last_error());
    if (f->n_waits != (size_t)f->cfg.lock_wait_retries)
        fail_msg("expected %d waits for the live lock, saw %zu", f->cfg.lock_wait_retries,
                 f->n_waits);
    assert_int_equal(fake_n_locks(f->fake), 1); /* a live lock is left alone */
}

static void test_get_waits_until_a_lock_expires(void **state)
{
    cfix_t *f = *state;
    uint64_t t1 = cfix_tso(f);
    fake_put_write(f->fake, "x", t1 - 2, t1 - 1, "old");
    fake_put_lock(f->fake, "x", "x", t1, 100, "new");
    txnc_t *t = begin(f);
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = txnc_get(t, S("x"), &v);
    txnc_free(t);
    /* Waits 4+8+16+32+64 pass the 100 ms TTL: rolled back, the old value. */
    if (e != TKV_OK || !slice_equal(buf_slice(&v), S("old")))
        fail_msg("expected 'old' once the lock expired while waiting, got %s '%.*s'",
                 tkv_strerror(e), (int)v.len, (const char *)v.data);
    buf_free(&v);
}

static void test_write_conflict_fails_and_rolls_back(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    txnc_t *t = begin(f);
    /* Someone commits "k" after t began. */
    uint64_t t2 = cfix_tso(f), c2 = cfix_tso(f);
    fake_put_write(f->fake, "k", t2, c2, "theirs");
    txnc_put(t, S("a"), S("mine"));
    txnc_put(t, S("k"), S("mine"));
    tkv_err_t e = txnc_commit(t, NULL);
    txnc_free(t);
    if (e != TKV_ERR_STALE || strstr(tkv_last_error(), "conflict") == NULL)
        fail_msg("a key written after the transaction began: expected TKV_ERR_STALE saying "
                 "write conflict, got %s (%s)",
                 tkv_strerror(e), tkv_last_error());
    if (fake_n_locks(f->fake) != 0) {
        cfix_dump_calls(f);
        fail_msg("the failed commit left %zu locks; its prewritten keys must be rolled back",
                 fake_n_locks(f->fake));
    }
    expect_stored(f, "a", NULL);
    expect_stored(f, "k", "theirs");
}

static void test_prewrite_resolves_a_dead_txns_lock(void **state)
{
    cfix_t *f = *state;
    uint64_t t1 = cfix_tso(f);
    fake_put_lock(f->fake, "k", "k", t1, 10, "dead");
    vclock_advance(&f->vc, 20);
    txnc_t *t = begin(f);
    txnc_put(t, S("k"), S("v"));
    tkv_err_t e = txnc_commit(t, NULL);
    txnc_free(t);
    if (e != TKV_OK) {
        cfix_dump_calls(f);
        fail_msg("prewrite over an expired lock must resolve it and commit: %s", tkv_last_error());
    }
    expect_stored(f, "k", "v");
}

static void scan_sees_snapshot_and_own_writes(void **state, size_t page)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    fake_set_scan_page(f->fake, page);
    uint64_t t0 = cfix_tso(f), c0 = cfix_tso(f);
    const char *const stored[] = { "a", "f", "h", "o", "q" };
    for (size_t i = 0; i < 5; i++)
        fake_put_write(f->fake, stored[i], t0, c0, stored[i]);
    txnc_t *t = begin(f);
    /* Written after the snapshot: invisible. */
    uint64_t t9 = cfix_tso(f), c9 = cfix_tso(f);
    fake_put_write(f->fake, "b", t9, c9, "late");
    txnc_put(t, S("g"), S("mine"));
    txnc_delete(t, S("h"));
    kv_list_t l = KV_LIST_INIT;
    tkv_err_t e = txnc_scan(t, S(""), 5, &l);
    txnc_free(t);
    assert_int_equal(e, TKV_OK);
    const char *const want[] = { "a", "f", "g", "o", "q" };
    int ok = l.n == 5;
    for (size_t i = 0; ok && i < 5; i++)
        ok = slice_equal(buf_slice(&l.items[i].key), S(want[i]));
    if (!ok) {
        char got[128] = "";
        for (size_t i = 0; i < l.n; i++) {
            size_t at = strlen(got);
            snprintf(got + at, sizeof(got) - at, "%s%.*s", i ? "," : "", (int)l.items[i].key.len,
                     (const char *)l.items[i].key.data);
        }
        fail_msg("txn scan over 3 regions%s: expected a,f,g,o,q (the snapshot, with this "
                 "transaction's put of g and delete of h), got [%s]",
                 page ? ", replies cut to one pair with `more`" : "", got);
    }
    kv_list_free(&l);
}

static void test_scan_sees_snapshot_and_own_writes(void **state)
{
    scan_sees_snapshot_and_own_writes(state, 0);
}

/* A store may cut a scan reply short to fit a frame and say `more`: the
 * client must go on inside the same region, not skip to its end. */
static void test_scan_follows_more_within_a_region(void **state)
{
    scan_sees_snapshot_and_own_writes(state, 1);
}

const tkv_test_t txn_client_tests[] = {
    { "frame", "txn_commit_is_primary_first", 0,
      "commit prewrites the primary alone, then secondaries by region; commits the primary "
      "alone, then the rest",
      test_commit_is_primary_first, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_get_resolves_lock_of_committed_txn", 0,
      "a read that meets a lock of a committed txn checks the primary and commits the lock",
      test_get_resolves_lock_of_committed_txn, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_get_rolls_back_expired_lock", 0,
      "a read that meets an expired lock rolls it back and reads past it",
      test_get_rolls_back_expired_lock, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_get_waits_for_a_live_lock", 0,
      "a read that meets a live lock waits a bounded number of times, then says busy",
      test_get_waits_for_a_live_lock, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_get_waits_until_a_lock_expires", 0,
      "a read waiting on a lock resolves it once its TTL has run out (virtual time)",
      test_get_waits_until_a_lock_expires, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_write_conflict_fails_and_rolls_back", 0,
      "a write conflict fails the commit with TKV_ERR_STALE and leaves no lock",
      test_write_conflict_fails_and_rolls_back, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_prewrite_resolves_a_dead_txns_lock", 0,
      "prewrite over an expired lock resolves it and commits",
      test_prewrite_resolves_a_dead_txns_lock, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_scan_sees_snapshot_and_own_writes", 0,
      "a txn scan crosses regions, reads the snapshot and shows its own buffered writes",
      test_scan_sees_snapshot_and_own_writes, 0, cfix_setup, cfix_teardown },
    { "frame", "txn_scan_follows_more_within_a_region", 0,
      "a txn scan whose replies are cut short with `more` goes on in the same region",
      test_scan_follows_more_within_a_region, 0, cfix_setup, cfix_teardown },
    { 0 },
};
