/*
 * Project 4A: the MVCC transaction (project4-txn/mvcc/txn.h). Each test lays
 * out the column families directly, then reads through a txn, or writes
 * through a txn and inspects the families.
 */
#include <string.h>

#include "project4-txn/mvcc/txn.h"
#include "tests/harness/expect.h"
#include "tests/txn/txn_helpers.h"

typedef struct {
    storage_reader_t *r;
    mvcc_txn_t t;
} open_txn_t;

static void txn_open(txn_fixture_t *f, uint64_t ts, open_txn_t *o)
{
    expect_err(storage_reader(f->s, NULL, &o->r), TKV_OK, "storage_reader(f->s, NULL, &o->r)");
    mvcc_txn_init(&o->t, o->r, ts);
}

static void txn_close(open_txn_t *o)
{
    mvcc_txn_free(&o->t);
    reader_close(o->r);
}

/* Applies the txn's buffer, then closes it. */
static void txn_flush(txn_fixture_t *f, open_txn_t *o)
{
    expect_err(mvcc_txn_write(&o->t, f->s, NULL), TKV_OK, "mvcc_txn_write(&o->t, f->s, NULL)");
    txn_close(o);
}

/* The value a reader at ts sees for key, compared with `want` (NULL: none). */
static void read_expect(txn_fixture_t *f, tkv_slice_t key, uint64_t ts, const char *want)
{
    open_txn_t o;
    txn_open(f, ts, &o);
    tkv_buf_t v = TKV_BUF_INIT;
    int found = -1;
    expect_err(mvcc_txn_get_value(&o.t, key, &v, &found), TKV_OK,
               "mvcc_txn_get_value(&o.t, key, &v, &found)");
    if (want == NULL) {
        expect_u64(found, 0,
                   "mvcc_txn_get_value at ts %llu found a value (1) or not (0); none was committed "
                   "at or before the ts",
                   (unsigned long long)ts);
    } else {
        expect_u64(found, 1,
                   "mvcc_txn_get_value at ts %llu found a value (1) or not (0); \"%s\" was "
                   "committed before the ts",
                   (unsigned long long)ts, want);
        expect_bytes(v.data ? (const void *)v.data : "", v.len, want, strlen(want),
                     "the value mvcc_txn_get_value reads at ts %llu", (unsigned long long)ts);
    }
    buf_free(&v);
    txn_close(&o);
}

