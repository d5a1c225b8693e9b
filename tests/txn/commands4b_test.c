/*
 * Project 4B: KvGet, KvPrewrite, KvCommit (project4-txn/kv_txn.h). The cases
 * follow TinyKV's commands4b tests: each lays out the column families, runs
 * commands, and checks both the responses and what the families hold after.
 */
#include <pthread.h>

#include "tests/txn/txn_helpers.h"

/* A committed put of `value` to key: value at start_ts, record at commit_ts. */
static void committed(txn_fixture_t *f, tkv_slice_t key, uint64_t start_ts, uint64_t commit_ts,
                      tkv_slice_t value)
{
    th_put_value(f->s, key, start_ts, value);
    th_put_write(f->s, key, commit_ts, start_ts, MVCC_KIND_PUT);
}

/* Gets key at ts and expects `want` (NULL: not found, no error). */
static void expect_get(txn_fixture_t *f, tkv_slice_t key, uint64_t ts, const char *want)
{
    Kvrpcpb__GetResponse *r = th_get(f, key, ts);
    expect_no_region_error(r->region_error, "KvGet of key %u at ts %llu", key.data[0],
                           (unsigned long long)ts);
    expect_no_key_error(r->error, "KvGet of key %u at ts %llu", key.data[0],
                        (unsigned long long)ts);
    if (want == NULL) {
        expect_true(r->not_found,
                    "KvGet of key %u at ts %llu must report not_found (no version committed at or "
                    "before the ts), but it did not",
                    key.data[0], (unsigned long long)ts);
    } else {
        expect_false(r->not_found,
                     "KvGet of key %u at ts %llu reported not_found although \"%s\" was committed "
                     "before the ts",
                     key.data[0], (unsigned long long)ts, want);
        th_assert_bytes(r->value, S(want));
    }
    th_free(r);
}

static void test_get_committed_value(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("*"));
    expect_get(f, K(99), MVCC_TS_MAX, "*");
}

static void test_get_same_ts_repeatedly(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("*"));
    for (int i = 0; i < 3; i++)
        expect_get(f, K(99), 100, "*");
}

static void test_get_from_empty_db(void **state)
{
    txn_fixture_t *f = *state;
    expect_get(f, K(100), MVCC_TS_MAX, NULL);
}

static void test_get_missing_key(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("*"));
    committed(f, K(101), 50, 54, S("*"));
    expect_get(f, K(100), MVCC_TS_MAX, NULL);
}

static void test_get_version_for_ts(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("v1"));
    committed(f, K(99), 60, 66, S("v2"));
    committed(f, K(99), 120, 122, S("v3"));
    expect_get(f, K(99), 40, NULL);
    expect_get(f, K(99), 56, "v1");
    expect_get(f, K(99), 60, "v1");
    expect_get(f, K(99), 65, "v1");
    expect_get(f, K(99), 66, "v2");
    expect_get(f, K(99), 100, "v2");
    expect_get(f, K(99), 122, "v3");
}

static void test_get_deleted_versions(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("v1"));
    th_put_write(f->s, K(99), 66, 60, MVCC_KIND_DELETE);
    committed(f, K(99), 120, 122, S("v3"));
    expect_get(f, K(99), 54, "v1");
    expect_get(f, K(99), 60, "v1");
    expect_get(f, K(99), 65, "v1");
    expect_get(f, K(99), 66, NULL);
    expect_get(f, K(99), 67, NULL);
    expect_get(f, K(99), 122, "v3");
}

static void test_get_blocked_by_older_lock(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(99), 50, 54, S("*"));
    th_put_lock(f->s, K(99), K(98), 200, 7, MVCC_KIND_PUT);
    /* A lock newer than the read does not matter. */
    expect_get(f, K(99), 55, "*");
    expect_get(f, K(99), 199, "*");
    /* At or after its start ts it does. */
    uint64_t reads[] = { 200, 300 };
    for (int i = 0; i < 2; i++) {
        Kvrpcpb__GetResponse *r = th_get(f, K(99), reads[i]);
        expect_no_region_error(r->region_error, "KvGet at ts %llu of a key locked at ts 200",
                               (unsigned long long)reads[i]);
        expect_key_error(r->error, TKV_KE_LOCKED,
                         "KvGet at ts %llu of a key locked at ts 200 (a lock at or before the "
                         "read's ts blocks it)",
                         (unsigned long long)reads[i]);
        th_assert_bytes(r->error->locked->key, K(99));
        th_assert_bytes(r->error->locked->primary_lock, K(98));
        expect_u64(r->error->locked->lock_version, 200,
                   "the start ts (lock_version) of the lock KvGet reports");
        expect_u64(r->error->locked->lock_ttl, 7, "the TTL of the lock KvGet reports");
        expect_u64(
            r->value.len, 0,
            "the length of the value KvGet returns with a locked error (no value may be returned)");
        th_free(r);
    }
}

