/*
 * Project 4B, prewrite retries. A client whose prewrite response was lost
 * sends the same prewrite again. The locks it finds are its own (same start
 * ts): the retry must succeed and change nothing, or the transaction can
 * never commit. A prewrite that reports its own lock as `locked` sends the
 * client off to resolve a lock that is its own.
 */
#include <stdlib.h>

#include "tests/harness/expect.h"
#include "tests/txn/txn_helpers.h"

static void expect_no_key_errors(const Kvrpcpb__PrewriteResponse *r, const char *what)
{
    expect_true(r->region_error == NULL, "%s: no region error", what);
    for (size_t i = 0; i < r->n_errors; i++) {
        const Kvrpcpb__KeyError *e = r->errors[i];
        expect_true(0, "%s: expected no key errors, saw %s%s", what,
                    e->locked ? "locked by the txn at start ts " : "",
                    e->locked ? (e->locked->lock_version == 100 ? "100 (its own lock)" : "another")
                              : (e->conflict ? "a write conflict" : "an abort or retryable"));
    }
}

static void test_retried_prewrite_succeeds(void **state)
{
    txn_fixture_t *f = *state;
    tkv_slice_t keys[2] = { K(1), K(2) }, vals[2] = { K(11), K(22) };
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, 2, keys, vals, NULL, K(1), 100, 3000);
    expect_no_key_errors(r, "the first prewrite of keys 1 and 2 at start ts 100");
    th_free(r);
    /* The response was lost; the client sends it again, then once more
     * with the second key only (a retry of one region's half). */
    r = th_prewrite(f, 2, keys, vals, NULL, K(1), 100, 3000);
    expect_no_key_errors(r, "the same prewrite again (start ts 100 holds both locks)");
    th_free(r);
    r = th_prewrite(f, 1, &keys[1], &vals[1], NULL, K(1), 100, 3000);
    expect_no_key_errors(r, "a retry of key 2 alone");
    th_free(r);
    th_assert_lens(f->s, 2, 2, 0);
    th_assert_lock(f->s, K(1), K(1), 100, 3000, MVCC_KIND_PUT);
    th_assert_lock(f->s, K(2), K(1), 100, 3000, MVCC_KIND_PUT);
    th_assert_value(f->s, K(2), 100, K(22));
    /* And the transaction still commits. */
    Kvrpcpb__CommitResponse *c = th_commit(f, 2, keys, 100, 110);
    expect_true(c->error == NULL && c->region_error == NULL,
                "committing keys 1 and 2 at 110 after the retried prewrites");
    th_free(c);
    Kvrpcpb__GetResponse *g = th_get(f, K(2), 120);
    expect_true(g->error == NULL && !g->not_found, "KvGet of key 2 at 120 finds a value");
    expect_bytes(g->value.data, g->value.len, K(22).data, K(22).len, "KvGet of key 2 at 120");
    th_free(g);
    /* Another transaction's lock is still reported. */
    r = th_prewrite_put(f, K(3), K(33), 130);
    expect_no_key_errors(r, "a prewrite of key 3 at 130");
    th_free(r);
    r = th_prewrite_put(f, K(3), K(34), 140);
    expect_true(r->n_errors == 1 && r->errors[0]->locked != NULL &&
                    r->errors[0]->locked->lock_version == 130,
                "a prewrite of key 3 at 140 must report the lock of the txn at 130");
    th_free(r);
}

static void test_prewrite_with_refused_key_writes_nothing(void **state)
{
    txn_fixture_t *f = *state;
    /* Key 3 is locked by the txn at 90. A prewrite of keys 1, 2, 3 at 100
     * is refused on key 3, and must leave keys 1 and 2 untouched: the
     * client will retry or abort the whole transaction, and a lock left on
     * key 1 (the primary) would block every reader until it expires. */
    Kvrpcpb__PrewriteResponse *r = th_prewrite_put(f, K(3), K(9), 90);
    expect_no_key_errors(r, "a prewrite of key 3 at 90");
    th_free(r);
    tkv_slice_t keys[3] = { K(1), K(2), K(3) }, vals[3] = { K(11), K(22), K(33) };
    r = th_prewrite(f, 3, keys, vals, NULL, K(1), 100, 3000);
    expect_u64(r->n_errors, 1, "key errors of a prewrite of keys 1, 2, 3 at 100 (3 is locked)");
    expect_true(r->errors[0]->locked != NULL && r->errors[0]->locked->lock_version == 90,
                "the error names the lock of the txn at 90");
    th_free(r);
    th_assert_no_lock(f->s, K(1));
    th_assert_no_lock(f->s, K(2));
    th_assert_no_value(f->s, K(1), 100);
    th_assert_no_value(f->s, K(2), 100);
    th_assert_lens(f->s, 1, 1, 0);
}

const tkv_test_t prewrite_rules_tests[] = {
    { "project4b", "retried_prewrite_succeeds", 5,
      "a prewrite sent again finds its own locks: no error, nothing changed, and it commits",
      test_retried_prewrite_succeeds, 0, txn_setup, txn_teardown },
    { "project4b", "prewrite_with_refused_key_writes_nothing", 5,
      "a prewrite refused on one key writes no lock and no value for any of its keys",
      test_prewrite_with_refused_key_writes_nothing, 0, txn_setup, txn_teardown },
    { 0 },
};