static void test_empty_txn_reads_and_writes_nothing(void **state)
{
    txn_fixture_t *f = *state;
    open_txn_t o;
    txn_open(f, 10, &o);
    mvcc_lock_t l;
    mvcc_lock_init(&l);
    tkv_buf_t v = TKV_BUF_INIT;
    mvcc_write_t w;
    uint64_t cts;
    int found = -1;
    expect_err(mvcc_txn_get_lock(&o.t, S("k"), &l, &found), TKV_OK,
               "mvcc_txn_get_lock(&o.t, S(\"k\"), &l, &found)");
    expect_u64(found, 0, "mvcc_txn_get_lock of a key in an empty store: found (1) or not (0)");
    found = -1;
    expect_err(mvcc_txn_get_value(&o.t, S("k"), &v, &found), TKV_OK,
               "mvcc_txn_get_value(&o.t, S(\"k\"), &v, &found)");
    expect_u64(found, 0, "mvcc_txn_get_value of a key in an empty store: found (1) or not (0)");
    found = -1;
    expect_err(mvcc_txn_current_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_current_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_u64(found, 0, "mvcc_txn_current_write of a key in an empty store: found (1) or not (0)");
    found = -1;
    expect_err(mvcc_txn_most_recent_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_most_recent_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_u64(found, 0,
               "mvcc_txn_most_recent_write of a key in an empty store: found (1) or not (0)");
    mvcc_lock_free(&l);
    buf_free(&v);
    size_t n = 99;
    mvcc_txn_writes(&o.t, &n);
    expect_u64(n, 0, "writes buffered by a txn that wrote nothing (mvcc_txn_writes)");
    txn_flush(f, &o);
    th_assert_lens(f->s, 0, 0, 0);
}

static void test_put_lock_then_get_it(void **state)
{
    txn_fixture_t *f = *state;
    open_txn_t o;
    txn_open(f, 100, &o);
    mvcc_lock_t l;
    mvcc_lock_init(&l);
    l.kind = MVCC_KIND_PUT;
    l.start_ts = 100;
    l.ttl = 3000;
    buf_set(&l.primary, "pk", 2);
    mvcc_txn_put_lock(&o.t, S("k"), &l);
    mvcc_lock_free(&l);
    th_assert_lens(f->s, 0, 0, 0); /* buffered, not written */
    txn_flush(f, &o);
    th_assert_lens(f->s, 0, 1, 0);
    th_assert_lock(f->s, S("k"), S("pk"), 100, 3000, MVCC_KIND_PUT);

    txn_open(f, 200, &o);
    mvcc_lock_t got;
    mvcc_lock_init(&got);
    int found = 0;
    expect_err(mvcc_txn_get_lock(&o.t, S("k"), &got, &found), TKV_OK,
               "mvcc_txn_get_lock(&o.t, S(\"k\"), &got, &found)");
    expect_u64(found, 1, "mvcc_txn_get_lock of a key whose lock was written: found (1) or not (0)");
    expect_u64(got.start_ts, 100, "the start ts of the lock mvcc_txn_get_lock reads back");
    expect_u64(got.ttl, 3000, "the TTL of the lock mvcc_txn_get_lock reads back");
    expect_named(got.kind, MVCC_KIND_PUT, mvcc_kind_name,
                 "the kind of the lock mvcc_txn_get_lock reads back");
    expect_bytes(got.primary.data ? (const void *)got.primary.data : "", got.primary.len, "pk", 2,
                 "the primary of the lock mvcc_txn_get_lock reads back");
    mvcc_lock_free(&got);
    txn_close(&o);
}

static void test_get_lock_of_unlocked_key(void **state)
{
    txn_fixture_t *f = *state;
    th_put_lock(f->s, S("a"), S("a"), 5, 0, MVCC_KIND_PUT);
    open_txn_t o;
    txn_open(f, 10, &o);
    mvcc_lock_t got;
    mvcc_lock_init(&got);
    int found = -1;
    expect_err(mvcc_txn_get_lock(&o.t, S("b"), &got, &found), TKV_OK,
               "mvcc_txn_get_lock(&o.t, S(\"b\"), &got, &found)");
    expect_u64(found, 0,
               "mvcc_txn_get_lock of key b when only key a is locked: found (1) or not (0)");
    mvcc_lock_free(&got);
    txn_close(&o);
}

static void test_get_lock_rejects_corrupt_record(void **state)
{
    txn_fixture_t *f = *state;
    th_put_raw(f->s, CF_LOCK, S("k"), S("garbage"));
    open_txn_t o;
    txn_open(f, 10, &o);
    mvcc_lock_t got;
    mvcc_lock_init(&got);
    int found = -1;
    expect_err(mvcc_txn_get_lock(&o.t, S("k"), &got, &found), TKV_ERR_CORRUPT,
               "mvcc_txn_get_lock(&o.t, S(\"k\"), &got, &found)");
    expect_u64(
        found, 0,
        "mvcc_txn_get_lock of a corrupt lock record: found must stay 0 with TKV_ERR_CORRUPT");
    mvcc_lock_free(&got);
    txn_close(&o);
}

static void test_delete_lock_removes_it(void **state)
{
    txn_fixture_t *f = *state;
    th_put_lock(f->s, S("k"), S("k"), 5, 0, MVCC_KIND_PUT);
    th_put_lock(f->s, S("j"), S("k"), 5, 0, MVCC_KIND_PUT);
    open_txn_t o;
    txn_open(f, 5, &o);
    mvcc_txn_delete_lock(&o.t, S("k"));
    txn_flush(f, &o);
    th_assert_no_lock(f->s, S("k"));
    th_assert_lock(f->s, S("j"), S("k"), 5, 0, MVCC_KIND_PUT);
}

static void test_put_and_delete_value_at_start_ts(void **state)
{
    txn_fixture_t *f = *state;
    open_txn_t o;
    txn_open(f, 42, &o);
    mvcc_txn_put_value(&o.t, S("k"), S("v42"));
    txn_flush(f, &o);
    th_assert_lens(f->s, 1, 0, 0);
    th_assert_value(f->s, S("k"), 42, S("v42"));

    th_put_value(f->s, S("k"), 40, S("v40"));
    txn_open(f, 42, &o);
    mvcc_txn_delete_value(&o.t, S("k"));
    txn_flush(f, &o);
    th_assert_no_value(f->s, S("k"), 42);
    th_assert_value(f->s, S("k"), 40, S("v40"));
}

static void test_put_write_at_commit_ts(void **state)
{
    txn_fixture_t *f = *state;
    open_txn_t o;
    txn_open(f, 50, &o);
    mvcc_write_t w = { MVCC_KIND_DELETE, 50 };
    mvcc_txn_put_write(&o.t, S("k"), 54, &w);
    txn_flush(f, &o);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, S("k"), 54, 50, MVCC_KIND_DELETE);
}

static void test_get_value_at_and_after_commit(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, S("k"), 50, S("v"));
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    read_expect(f, S("k"), 54, "v");
    read_expect(f, S("k"), 55, "v");
    read_expect(f, S("k"), MVCC_TS_MAX, "v");
}