static void test_prewrite_of_nothing(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 0, NULL, NULL, NULL, K(1), 100, 0);
    expect_key_errors(r->errors, r->n_errors, 0, "KvPrewrite of no mutations");
    expect_no_region_error(r->region_error, "KvPrewrite of no mutations");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 0);
}

static void test_prewrite_one_key(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t k = K(3), v = K(42);
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 1, &k, &v, NULL, K(1), 100, 1000);
    expect_key_errors(r->errors, r->n_errors, 0, "KvPrewrite of one key into an empty store");
    expect_no_region_error(r->region_error, "KvPrewrite of one key into an empty store");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 0);
    th_assert_value(f->s, K(3), 100, K(42));
    th_assert_lock(f->s, K(3), K(1), 100, 1000, MVCC_KIND_PUT);
}

static void test_prewrite_locked_key(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(42), 100);
    expect_key_errors(r->errors, r->n_errors, 0, "the first KvPrewrite of key 3 (start ts 100)");
    th_free(r);
    r = th_prewrite_put(f, K(3), K(53), 101);
    expect_no_region_error(
        r->region_error,
        "a second KvPrewrite of key 3 (start ts 101) while the txn at 100 holds its lock");
    expect_key_errors(
        r->errors, r->n_errors, 1,
        "a second KvPrewrite of key 3 (start ts 101) while the txn at 100 holds its lock");
    expect_key_error(r->errors[0], TKV_KE_LOCKED,
                     "the key error of a KvPrewrite of a key another txn has locked");
    expect_u64(r->errors[0]->locked->lock_version, 100,
               "the start ts (lock_version) of the lock KvPrewrite reports");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 0);
    th_assert_value(f->s, K(3), 100, K(42));
    th_assert_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
}

static void test_prewrite_write_conflict(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(3), 80, 101, K(5));
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(42), 100);
    expect_no_region_error(
        r->region_error, "KvPrewrite at start ts 100 of key 3, which has a write committed at 101");
    expect_key_errors(r->errors, r->n_errors, 1,
                      "KvPrewrite at start ts 100 of key 3, which has a write committed at 101 (a "
                      "write newer than the start ts is a conflict)");
    expect_key_error(r->errors[0], TKV_KE_CONFLICT,
                     "the key error of a KvPrewrite over a newer committed write");
    expect_u64(r->errors[0]->conflict->start_ts, 100,
               "the start ts in the write conflict KvPrewrite reports (the prewriting txn's)");
    expect_u64(
        r->errors[0]->conflict->conflict_ts, 101,
        "the conflict ts in the write conflict KvPrewrite reports (the newer write's commit ts)");
    th_assert_bytes(r->errors[0]->conflict->key, K(3));
    th_free(r);
    th_assert_lens(f->s, 1, 0, 1);
    th_assert_value(f->s, K(3), 80, K(5));
}

static void test_prewrite_after_older_write(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(3), 80, 90, K(5));
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(42), 100);
    expect_no_region_error(r->region_error,
                           "KvPrewrite at start ts 100 of key 3, last committed at 90");
    expect_key_errors(r->errors, r->n_errors, 0,
                      "KvPrewrite at start ts 100 of key 3, last committed at 90 (an older write "
                      "is no conflict)");
    th_free(r);
    th_assert_lens(f->s, 2, 1, 1);
    th_assert_value(f->s, K(3), 80, K(5));
    th_assert_value(f->s, K(3), 100, K(42));
    th_assert_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
}

static void test_prewrite_after_own_rollback_conflicts(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(42), 100);
    expect_key_errors(r->errors, r->n_errors, 1,
                      "KvPrewrite at start ts 100 of key 3, which this txn already rolled back "
                      "(its rollback record must make the prewrite fail)");
    expect_key_error(r->errors[0], TKV_KE_CONFLICT,
                     "the key error of a KvPrewrite after the txn's own rollback");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
}

