/*
 * Project 4C: KvScan, KvCheckTxnStatus, KvBatchRollback, KvResolveLock
 * (project4-txn/kv_txn.h), after TinyKV's commands4c tests.
 */
#include "tests/txn/txn_helpers.h"

static void committed(txn_fixture_t *f, tkv_slice_t key, uint64_t start_ts, uint64_t commit_ts,
                      tkv_slice_t value)
{
    th_put_value(f->s, key, start_ts, value);
    th_put_write(f->s, key, commit_ts, start_ts, MVCC_KIND_PUT);
}

static void prewritten(txn_fixture_t *f, tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                       uint64_t ttl, tkv_slice_t value)
{
    th_put_value(f->s, key, start_ts, value);
    th_put_lock(f->s, key, primary, start_ts, ttl, MVCC_KIND_PUT);
}

/* ---- rollback --------------------------------------------------------------------- */

static void test_rollback_of_nothing(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 0, NULL, 100);
    expect_no_key_error(r->error, "KvBatchRollback of no keys");
    expect_no_region_error(r->region_error, "KvBatchRollback of no keys");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 0);
}

static void test_rollback_prewritten_key(void **state)
{
    txn_fixture_t *f = *state;
    prewritten(f, K(3), K(3), 100, 0, K(42));
    tkv_slice_t k = K(3);
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 1, &k, 100);
    expect_no_key_error(r->error, "KvBatchRollback of key 3, prewritten by this txn");
    expect_no_region_error(r->region_error, "KvBatchRollback of key 3, prewritten by this txn");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
}

static void test_rollback_duplicate_keys(void **state)
{
    txn_fixture_t *f = *state;
    prewritten(f, K(3), K(3), 100, 0, K(42));
    prewritten(f, K(15), K(3), 100, 0, K(0));
    tkv_slice_t keys[3] = { K(3), K(15), K(3) };
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 3, keys, 100);
    expect_no_key_error(r->error, "KvBatchRollback naming key 3 twice");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 2);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    th_assert_write(f->s, K(15), 100, 100, MVCC_KIND_ROLLBACK);
}

static void test_rollback_without_prewrite_records_it(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t k = K(3);
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 1, &k, 100);
    expect_no_key_error(
        r->error,
        "KvBatchRollback of key 3 that was never prewritten (it records the rollback, no error)");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    /* The late prewrite now fails. */
    Kvrpcpb__PrewriteResponse *p = th_prewrite_put(f, K(3), K(1), 100);
    expect_key_errors(p->errors, p->n_errors, 1,
                      "a late KvPrewrite of key 3 after its txn was rolled back (the rollback "
                      "record must make it fail)");
    th_free(p);
    th_assert_lens(f->s, 0, 0, 1);
}

static void test_rollback_of_committed_aborts(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(3), 100, 110, K(42));
    tkv_slice_t k = K(3);
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 1, &k, 100);
    expect_no_region_error(r->region_error, "KvBatchRollback of a committed txn");
    expect_key_error(r->error, TKV_KE_ABORT,
                     "KvBatchRollback of key 3, whose txn (start ts 100) committed at 110 (a "
                     "committed txn cannot be rolled back)");
    th_free(r);
    th_assert_lens(f->s, 1, 0, 1);
    th_assert_write(f->s, K(3), 110, 100, MVCC_KIND_PUT);
}

static void test_rollback_twice_is_harmless(void **state)
{
    txn_fixture_t *f = *state;
    th_put_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    tkv_slice_t k = K(3);
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 1, &k, 100);
    expect_no_key_error(r->error,
                        "a second KvBatchRollback of key 3 (rolling back twice is harmless)");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
}

static void test_rollback_leaves_other_txns_lock(void **state)
{
    txn_fixture_t *f = *state;
    prewritten(f, K(3), K(3), 80, 0, K(42));
    tkv_slice_t k = K(3);
    Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, 1, &k, 100);
    expect_no_key_error(r->error, "KvBatchRollback at 100 of key 3, locked by the txn at 80 (it "
                                  "records the rollback, leaves the other lock)");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 1);
    th_assert_value(f->s, K(3), 80, K(42));
    th_assert_lock(f->s, K(3), K(3), 80, 0, MVCC_KIND_PUT);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
}

/* ---- check txn status ---------------------------------------------------------------- */