static void test_get_value_before_commit_is_missing(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, S("k"), 50, S("v"));
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    read_expect(f, S("k"), 53, NULL);
    read_expect(f, S("k"), 50, NULL);
    read_expect(f, S("k"), 1, NULL);
}

static void test_get_value_of_missing_key(void **state)
{
    txn_fixture_t *f = *state;
    /* Neighbours, including keys that extend the one we look for. */
    const char *others[] = { "j", "ka", "l" };
    for (int i = 0; i < 3; i++) {
        th_put_value(f->s, S(others[i]), 50, S("x"));
        th_put_write(f->s, S(others[i]), 54, 50, MVCC_KIND_PUT);
    }
    th_put_value(f->s, slice_of("k\0", 2), 50, S("x"));
    th_put_write(f->s, slice_of("k\0", 2), 54, 50, MVCC_KIND_PUT);
    read_expect(f, S("k"), 100, NULL);
    read_expect(f, slice_of(NULL, 0), 100, NULL);
}

static void test_get_value_picks_version_for_ts(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, S("k"), 50, S("v50"));
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_value(f->s, S("k"), 60, S("v60"));
    th_put_write(f->s, S("k"), 66, 60, MVCC_KIND_PUT);
    th_put_value(f->s, S("k"), 120, S("v120"));
    th_put_write(f->s, S("k"), 122, 120, MVCC_KIND_PUT);
    read_expect(f, S("k"), 40, NULL);
    read_expect(f, S("k"), 56, "v50");
    read_expect(f, S("k"), 65, "v50");
    read_expect(f, S("k"), 66, "v60");
    read_expect(f, S("k"), 121, "v60");
    read_expect(f, S("k"), 200, "v120");
}

static void test_get_value_hidden_by_delete(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, S("k"), 50, S("v50"));
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("k"), 66, 60, MVCC_KIND_DELETE);
    th_put_value(f->s, S("k"), 120, S("v120"));
    th_put_write(f->s, S("k"), 122, 120, MVCC_KIND_PUT);
    read_expect(f, S("k"), 65, "v50");
    read_expect(f, S("k"), 66, NULL);
    read_expect(f, S("k"), 121, NULL);
    read_expect(f, S("k"), 122, "v120");
}