static void test_prewrites_of_different_keys(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(42), 100);
    expect_key_errors(r->errors, r->n_errors, 0, "KvPrewrite of key 3 at start ts 100");
    th_free(r);
    r = th_prewrite_put(f, K(4), K(53), 101);
    expect_key_errors(r->errors, r->n_errors, 0,
                      "KvPrewrite of key 4 at start ts 101 while another txn has locked key 3 "
                      "(different keys do not conflict)");
    th_free(r);
    th_assert_lens(f->s, 2, 2, 0);
    th_assert_value(f->s, K(3), 100, K(42));
    th_assert_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    th_assert_value(f->s, K(4), 101, K(53));
    th_assert_lock(f->s, K(4), K(4), 101, 0, MVCC_KIND_PUT);
}

static void test_prewrite_same_key_twice_keeps_last(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t keys[2] = { K(3), K(3) }, vals[2] = { K(42), K(45) };
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 2, keys, vals, NULL, K(3), 100, 0);
    expect_key_errors(r->errors, r->n_errors, 0,
                      "KvPrewrite that puts key 3 twice (the last mutation wins, no error)");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 0);
    th_assert_value(f->s, K(3), 100, K(45));
}

static void test_prewrite_many_mutations(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t keys[6] = { K(3), K(4), K(5), K(4), K(4), K(255) };
    tkv_slice_t vals[6] = { K(42), K(43), K(44), slice_of(NULL, 0), S("\x01\x03\x05"), K(45) };
    Kvrpcpb__Op ops[6] = { KVRPCPB__OP__OP_PUT, KVRPCPB__OP__OP_PUT, KVRPCPB__OP__OP_PUT,
                           KVRPCPB__OP__OP_DEL, KVRPCPB__OP__OP_PUT, KVRPCPB__OP__OP_PUT };
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 6, keys, vals, ops, K(3), 100, 0);
    expect_key_errors(r->errors, r->n_errors, 0,
                      "KvPrewrite of 6 mutations, key 4 put, deleted and put again");
    th_free(r);
    th_assert_lens(f->s, 4, 4, 0);
    th_assert_value(f->s, K(4), 100, S("\x01\x03\x05"));
    th_assert_lock(f->s, K(4), K(3), 100, 0, MVCC_KIND_PUT);
    th_assert_lock(f->s, K(255), K(3), 100, 0, MVCC_KIND_PUT);
}

static void test_prewrite_delete_then_commit(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(7), 10, 20, K(1));
    tkv_slice_t k = K(7);
    Kvrpcpb__Op op = KVRPCPB__OP__OP_DEL;
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 1, &k, NULL, &op, K(7), 100, 0);
    expect_key_errors(r->errors, r->n_errors, 0, "KvPrewrite deleting key 7");
    th_free(r);
    th_assert_lock(f->s, K(7), K(7), 100, 0, MVCC_KIND_DELETE);
    Kvrpcpb__CommitResponse *c = th_commit(f, 1, &k, 100, 110);
    expect_no_key_error(c->error, "KvCommit at 110 of the delete of key 7 prewritten at 100");
    th_free(c);
    th_assert_write(f->s, K(7), 110, 100, MVCC_KIND_DELETE);
    expect_get(f, K(7), 109, "\x01");
    expect_get(f, K(7), 110, NULL);
}

static void test_commit_of_nothing(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__CommitResponse *r = th_commit(f, 0, NULL, 100, 110);
    expect_no_key_error(r->error, "KvCommit of no keys");
    expect_no_region_error(r->region_error, "KvCommit of no keys");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 0);
}

static void test_commit_one_key(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), 100, K(42));
    th_put_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    tkv_slice_t k = K(3);
    Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
    expect_no_key_error(r->error, "KvCommit at 110 of key 3, locked by this txn (start ts 100)");
    expect_no_region_error(r->region_error,
                           "KvCommit at 110 of key 3, locked by this txn (start ts 100)");
    th_free(r);
    th_assert_lens(f->s, 1, 0, 1);
    th_assert_write(f->s, K(3), 110, 100, MVCC_KIND_PUT);
    th_assert_value(f->s, K(3), 100, K(42));
    expect_get(f, K(3), 110, "*");
}

