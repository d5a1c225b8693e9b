/*
 * A damaged table file: the iterator's status reports it (frame), and
 * RawScan answers with the error instead of the keys it could read (graded:
 * a scan that stops at the first invalid position and calls that the end
 * returns a short, wrong result and says nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prng.h"
#include "tests/harness/damage.h"
#include "tests/harness/expect.h"
#include "tests/project1/fixture.h"

#define N_KEYS  400
#define VAL_LEN 200

/* Random values, so that compression cannot shrink the table to one block. */
static void fill(storage_t *s)
{
    tkv_prng_t rng;
    prng_seed(&rng, 7);
    for (int i = 0; i < N_KEYS; i++) {
        char k[16], v[VAL_LEN];
        snprintf(k, sizeof(k), "key%04d", i);
        for (int j = 0; j < VAL_LEN; j++)
            v[j] = (char)('a' + prng_next(&rng) % 26);
        p1_put(s, "", k, strlen(k), v, VAL_LEN);
    }
}

/* Writes the keys, gets them into a table file (leveldb writes one when it
 * reopens a log), and damages it while the storage is stopped. */
static void damage(p1_fixture_t *f)
{
    fill(f->storage);
    p1_restart(f);
    storage_stop(f->storage);
    if (tkv_damage_tables(f->dir, 33, 64) < 1)
        fail_msg("no table file to damage in %s", f->dir);
    expect_err(storage_start(f->storage), TKV_OK, "storage_start(f->storage)");
}

/* Frame code only (the engine and the storage iterator), so that it holds
 * on the handout too. */
static void test_iter_status_reports_damage(void **state)
{
    (void)state;
    char dir[256];
    tkv_tmpdir(dir, sizeof(dir));
    eng_t *eng = NULL;
    expect_err(eng_open(dir, &eng), TKV_OK, "eng_open(dir, &eng)");
    tkv_prng_t rng;
    prng_seed(&rng, 7);
    for (int i = 0; i < N_KEYS; i++) {
        char k[16], v[VAL_LEN];
        snprintf(k, sizeof(k), "key%04d", i);
        for (int j = 0; j < VAL_LEN; j++)
            v[j] = (char)('a' + prng_next(&rng) % 26);
        expect_err(eng_put(eng, CF_DEFAULT, slice_of(k, strlen(k)), slice_of(v, VAL_LEN)), TKV_OK,
                   "eng_put(eng, CF_DEFAULT, slice_of(k, strlen(k)), slice_of(v, VAL_LEN))");
    }
    eng_close(eng);
    expect_err(eng_open(dir, &eng), TKV_OK, "eng_open(dir, &eng)"); /* the log becomes a table */
    eng_close(eng);
    expect_true(tkv_damage_tables(dir, 33, 64) >= 1, "the test must find a table to damage in %s",
                dir);
    expect_err(eng_open(dir, &eng), TKV_OK, "eng_open(dir, &eng)");
    storage_iter_t *it = storage_iter_new(eng, NULL, CF_DEFAULT, slice_of(NULL, 0));
    int seen = 0;
    for (storage_iter_seek(it, slice_of(NULL, 0)); storage_iter_valid(it); storage_iter_next(it))
        seen++;
    tkv_err_t err = storage_iter_status(it);
    storage_iter_free(it);
    eng_close(eng);
    tkv_rmdir(dir);
    if (seen >= N_KEYS)
        fail_msg("the damage hid no key (%d of %d seen): the test did not damage a data block",
                 seen, N_KEYS);
    if (err == TKV_OK)
        fail_msg("an iterator that skipped %d of %d keys over a damaged table reports TKV_OK",
                 N_KEYS - seen, N_KEYS);
    if (strstr(tkv_last_error(), "orrupt") == NULL && strstr(tkv_last_error(), "checksum") == NULL)
        fail_msg("the status should name the corruption: \"%s\"", tkv_last_error());
}

static void test_raw_scan_reports_damage(void **state)
{
    p1_fixture_t *f = *state;
    damage(f);
    Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    req.limit = N_KEYS + 10;
    Kvrpcpb__RawScanResponse resp = KVRPCPB__RAW_SCAN_RESPONSE__INIT;
    tkv_err_t e = raw_scan(f->storage, &req, &resp);
    if (e != TKV_OK)
        fail_msg("raw_scan should answer (with the error in the response), not fail: %s",
                 tkv_last_error());
    if (resp.error == NULL || resp.error[0] == '\0')
        fail_msg("RawScan over a damaged table returned %zu of %d pairs and no error: it must "
                 "report the read error (check storage_iter_status after the loop)",
                 resp.n_kvs, N_KEYS);
    if (resp.n_kvs != 0)
        fail_msg("RawScan reported \"%s\" but still returned %zu pairs: an error comes instead "
                 "of a result",
                 resp.error, resp.n_kvs);
    for (size_t i = 0; i < resp.n_kvs; i++)
        kvrpcpb__kv_pair__free_unpacked(resp.kvs[i], NULL);
    free(resp.kvs);
    if (resp.error != protobuf_c_empty_string)
        free(resp.error);
}

const tkv_test_t damage_tests[] = {
    { "frame", "storage_iter_status_reports_damaged_table", 0,
      "an iterator over a damaged table file reports the corruption in its status",
      test_iter_status_reports_damage },
    { "project1", "raw_scan_reports_damaged_table", 3,
      "RawScan over a damaged table file answers with the error, not with the keys it read",
      test_raw_scan_reports_damage, 0, p1_setup, p1_teardown },
    { 0 },
};