static void test_get_value_looks_past_rollbacks(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, S("k"), 50, S("v50"));
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("k"), 60, 60, MVCC_KIND_ROLLBACK);
    th_put_write(f->s, S("k"), 70, 70, MVCC_KIND_ROLLBACK);
    read_expect(f, S("k"), 65, "v50");
    read_expect(f, S("k"), 100, "v50");
}

static void expect_write(int found, mvcc_write_t w, uint64_t cts, uint64_t want_cts,
                         uint64_t want_start, mvcc_kind_t want_kind)
{
    expect_u64(found, 1, "the write was found (1) or not (0); one with start ts %llu exists",
               (unsigned long long)want_start);
    expect_u64(cts, want_cts, "the commit ts of the write found for start ts %llu",
               (unsigned long long)want_start);
    expect_u64(w.start_ts, want_start, "the start ts of the write found (commit ts %llu)",
               (unsigned long long)want_cts);
    expect_named(w.kind, want_kind, mvcc_kind_name, "the kind of the write found (commit ts %llu)",
                 (unsigned long long)want_cts);
}

static void test_current_write_finds_own_commit(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("k"), 66, 60, MVCC_KIND_DELETE);
    th_put_write(f->s, S("k"), 80, 70, MVCC_KIND_PUT);
    uint64_t starts[] = { 50, 60, 70 }, commits[] = { 54, 66, 80 };
    mvcc_kind_t kinds[] = { MVCC_KIND_PUT, MVCC_KIND_DELETE, MVCC_KIND_PUT };
    for (int i = 0; i < 3; i++) {
        open_txn_t o;
        txn_open(f, starts[i], &o);
        mvcc_write_t w;
        uint64_t cts = 0;
        int found = 0;
        expect_err(mvcc_txn_current_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
                   "mvcc_txn_current_write(&o.t, S(\"k\"), &w, &cts, &found)");
        expect_write(found, w, cts, commits[i], starts[i], kinds[i]);
        txn_close(&o);
    }
}

static void test_current_write_missing_for_other_txns(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("j"), 64, 55, MVCC_KIND_PUT);
    uint64_t starts[] = { 49, 52, 54, 55, 100 };
    for (int i = 0; i < 5; i++) {
        open_txn_t o;
        txn_open(f, starts[i], &o);
        mvcc_write_t w;
        uint64_t cts = 0;
        int found = -1;
        expect_err(mvcc_txn_current_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
                   "mvcc_txn_current_write(&o.t, S(\"k\"), &w, &cts, &found)");
        expect_u64(found, 0,
                   "mvcc_txn_current_write for start ts %llu, which no write of key k has: found "
                   "(1) or not (0)",
                   (unsigned long long)starts[i]);
        txn_close(&o);
    }
}

static void test_current_write_finds_rollback(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("k"), 60, 60, MVCC_KIND_ROLLBACK);
    th_put_write(f->s, S("k"), 70, 65, MVCC_KIND_PUT);
    open_txn_t o;
    txn_open(f, 60, &o);
    mvcc_write_t w;
    uint64_t cts = 0;
    int found = 0;
    expect_err(mvcc_txn_current_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_current_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_write(found, w, cts, 60, 60, MVCC_KIND_ROLLBACK);
    txn_close(&o);
}