static void test_commit_over_older_write(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(3), 80, 84, K(15));
    th_put_value(f->s, K(3), 100, K(42));
    th_put_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    tkv_slice_t k = K(3);
    Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
    expect_no_key_error(
        r->error, "KvCommit at 110 of key 3, locked by this txn, over an older committed write");
    th_free(r);
    th_assert_lens(f->s, 2, 0, 2);
    th_assert_write(f->s, K(3), 110, 100, MVCC_KIND_PUT);
    th_assert_write(f->s, K(3), 84, 80, MVCC_KIND_PUT);
}

static void test_commit_many_keys_leaves_others(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t mine[3] = { K(3), S("\x0c\x04\x00"), K(15) };
    mine[1].len = 3;
    for (int i = 0; i < 3; i++) {
        th_put_value(f->s, mine[i], 100, K(42));
        th_put_lock(f->s, mine[i], K(3), 100, 0, MVCC_KIND_PUT);
    }
    committed(f, K(4), 80, 84, K(15));
    committed(f, slice_of("\x03\x00", 2), 80, 84, K(150));
    th_put_value(f->s, K(2), 99, K(8));
    th_put_lock(f->s, K(2), K(2), 99, 0, MVCC_KIND_PUT);
    th_put_value(f->s, K(43), 99, K(9));
    th_put_lock(f->s, K(43), K(2), 99, 0, MVCC_KIND_PUT);

    Kvrpcpb__CommitResponse *r = th_commit(f, 3, mine, 100, 110);
    expect_no_key_error(
        r->error,
        "KvCommit at 110 of 3 keys locked by this txn, next to other txns' locks and writes");
    expect_no_region_error(r->region_error, "KvCommit at 110 of 3 keys locked by this txn");
    th_free(r);
    th_assert_lens(f->s, 7, 2, 5);
    for (int i = 0; i < 3; i++) {
        th_assert_write(f->s, mine[i], 110, 100, MVCC_KIND_PUT);
        th_assert_no_lock(f->s, mine[i]);
    }
    th_assert_write(f->s, K(4), 84, 80, MVCC_KIND_PUT);
    th_assert_lock(f->s, K(2), K(2), 99, 0, MVCC_KIND_PUT);
    th_assert_lock(f->s, K(43), K(2), 99, 0, MVCC_KIND_PUT);
}

static void test_commit_same_key_twice_in_one_request(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), 100, K(42));
    th_put_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    tkv_slice_t keys[2] = { K(3), K(3) };
    Kvrpcpb__CommitResponse *r = th_commit(f, 2, keys, 100, 110);
    expect_no_key_error(r->error, "KvCommit naming key 3 twice");
    th_free(r);
    th_assert_lens(f->s, 1, 0, 1);
    th_assert_write(f->s, K(3), 110, 100, MVCC_KIND_PUT);
}

static void test_commit_of_rolled_back_txn_aborts(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    tkv_slice_t k = K(3);
    Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
    expect_no_region_error(r->region_error, "KvCommit of key 3 after this txn's rollback");
    expect_key_error(r->error, TKV_KE_ABORT,
                     "KvCommit of key 3 after this txn (start ts 100) was rolled back (a "
                     "rolled-back txn must never commit)");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    th_assert_no_write(f->s, K(3), 110);
}

static void test_commit_of_key_locked_by_other_txn(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), 90, K(110));
    th_put_lock(f->s, K(3), K(3), 90, 0, MVCC_KIND_PUT);
    tkv_slice_t k = K(3);
    Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
    expect_no_region_error(r->region_error,
                           "KvCommit of key 3 while another txn (start ts 90) locks it");
    expect_key_error(r->error, TKV_KE_RETRYABLE,
                     "KvCommit at start ts 100 of key 3 locked by the txn at 90 (the lock is not "
                     "this txn's: commit must refuse)");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 0);
    th_assert_lock(f->s, K(3), K(3), 90, 0, MVCC_KIND_PUT);
}

static void test_commit_repeated_is_harmless(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), 100, K(42));
    th_put_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    tkv_slice_t k = K(3);
    for (int i = 0; i < 2; i++) {
        Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
        expect_no_key_error(
            r->error,
            "KvCommit number %d of the same key at the same ts (repeating a commit is harmless)",
            i + 1);
        expect_no_region_error(r->region_error, "KvCommit number %d of the same key at the same ts",
                               i + 1);
        th_free(r);
        th_assert_lens(f->s, 1, 0, 1);
        th_assert_write(f->s, K(3), 110, 100, MVCC_KIND_PUT);
    }
}

