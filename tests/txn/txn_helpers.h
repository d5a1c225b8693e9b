/*
 * Shared helpers of the project 4 tests: a fixture with a standalone storage
 * in a scratch directory, writers that put locks, writes and values straight
 * into the column families (through the frame encoders, never the student's
 * code), checkers of the families' contents, and short ways to run commands.
 */
#ifndef TKV_TESTS_TXN_HELPERS_H
#define TKV_TESTS_TXN_HELPERS_H

#include <stdint.h>

#include "project1-standalone/storage.h"
#include "project4-txn/kv_txn.h"
#include "project4-txn/latches.h"
#include "project4-txn/mvcc/mvcc_codec.h"
#include "tests/harness/expect_pb.h"
#include "tests/harness/test.h"

typedef struct {
    char dir[256];
    storage_t *s;
    latches_t *l;
} txn_fixture_t;

/* cmocka fixtures: *state becomes a started txn_fixture_t; teardown stops it
 * and removes the directory, even after a failed test. */
int txn_setup(void **state);
int txn_teardown(void **state);
/* The same, for code that manages its own fixtures (the model check). */
txn_fixture_t *txn_fixture_new(void);
void txn_fixture_free(txn_fixture_t *f);

/* A one-byte key (static storage). */
tkv_slice_t K(uint8_t b);
/* A slice of a string literal's bytes. */
tkv_slice_t S(const char *s);

/* ---- writing the families directly ------------------------------------ */
void th_put_value(storage_t *s, tkv_slice_t key, uint64_t start_ts, tkv_slice_t value);
void th_put_lock(storage_t *s, tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                 uint64_t ttl, mvcc_kind_t kind);
void th_put_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts, uint64_t start_ts,
                  mvcc_kind_t kind);
/* Raw bytes into a family (for corrupt records). */
void th_put_raw(storage_t *s, const char *cf, tkv_slice_t key, tkv_slice_t value);

/* ---- checking the families ---------------------------------------------- */
size_t th_count(storage_t *s, const char *cf);
/* Fails unless the families hold exactly this many entries. */
void th_assert_lens(storage_t *s, size_t n_default, size_t n_lock, size_t n_write);
/* The value at (key, start_ts) equals `value`. */
void th_assert_value(storage_t *s, tkv_slice_t key, uint64_t start_ts, tkv_slice_t value);
void th_assert_no_value(storage_t *s, tkv_slice_t key, uint64_t start_ts);
void th_assert_lock(storage_t *s, tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                    uint64_t ttl, mvcc_kind_t kind);
void th_assert_no_lock(storage_t *s, tkv_slice_t key);
void th_assert_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts, uint64_t start_ts,
                     mvcc_kind_t kind);
void th_assert_no_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts);

/* ---- running commands ------------------------------------------------------
 * Each returns a heap response (asserting the command returned TKV_OK) to be
 * freed with th_free(). */
Kvrpcpb__GetResponse *th_get(txn_fixture_t *f, tkv_slice_t key, uint64_t ts);
/* Mutations are given as parallel arrays; values[i] ignored for deletes. */
Kvrpcpb__PrewriteResponse *th_prewrite(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                       const tkv_slice_t *values, const Kvrpcpb__Op *ops,
                                       tkv_slice_t primary, uint64_t start_ts, uint64_t ttl);
/* A one-key put prewrite whose primary is the key itself. */
Kvrpcpb__PrewriteResponse *th_prewrite_put(txn_fixture_t *f, tkv_slice_t key, tkv_slice_t value,
                                           uint64_t start_ts);
Kvrpcpb__CommitResponse *th_commit(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                   uint64_t start_ts, uint64_t commit_ts);
Kvrpcpb__ScanResponse *th_scan(txn_fixture_t *f, tkv_slice_t start, uint32_t limit, uint64_t ts);
Kvrpcpb__CheckTxnStatusResponse *th_check(txn_fixture_t *f, tkv_slice_t primary, uint64_t lock_ts,
                                          uint64_t current_ts);
Kvrpcpb__BatchRollbackResponse *th_rollback(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                            uint64_t start_ts);
Kvrpcpb__ResolveLockResponse *th_resolve(txn_fixture_t *f, uint64_t start_ts, uint64_t commit_ts);
void th_free(void *resp);

/* Fails unless b holds exactly `want`. */
void th_assert_bytes(ProtobufCBinaryData b, tkv_slice_t want);

#endif