static void test_most_recent_write_of_any_kind(void **state)
{
    txn_fixture_t *f = *state;
    open_txn_t o;
    mvcc_write_t w;
    uint64_t cts = 0;
    int found = -1;

    txn_open(f, 1, &o);
    expect_err(mvcc_txn_most_recent_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_most_recent_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_u64(found, 0,
               "mvcc_txn_most_recent_write of a key with no writes: found (1) or not (0)");
    txn_close(&o);

    th_put_write(f->s, S("k"), 54, 50, MVCC_KIND_PUT);
    th_put_write(f->s, S("ka"), 90, 85, MVCC_KIND_PUT);
    txn_open(f, 1, &o);
    expect_err(mvcc_txn_most_recent_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_most_recent_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_write(found, w, cts, 54, 50, MVCC_KIND_PUT);
    txn_close(&o);

    th_put_write(f->s, S("k"), 66, 60, MVCC_KIND_DELETE);
    txn_open(f, 1, &o);
    expect_err(mvcc_txn_most_recent_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_most_recent_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_write(found, w, cts, 66, 60, MVCC_KIND_DELETE);
    txn_close(&o);

    th_put_write(f->s, S("k"), 70, 70, MVCC_KIND_ROLLBACK);
    txn_open(f, 1, &o);
    expect_err(mvcc_txn_most_recent_write(&o.t, S("k"), &w, &cts, &found), TKV_OK,
               "mvcc_txn_most_recent_write(&o.t, S(\"k\"), &w, &cts, &found)");
    expect_write(found, w, cts, 70, 70, MVCC_KIND_ROLLBACK);
    txn_close(&o);
}

#define T4A(name, pts, desc, fn)                                                                   \
    {                                                                                              \
        "project4a", name, pts, desc, fn, 0, txn_setup, txn_teardown                               \
    }

const tkv_test_t mvcc_tests[] = {
    T4A("empty_txn_reads_and_writes_nothing", 5,
        "on an empty store every read finds nothing, and a txn without changes writes nothing",
        test_empty_txn_reads_and_writes_nothing),
    T4A("put_lock_then_get_it", 5, "a buffered lock lands in CF_LOCK and reads back whole",
        test_put_lock_then_get_it),
    T4A("get_lock_of_unlocked_key", 5, "get_lock of a key without a lock reports found = 0",
        test_get_lock_of_unlocked_key),
    T4A("get_lock_rejects_corrupt_record", 5, "get_lock of undecodable bytes is TKV_ERR_CORRUPT",
        test_get_lock_rejects_corrupt_record),
    T4A("delete_lock_removes_it", 5, "delete_lock removes that key's lock and no other",
        test_delete_lock_removes_it),
    T4A("put_and_delete_value_at_start_ts", 5,
        "put_value/delete_value change CF_DEFAULT at the txn's start ts only",
        test_put_and_delete_value_at_start_ts),
    T4A("put_write_at_commit_ts", 5, "put_write stores the record at the commit ts in CF_WRITE",
        test_put_write_at_commit_ts),
    T4A("get_value_at_and_after_commit", 5, "a value is visible from its commit ts on",
        test_get_value_at_and_after_commit),
    T4A("get_value_before_commit_is_missing", 5, "a value is invisible before its commit ts",
        test_get_value_before_commit_is_missing),
    T4A("get_value_of_missing_key", 5,
        "get_value of an absent key is not found, even next to keys it prefixes",
        test_get_value_of_missing_key),
    T4A("get_value_picks_version_for_ts", 5, "each read ts sees the newest version committed by it",
        test_get_value_picks_version_for_ts),
    T4A("get_value_hidden_by_delete", 5, "a committed delete hides older versions from later reads",
        test_get_value_hidden_by_delete),
    T4A("get_value_looks_past_rollbacks", 5,
        "rollback records are skipped: the older committed value shows",
        test_get_value_looks_past_rollbacks),
    T4A("current_write_finds_own_commit", 5,
        "current_write finds the record whose start ts is the txn's, among others",
        test_current_write_finds_own_commit),
    T4A("current_write_missing_for_other_txns", 5,
        "current_write finds nothing for txns that left no record on the key",
        test_current_write_missing_for_other_txns),
    T4A("current_write_finds_rollback", 5, "current_write reports a rollback record at start ts",
        test_current_write_finds_rollback),
    T4A("most_recent_write_of_any_kind", 5,
        "most_recent_write is the newest record: put, delete or rollback",
        test_most_recent_write_of_any_kind),
    { 0 },
};