static const uint64_t LOCK_TS = (5ull << 18) | 100; /* physical 5 ms */

static void test_check_status_ttl_expired(void **state)
{
    txn_fixture_t *f = *state;
    prewritten(f, K(3), K(3), LOCK_TS, 8, K(42));
    /* Physical 13 = 5 + 8: the TTL is over. */
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, K(3), LOCK_TS, mvcc_compose_ts(13, 0));
    expect_no_region_error(r->region_error, "KvCheckTxnStatus of a lock whose TTL is over");
    expect_pb_enum(r->action, KVRPCPB__ACTION__TTL_EXPIRE_ROLLBACK, &kvrpcpb__action__descriptor,
                   "the action of KvCheckTxnStatus at physical 13 ms of a lock taken at 5 ms with "
                   "TTL 8 (expired: roll it back)");
    expect_u64(r->commit_version, 0,
               "the commit_version KvCheckTxnStatus reports for a rolled-back txn");
    expect_u64(r->lock_ttl, 0, "the lock_ttl KvCheckTxnStatus reports after rolling the lock back");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), LOCK_TS, LOCK_TS, MVCC_KIND_ROLLBACK);
}

static void test_check_status_ttl_not_expired(void **state)
{
    txn_fixture_t *f = *state;
    prewritten(f, K(3), K(3), LOCK_TS, 8, K(42));
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, K(3), LOCK_TS, mvcc_compose_ts(12, 0x3ffff));
    expect_no_region_error(r->region_error, "KvCheckTxnStatus of a live lock");
    expect_pb_enum(
        r->action, KVRPCPB__ACTION__NO_ACTION, &kvrpcpb__action__descriptor,
        "the action of KvCheckTxnStatus just before a lock's TTL is over (still alive: leave it)");
    expect_u64(r->lock_ttl, 8,
               "the lock_ttl KvCheckTxnStatus reports for a live lock (the lock's TTL)");
    expect_u64(r->commit_version, 0,
               "the commit_version KvCheckTxnStatus reports for an uncommitted txn");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 0);
    th_assert_lock(f->s, K(3), K(3), LOCK_TS, 8, MVCC_KIND_PUT);
}

static void test_check_status_rolled_back(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), LOCK_TS, K(42));
    th_put_write(f->s, K(3), LOCK_TS, LOCK_TS, MVCC_KIND_ROLLBACK);
    th_put_lock(f->s, K(3), K(3), LOCK_TS + 8, 8, MVCC_KIND_PUT); /* a later txn's */
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, K(3), LOCK_TS, mvcc_compose_ts(100, 0));
    expect_no_region_error(r->region_error, "KvCheckTxnStatus of a rolled-back txn");
    expect_pb_enum(r->action, KVRPCPB__ACTION__NO_ACTION, &kvrpcpb__action__descriptor,
                   "the action of KvCheckTxnStatus of a txn already rolled back (nothing to do; a "
                   "later txn's lock is not its own)");
    expect_u64(r->commit_version, 0,
               "the commit_version KvCheckTxnStatus reports for a rolled-back txn");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 1);
    th_assert_lock(f->s, K(3), K(3), LOCK_TS + 8, 8, MVCC_KIND_PUT);
}

static void test_check_status_committed(void **state)
{
    txn_fixture_t *f = *state;
    committed(f, K(3), LOCK_TS, LOCK_TS + 7, K(42));
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, K(3), LOCK_TS, mvcc_compose_ts(100, 0));
    expect_no_region_error(r->region_error, "KvCheckTxnStatus of a committed txn");
    expect_pb_enum(r->action, KVRPCPB__ACTION__NO_ACTION, &kvrpcpb__action__descriptor,
                   "the action of KvCheckTxnStatus of a committed txn");
    expect_u64(
        r->commit_version, LOCK_TS + 7,
        "the commit_version KvCheckTxnStatus reports for a committed txn (its write's commit ts)");
    th_free(r);
    th_assert_lens(f->s, 1, 0, 1);
}

static void test_check_status_no_lock_no_write(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, K(3), LOCK_TS, mvcc_compose_ts(6, 0));
    expect_no_region_error(r->region_error, "KvCheckTxnStatus with no lock and no write");
    expect_pb_enum(r->action, KVRPCPB__ACTION__LOCK_NOT_EXIST_ROLLBACK,
                   &kvrpcpb__action__descriptor,
                   "the action of KvCheckTxnStatus of a txn with no lock and no write (record a "
                   "rollback so a late prewrite fails)");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 1);
    th_assert_write(f->s, K(3), LOCK_TS, LOCK_TS, MVCC_KIND_ROLLBACK);
}

