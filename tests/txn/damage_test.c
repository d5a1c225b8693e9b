/*
 * MVCC reads over a damaged table file: KvGet, KvScan and ResolveLock answer
 * with an error instead of taking the read error for the end of the data (a
 * missing write record would read as "no value", a missing lock as "nothing
 * to resolve"). The families are written directly, as the other txn tests
 * do, then pushed into a table file and damaged while the storage is stopped.
 */
#include <stdio.h>
#include <string.h>

#include "common/prng.h"
#include "tests/harness/damage.h"
#include "tests/harness/expect.h"
#include "tests/txn/txn_helpers.h"

#define N_KEYS  300
#define KEY_LEN 120

/* "k0042" and random letters: random so compression cannot shrink the
 * table to a block or two. */
static tkv_slice_t key_of(int i, char *buf)
{
    snprintf(buf, KEY_LEN, "k%04d", i);
    tkv_prng_t rng;
    prng_seed(&rng, (uint64_t)i + 1);
    for (int j = 5; j < KEY_LEN; j++)
        buf[j] = (char)('a' + prng_next(&rng) % 26);
    return slice_of(buf, KEY_LEN);
}

/* Gets the families into a table file and damages it at `percent` % of it. */
static void damage(txn_fixture_t *f, int percent)
{
    storage_stop(f->s);
    expect_err(storage_start(f->s), TKV_OK,
               "storage_start(f->s)"); /* reopening writes the log into a table */
    storage_stop(f->s);
    if (tkv_damage_tables(f->dir, percent, 64) < 1)
        fail_msg("no table file to damage in %s", f->dir);
    expect_err(storage_start(f->s), TKV_OK, "storage_start(f->s)");
}

/* Long random keys and one-byte values: the default and write families are
 * about the same size, so damage at 75% of the table hits write records. */
static void commit_all(txn_fixture_t *f)
{
    for (int i = 0; i < N_KEYS; i++) {
        char k[KEY_LEN];
        th_put_value(f->s, key_of(i, k), 10, slice_of(k, 1));
        th_put_write(f->s, key_of(i, k), 20, 10, MVCC_KIND_PUT);
    }
}

static void test_get_reports_damage(void **state)
{
    txn_fixture_t *f = *state;
    commit_all(f);
    damage(f, 75);
    int errors = 0;
    for (int i = 0; i < N_KEYS; i++) {
        char k[KEY_LEN];
        Kvrpcpb__GetResponse *r = th_get(f, key_of(i, k), 30);
        if (r->region_error != NULL) {
            errors++;
        } else if (r->not_found) {
            fail_msg("KvGet(k%04d...) said not found over a damaged table: a read error is not "
                     "\"no write record\"; it must come back as an error",
                     i);
        } else if (r->value.len != 1 || r->value.data[0] != k[0]) {
            fail_msg("KvGet(k%04d...) returned a wrong value", i);
        }
        th_free(r);
    }
    if (errors == 0)
        fail_msg("no KvGet of %d keys met the damage: the test did not damage what it meant to",
                 N_KEYS);
}

static void test_scan_reports_damage(void **state)
{
    txn_fixture_t *f = *state;
    commit_all(f);
    damage(f, 75);
    Kvrpcpb__ScanResponse *r = th_scan(f, slice_of("", 0), N_KEYS + 10, 30);
    if (r->region_error == NULL)
        fail_msg("KvScan over a damaged table returned %zu of %d pairs and no error: check the "
                 "iterators' status (storage_iter_status) before calling it the end",
                 r->n_pairs, N_KEYS);
    if (r->n_pairs != 0)
        fail_msg("KvScan reported an error but still returned %zu pairs: the error comes instead "
                 "of a short result",
                 r->n_pairs);
    th_free(r);
}

static void test_resolve_reports_damage(void **state)
{
    txn_fixture_t *f = *state;
    /* Locks only: the table is the lock family, damaged in its middle. */
    char primary[KEY_LEN];
    key_of(0, primary);
    for (int i = 0; i < N_KEYS; i++) {
        char k[KEY_LEN];
        th_put_lock(f->s, key_of(i, k), slice_of(primary, KEY_LEN), 10, 100, MVCC_KIND_PUT);
    }
    damage(f, 50);
    Kvrpcpb__ResolveLockResponse *r = th_resolve(f, 10, 0);
    if (r->region_error == NULL && r->error == NULL)
        fail_msg("ResolveLock over a damaged lock family reported success: the locks it could "
                 "not read stay behind, so it must report the read error");
    th_free(r);
}

const tkv_test_t damage_txn_tests[] = {
    { "project4b", "get_reports_damaged_table", 3,
      "KvGet over a damaged table answers with an error, never a false not_found",
      test_get_reports_damage, 0, txn_setup, txn_teardown },
    { "project4c", "scan_reports_damaged_table", 3,
      "KvScan over a damaged table answers with an error instead of a short result",
      test_scan_reports_damage, 0, txn_setup, txn_teardown },
    { "project4c", "resolve_reports_damaged_table", 3,
      "ResolveLock over a damaged lock family reports the error instead of success",
      test_resolve_reports_damage, 0, txn_setup, txn_teardown },
    { 0 },
};