static void test_commit_without_prewrite_changes_nothing(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(4), 80, 84, K(15));
    committed(f, slice_of("\x03\x00", 2), 80, 84, K(150));
    tkv_slice_t k = K(3);
    Kvrpcpb__CommitResponse *r = th_commit(f, 1, &k, 100, 110);
    expect_no_key_error(r->error,
                        "KvCommit of key 3 that was never prewritten (nothing to do, no error)");
    expect_no_region_error(r->region_error, "KvCommit of key 3 that was never prewritten");
    th_free(r);
    th_assert_lens(f->s, 2, 0, 2);
}

static void test_commit_failure_writes_nothing(void **state)
{
    txn_fixture_t *f = *state;
    /* Key 3 could commit, key 4 was rolled back: the request changes nothing. */
    th_put_value(f->s, K(3), 100, K(42));
    th_put_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
    th_put_write(f->s, K(4), 100, 100, MVCC_KIND_ROLLBACK);
    tkv_slice_t keys[2] = { K(3), K(4) };
    Kvrpcpb__CommitResponse *r = th_commit(f, 2, keys, 100, 110);
    expect_present(r->error, "the key error of a KvCommit of keys 3 and 4, key 4 rolled back (the "
                             "request must fail as a whole)");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 1);
    th_assert_lock(f->s, K(3), K(3), 100, 0, MVCC_KIND_PUT);
}

/* ---- concurrency -------------------------------------------------------------------- */

#define RACERS 8

typedef struct {
    txn_fixture_t *f;
    pthread_barrier_t *go;
    uint64_t start_ts;
    int same_key;
    size_t n_errors;
    int failed;
} racer_t;

static void *race_prewrite(void *arg)
{
    racer_t *r = arg;
    tkv_slice_t key = r->same_key ? K(9) : K((uint8_t)r->start_ts);
    tkv_slice_t val = K((uint8_t)r->start_ts);
    Kvrpcpb__Mutation m = KVRPCPB__MUTATION__INIT, *mp = &m;
    m.key.data = (uint8_t *)key.data;
    m.key.len = key.len;
    m.value.data = (uint8_t *)val.data;
    m.value.len = val.len;
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    req.n_mutations = 1;
    req.mutations = &mp;
    req.primary_lock = m.key;
    req.start_version = r->start_ts;
    Kvrpcpb__PrewriteResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__prewrite_response__init(resp);
    pthread_barrier_wait(r->go);
    r->failed = kv_prewrite(r->f->s, r->f->l, &req, resp) != TKV_OK || resp->region_error != NULL;
    r->n_errors = resp->n_errors;
    th_free(resp);
    return NULL;
}

/* RACERS threads prewrite at once; returns how many got no key error. */
static int run_race(txn_fixture_t *f, int same_key, racer_t *r)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (racer_t){ f, &go, 100 + (uint64_t)i, same_key, 0, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, race_prewrite, &r[i]), 0);
    }
    int winners = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        expect_false(r[i].failed, "racer %d's KvPrewrite returned an error code or a region error",
                     i);
        winners += r[i].n_errors == 0;
    }
    pthread_barrier_destroy(&go);
    return winners;
}

static void test_concurrent_prewrites_of_one_key(void **state)
{
    txn_fixture_t *f = *state;
    racer_t r[RACERS];
    expect_u64(run_race(f, 1, r), 1,
               "prewrites of one key by %d txns at once that got no key error (exactly one may "
               "take the lock)",
               RACERS);
    th_assert_lens(f->s, 1, 1, 0);
    for (int i = 0; i < RACERS; i++)
        if (r[i].n_errors == 0) {
            th_assert_lock(f->s, K(9), K(9), r[i].start_ts, 0, MVCC_KIND_PUT);
            th_assert_value(f->s, K(9), r[i].start_ts, K((uint8_t)r[i].start_ts));
        }
}

static void test_concurrent_prewrites_of_disjoint_keys(void **state)
{
    txn_fixture_t *f = *state;
    racer_t r[RACERS];
    expect_u64(
        run_race(f, 0, r), RACERS,
        "prewrites of %d disjoint keys by %d txns at once that got no key error (none conflict)",
        RACERS, RACERS);
    th_assert_lens(f->s, RACERS, RACERS, 0);
}