/* ---- resolve lock ------------------------------------------------------------------- */

/* Keys 3 and 7 prewritten by txn 100, key 200 by txn 110. */
static void two_txns(txn_fixture_t *f)
{
    prewritten(f, K(3), K(3), 100, 0, K(42));
    prewritten(f, K(7), K(3), 100, 0, K(43));
    prewritten(f, K(200), K(200), 110, 0, K(44));
}

static void test_resolve_of_nothing(void **state)
{
    txn_fixture_t *f = *state;
    Kvrpcpb__ResolveLockResponse *r = th_resolve(f, 0, 0);
    expect_no_key_error(r->error, "KvResolveLock of no locks");
    expect_no_region_error(r->region_error, "KvResolveLock of no locks");
    th_free(r);
    th_assert_lens(f->s, 0, 0, 0);
}

static void test_resolve_commits_txn_locks(void **state)
{
    txn_fixture_t *f = *state;
    two_txns(f);
    Kvrpcpb__ResolveLockResponse *r = th_resolve(f, 100, 120);
    expect_no_key_error(r->error, "KvResolveLock committing txn 100 at 120");
    expect_no_region_error(r->region_error, "KvResolveLock committing txn 100 at 120");
    th_free(r);
    th_assert_lens(f->s, 3, 1, 2);
    th_assert_write(f->s, K(3), 120, 100, MVCC_KIND_PUT);
    th_assert_write(f->s, K(7), 120, 100, MVCC_KIND_PUT);
    th_assert_no_lock(f->s, K(3));
    th_assert_lock(f->s, K(200), K(200), 110, 0, MVCC_KIND_PUT);
}

static void test_resolve_rolls_back_txn_locks(void **state)
{
    txn_fixture_t *f = *state;
    two_txns(f);
    Kvrpcpb__ResolveLockResponse *r = th_resolve(f, 100, 0);
    expect_no_key_error(r->error, "KvResolveLock rolling back txn 100");
    th_free(r);
    th_assert_lens(f->s, 1, 1, 2);
    th_assert_write(f->s, K(3), 100, 100, MVCC_KIND_ROLLBACK);
    th_assert_write(f->s, K(7), 100, 100, MVCC_KIND_ROLLBACK);
    th_assert_value(f->s, K(200), 110, K(44));
}

static void test_resolve_with_no_locks_left(void **state)
{
    txn_fixture_t *f = *state;
    th_put_value(f->s, K(3), 100, K(42));
    th_put_write(f->s, K(201), 120, 100, MVCC_KIND_PUT);
    th_put_write(f->s, K(201), 100, 100, MVCC_KIND_ROLLBACK);
    prewritten(f, K(200), K(200), 110, 0, K(44));
    for (int commit = 0; commit < 2; commit++) {
        Kvrpcpb__ResolveLockResponse *r = th_resolve(f, 100, commit ? 120 : 0);
        expect_no_key_error(r->error, "KvResolveLock (%s) of txn 100 with no locks left",
                            commit ? "commit at 120" : "rollback");
        expect_no_region_error(r->region_error, "KvResolveLock (%s) of txn 100 with no locks left",
                               commit ? "commit at 120" : "rollback");
        th_free(r);
        th_assert_lens(f->s, 2, 1, 2);
    }
}

/* ---- scan -------------------------------------------------------------------------- */

/* Keys 1..11 with values 50+i committed at 10+i (key 11 is 199 → value 54
 * committed later), plus history: key 3 has an older value, key 5 a newer
 * one, key 6 is deleted, key 8 only has a rollback. */
static void scan_data(txn_fixture_t *f)
{
    for (uint8_t i = 1; i <= 10; i++)
        committed(f, K(i), 2, 10, K((uint8_t)(50 + i)));
    committed(f, K(199), 2, 10, K(54));
    committed(f, K(3), 1, 5, K(33));   /* older: hidden by the one at 10 */
    committed(f, K(5), 40, 45, K(99)); /* newer than the default read ts */
    th_put_write(f->s, K(6), 30, 20, MVCC_KIND_DELETE);
    th_put_write(f->s, K(8), 25, 25, MVCC_KIND_ROLLBACK);
}

