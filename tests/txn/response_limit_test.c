/*
 * Kv* responses fit in an RPC frame (graded, 4B and 4C).
 *
 * A value can be as large as a request can carry, so a KvScan of a few such
 * values would be a response no frame can hold: the server could only
 * answer "too large", and those keys could never be scanned back. KvScan
 * stops before the pair that would overflow and sets `more`; the client
 * scans on from just after the last key. KvPrewrite's errors each carry the
 * blocking lock's primary key, which another transaction chose: a prewrite
 * of many small keys locked by one transaction with a huge primary would
 * answer with that primary many times over. It answers with as many errors
 * as fit (one is enough to say it failed).
 */
#include <stdlib.h>
#include <string.h>

#include "common/rpc_frame.h"
#include "tests/txn/txn_helpers.h"

#define BIG (6u * 1024u * 1024u) /* three of them are past a frame */

/* BIG bytes, different for each i; caller frees. */
static uint8_t *big_value(int i)
{
    uint8_t *b = xmalloc(BIG);
    for (size_t j = 0; j < BIG; j++)
        b[j] = (uint8_t)('a' + (j * 7 + (size_t)i) % 26);
    return b;
}

static void test_scan_of_big_values_says_more(void **state)
{
    txn_fixture_t *f = *state;
    uint8_t *vals[3];
    for (int i = 0; i < 3; i++) {
        vals[i] = big_value(i);
        th_put_value(f->s, K((uint8_t)(10 + i)), 5, slice_of(vals[i], BIG));
        th_put_write(f->s, K((uint8_t)(10 + i)), 6, 5, MVCC_KIND_PUT);
    }
    uint8_t next[2] = { 0, 0 };
    tkv_slice_t start = slice_of(next, 0);
    int seen = 0, calls = 0;
    for (int more = 1; more && calls < 10; calls++) {
        Kvrpcpb__ScanResponse *r = th_scan(f, start, 100, 50);
        size_t size = kvrpcpb__scan_response__get_packed_size(r);
        if (r->region_error != NULL)
            fail_msg("KvScan of 6 MiB values failed: %s", r->region_error->message);
        if (size > RPC_REQUEST_MAX)
            fail_msg("KvScan answered %zu pairs in %zu bytes, past the %u a response may take: "
                     "stop before the pair that would not fit and set `more`",
                     r->n_pairs, size, RPC_REQUEST_MAX);
        if (r->n_pairs == 0)
            fail_msg("KvScan from key %d answered no pair (more=%d) with keys left", seen,
                     (int)r->more);
        for (size_t i = 0; i < r->n_pairs; i++, seen++) {
            const Kvrpcpb__KvPair *p = r->pairs[i];
            if (seen >= 3 || p->key.len != 1 || p->key.data[0] != 10 + seen ||
                p->value.len != BIG || memcmp(p->value.data, vals[seen], BIG) != 0)
                fail_msg("KvScan pair %d is not key %d with its 6 MiB value", seen, 10 + seen);
        }
        more = r->more;
        if (more && seen >= 3)
            fail_msg("KvScan says `more` after the last key");
        if (!more && seen < 3)
            fail_msg("KvScan returned %d of 3 pairs and did not say `more`", seen);
        next[0] = r->pairs[r->n_pairs - 1]->key.data[0];
        start = slice_of(next, 2); /* just after the last key */
        th_free(r);
    }
    if (seen != 3)
        fail_msg("scanning on while `more`, %d of 3 pairs came back in %d calls", seen, calls);
    for (int i = 0; i < 3; i++)
        free(vals[i]);
}

static void test_prewrite_errors_fit_a_frame(void **state)
{
    txn_fixture_t *f = *state;
    /* Four keys locked by one transaction whose primary is 6 MiB. */
    enum { N = 4 };
    tkv_slice_t keys[N], values[N];
    Kvrpcpb__Op ops[N];
    uint8_t *primary = big_value(3);
    for (int i = 0; i < N; i++) {
        keys[i] = K((uint8_t)(20 + i));
        values[i] = S("v");
        ops[i] = KVRPCPB__OP__OP_PUT;
        th_put_lock(f->s, keys[i], slice_of(primary, BIG), 10, 100, MVCC_KIND_PUT);
    }
    Kvrpcpb__PrewriteResponse *r = th_prewrite(f, N, keys, values, ops, keys[0], 20, 100);
    size_t size = kvrpcpb__prewrite_response__get_packed_size(r);
    if (r->n_errors == 0)
        fail_msg("a prewrite of %d locked keys answered no error", N);
    if (size > RPC_REQUEST_MAX)
        fail_msg("a prewrite of %d small keys answered %zu errors in %zu bytes, past the %u a "
                 "response may take: answer only the errors that fit",
                 N, r->n_errors, size, RPC_REQUEST_MAX);
    for (size_t i = 0; i < r->n_errors; i++)
        if (r->errors[i]->locked == NULL)
            fail_msg("prewrite error %zu is not the lock in the way", i);
    th_free(r);
    free(primary);
    th_assert_lens(f->s, 0, N, 0); /* nothing written: only the other txn's locks */
}

const tkv_test_t response_limit_tests[] = {
    { "project4c", "scan_of_big_values_says_more", 2,
      "KvScan stops before a pair that would overflow the response and says `more`",
      test_scan_of_big_values_says_more, 0, txn_setup, txn_teardown },
    { "project4b", "prewrite_errors_fit_a_frame", 1,
      "KvPrewrite answers with as many lock errors as fit in a response, and writes nothing",
      test_prewrite_errors_fit_a_frame, 0, txn_setup, txn_teardown },
    { 0 },
};