#define T4B(name, desc, fn)                                                                        \
    {                                                                                              \
        "project4b", name, 5, desc, fn, 0, txn_setup, txn_teardown                                 \
    }

const tkv_test_t commands4b_tests[] = {
    T4B("get_committed_value", "KvGet returns a committed value", test_get_committed_value),
    T4B("get_same_ts_repeatedly", "repeated KvGets at one ts agree", test_get_same_ts_repeatedly),
    T4B("get_from_empty_db", "KvGet on an empty store is not_found", test_get_from_empty_db),
    T4B("get_missing_key", "KvGet of a key between others is not_found", test_get_missing_key),
    T4B("get_version_for_ts", "KvGet sees the newest version committed at or before its ts",
        test_get_version_for_ts),
    T4B("get_deleted_versions", "KvGet after a committed delete is not_found until a newer put",
        test_get_deleted_versions),
    T4B("get_blocked_by_older_lock",
        "KvGet reports a lock whose start ts is at or before the read ts, ignores newer ones",
        test_get_blocked_by_older_lock),
    T4B("prewrite_of_nothing", "a KvPrewrite without mutations succeeds and writes nothing",
        test_prewrite_of_nothing),
    T4B("prewrite_one_key", "KvPrewrite stores the value at start ts and a lock with primary, ttl",
        test_prewrite_one_key),
    T4B("prewrite_locked_key", "KvPrewrite of a key another txn locked fails with `locked`",
        test_prewrite_locked_key),
    T4B("prewrite_write_conflict",
        "KvPrewrite after a write committed at or after start ts conflicts",
        test_prewrite_write_conflict),
    T4B("prewrite_after_older_write", "KvPrewrite over a write committed before start ts succeeds",
        test_prewrite_after_older_write),
    T4B("prewrite_after_own_rollback_conflicts",
        "a txn rolled back on a key cannot prewrite it any more",
        test_prewrite_after_own_rollback_conflicts),
    T4B("prewrites_of_different_keys", "two txns prewrite disjoint keys side by side",
        test_prewrites_of_different_keys),
    T4B("prewrite_same_key_twice_keeps_last", "two mutations of one key: the last one wins",
        test_prewrite_same_key_twice_keeps_last),
    T4B("prewrite_many_mutations", "a prewrite of puts and deletes locks each key once",
        test_prewrite_many_mutations),
    T4B("prewrite_delete_then_commit", "a prewritten delete commits as a delete record",
        test_prewrite_delete_then_commit),
    T4B("commit_of_nothing", "a KvCommit without keys succeeds and writes nothing",
        test_commit_of_nothing),
    T4B("commit_one_key", "KvCommit swaps the lock for a write record at the commit ts",
        test_commit_one_key),
    T4B("commit_over_older_write", "KvCommit keeps older write records",
        test_commit_over_older_write),
    T4B("commit_many_keys_leaves_others", "KvCommit commits its keys and leaves other txns alone",
        test_commit_many_keys_leaves_others),
    T4B("commit_same_key_twice_in_one_request", "a key named twice in a commit commits once",
        test_commit_same_key_twice_in_one_request),
    T4B("commit_of_rolled_back_txn_aborts", "a rolled-back txn cannot commit: abort, no write",
        test_commit_of_rolled_back_txn_aborts),
    T4B("commit_of_key_locked_by_other_txn",
        "KvCommit where another txn holds the lock is retryable",
        test_commit_of_key_locked_by_other_txn),
    T4B("commit_repeated_is_harmless", "committing twice is the same as committing once",
        test_commit_repeated_is_harmless),
    T4B("commit_without_prewrite_changes_nothing",
        "KvCommit of a key the txn never prewrote writes nothing",
        test_commit_without_prewrite_changes_nothing),
    T4B("commit_failure_writes_nothing", "a KvCommit with one bad key commits none of its keys",
        test_commit_failure_writes_nothing),
    T4B("concurrent_prewrites_of_one_key",
        "of many txns prewriting one key at once, exactly one gets the lock",
        test_concurrent_prewrites_of_one_key),
    T4B("concurrent_prewrites_of_disjoint_keys",
        "txns prewriting different keys at once all succeed",
        test_concurrent_prewrites_of_disjoint_keys),
    { 0 },
};