static void expect_pair(const Kvrpcpb__KvPair *p, tkv_slice_t key, tkv_slice_t value)
{
    expect_no_key_error(p->error, "the pair KvScan returns for key %u", key.data[0]);
    th_assert_bytes(p->key, key);
    th_assert_bytes(p->value, value);
}

static void test_scan_past_the_end(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    Kvrpcpb__ScanResponse *r = th_scan(f, K(200), 10000, 35);
    expect_no_region_error(r->region_error, "KvScan from past the last key");
    expect_u64(r->n_pairs, 0, "pairs KvScan returns from past the last key");
    th_free(r);
}

static void test_scan_limit_zero(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    Kvrpcpb__ScanResponse *r = th_scan(f, K(3), 0, 35);
    expect_no_region_error(r->region_error, "KvScan with limit 0");
    expect_u64(r->n_pairs, 0, "pairs KvScan returns with limit 0");
    th_free(r);
}

static void test_scan_all_skips_deleted(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    Kvrpcpb__ScanResponse *r = th_scan(f, K(0), 10000, 35);
    expect_no_region_error(r->region_error, "KvScan of everything at ts 35");
    /* 1..10 without 6 (deleted at 30), plus 199. */
    expect_u64(r->n_pairs, 10,
               "pairs KvScan returns of everything at ts 35 (keys 1..10 and 199, without key 6 "
               "deleted at 30)");
    uint8_t want[] = { 1, 2, 3, 4, 5, 7, 8, 9, 10, 199 };
    for (int i = 0; i < 10; i++) {
        uint8_t v = want[i] == 199 ? 54 : (uint8_t)(50 + want[i]);
        expect_pair(r->pairs[i], K(want[i]), K(v));
    }
    th_free(r);
}

static void test_scan_respects_limit(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    Kvrpcpb__ScanResponse *r = th_scan(f, K(2), 6, 35);
    expect_u64(r->n_pairs, 6, "pairs KvScan returns from key 2 with limit 6");
    uint8_t want[] = { 2, 3, 4, 5, 7, 8 };
    for (int i = 0; i < 6; i++)
        expect_pair(r->pairs[i], K(want[i]), K((uint8_t)(50 + want[i])));
    th_free(r);
}

static void test_scan_sees_versions_by_ts(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    /* At 7 only key 3's old version exists. */
    Kvrpcpb__ScanResponse *r = th_scan(f, K(0), 100, 7);
    expect_u64(r->n_pairs, 1,
               "pairs KvScan returns at ts 7 (only key 3's version committed at 5 is visible)");
    expect_pair(r->pairs[0], K(3), K(33));
    th_free(r);
    /* At 50 key 5 has its new value and 6 is still deleted. */
    r = th_scan(f, K(4), 3, 50);
    expect_u64(r->n_pairs, 3, "pairs KvScan returns from key 4 with limit 3 at ts 50");
    expect_pair(r->pairs[0], K(4), K(54));
    expect_pair(r->pairs[1], K(5), K(99));
    expect_pair(r->pairs[2], K(7), K(57));
    th_free(r);
    /* At 29, before the delete, key 6 is there. */
    r = th_scan(f, K(6), 1, 29);
    expect_u64(r->n_pairs, 1, "pairs KvScan returns from key 6 with limit 1 at ts 29");
    expect_pair(r->pairs[0], K(6), K(56));
    th_free(r);
}

static void test_scan_reports_locks(void **state)
{
    txn_fixture_t *f = *state;
    scan_data(f);
    prewritten(f, K(4), K(4), 33, 9, K(1));   /* older than the read: blocks */
    prewritten(f, K(7), K(7), 36, 9, K(1));   /* newer than the read: ignored */
    prewritten(f, K(150), K(4), 33, 9, K(1)); /* on a key with no write yet */
    Kvrpcpb__ScanResponse *r = th_scan(f, K(3), 6, 35);
    expect_no_region_error(r->region_error, "KvScan over locked keys");
    expect_u64(r->n_pairs, 6,
               "pairs KvScan returns from key 3 with limit 6 at ts 35 (a locked key is a pair with "
               "its error; key 7's newer lock is ignored)");
    expect_pair(r->pairs[0], K(3), K(53));
    th_assert_bytes(r->pairs[1]->key, K(4));
    expect_key_error(r->pairs[1]->error, TKV_KE_LOCKED,
                     "the error of KvScan's pair for key 4, locked at 33 before the read at 35");
    expect_u64(r->pairs[1]->error->locked->lock_version, 33,
               "the start ts (lock_version) of the lock KvScan reports for key 4");
    th_assert_bytes(r->pairs[1]->error->locked->primary_lock, K(4));
    expect_pair(r->pairs[2], K(5), K(55));
    expect_pair(r->pairs[3], K(7), K(57));
    expect_pair(r->pairs[4], K(8), K(58));
    expect_pair(r->pairs[5], K(9), K(59));
    th_free(r);
    r = th_scan(f, K(11), 5, 35);
    expect_u64(r->n_pairs, 2,
               "pairs KvScan returns from key 11 at ts 35 (key 150 locked, key 199)");
    th_assert_bytes(r->pairs[0]->key, K(150));
    expect_key_error(r->pairs[0]->error, TKV_KE_LOCKED,
                     "the error of KvScan's pair for key 150, locked at 33 before the read");
    expect_pair(r->pairs[1], K(199), K(54));
    th_free(r);
}

#define T4C(name, desc, fn)                                                                        \
    {                                                                                              \
        "project4c", name, 5, desc, fn, 0, txn_setup, txn_teardown                                 \
    }

const tkv_test_t commands4c_tests[] = {
    T4C("rollback_of_nothing", "a KvBatchRollback without keys writes nothing",
        test_rollback_of_nothing),
    T4C("rollback_prewritten_key", "rollback drops lock and value and writes a rollback record",
        test_rollback_prewritten_key),
    T4C("rollback_duplicate_keys", "a key named twice in a rollback is rolled back once",
        test_rollback_duplicate_keys),
    T4C("rollback_without_prewrite_records_it",
        "rollback of a key never prewritten still records it, so a late prewrite fails",
        test_rollback_without_prewrite_records_it),
    T4C("rollback_of_committed_aborts", "a committed txn cannot be rolled back: abort",
        test_rollback_of_committed_aborts),
    T4C("rollback_twice_is_harmless", "rolling back twice is rolling back once",
        test_rollback_twice_is_harmless),
    T4C("rollback_leaves_other_txns_lock", "rollback records itself but keeps another txn's lock",
        test_rollback_leaves_other_txns_lock),
    T4C("check_status_ttl_expired", "an expired primary lock is rolled back: TTL_EXPIRE_ROLLBACK",
        test_check_status_ttl_expired),
    T4C("check_status_ttl_not_expired", "a live primary lock is reported with its ttl, unchanged",
        test_check_status_ttl_not_expired),
    T4C("check_status_rolled_back", "a rolled back txn is reported without action",
        test_check_status_rolled_back),
    T4C("check_status_committed", "a committed txn reports its commit ts",
        test_check_status_committed),
    T4C("check_status_no_lock_no_write", "no trace of the txn: rollback, LOCK_NOT_EXIST_ROLLBACK",
        test_check_status_no_lock_no_write),
    T4C("resolve_of_nothing", "a KvResolveLock of a txn without locks writes nothing",
        test_resolve_of_nothing),
    T4C("resolve_commits_txn_locks", "resolve with a commit ts commits exactly that txn's locks",
        test_resolve_commits_txn_locks),
    T4C("resolve_rolls_back_txn_locks", "resolve with commit ts 0 rolls back that txn's locks",
        test_resolve_rolls_back_txn_locks),
    T4C("resolve_with_no_locks_left", "resolve of a txn already decided changes nothing",
        test_resolve_with_no_locks_left),
    T4C("scan_past_the_end", "KvScan from after the last key is empty", test_scan_past_the_end),
    T4C("scan_limit_zero", "KvScan with limit 0 is empty", test_scan_limit_zero),
    T4C("scan_all_skips_deleted", "KvScan yields each key's visible value in order, no deletes",
        test_scan_all_skips_deleted),
    T4C("scan_respects_limit", "KvScan stops after `limit` pairs", test_scan_respects_limit),
    T4C("scan_sees_versions_by_ts", "KvScan shows each key's newest version at the read ts",
        test_scan_sees_versions_by_ts),
    T4C("scan_reports_locks", "KvScan reports older locks as pair errors, ignores newer ones",
        test_scan_reports_locks),
    { 0 },
};
