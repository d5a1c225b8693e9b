/*
 * An MVCC transaction: the one door through which the commands of project 4
 * read and write Percolator's column families (mvcc_codec.h has the shapes).
 *
 * A txn reads through a storage reader (a consistent snapshot taken when the
 * command started, after its latches were acquired) and buffers every change
 * as a storage_modify_t. Nothing reaches the storage until the command calls
 * mvcc_txn_write(), which applies the whole buffer as one atomic batch: a
 * command either changes everything it meant to or nothing. Reads do not see
 * the txn's own buffered changes.
 *
 * Ownership: the txn borrows `reader` (the caller closes it after
 * mvcc_txn_free()). Buffered keys and values are copies owned by the txn.
 * Out-parameters (locks, values) belong to the caller.
 */
#ifndef TKV_P4_MVCC_TXN_H
#define TKV_P4_MVCC_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "project1-standalone/storage.h"
#include "project4-txn/mvcc/mvcc_codec.h"

typedef struct {
    storage_reader_t *reader; /* borrowed */
    uint64_t start_ts;
    storage_modify_t *mods; /* keys and values are malloc'd copies */
    size_t n_mods;
    size_t cap_mods;
} mvcc_txn_t;

/* ---- frame: the buffer ---------------------------------------------------- */

void mvcc_txn_init(mvcc_txn_t *t, storage_reader_t *reader, uint64_t start_ts);
void mvcc_txn_free(mvcc_txn_t *t);
/* Buffers one change, copying key and value. */
void mvcc_txn_add(mvcc_txn_t *t, modify_kind_t kind, const char *cf, tkv_slice_t key,
                  tkv_slice_t value);
/* The buffered changes, in order; borrowed until the txn changes. */
const storage_modify_t *mvcc_txn_writes(const mvcc_txn_t *t, size_t *n);
/* Applies the buffer to `s` in one batch (nothing to do when it is empty). */
tkv_err_t mvcc_txn_write(mvcc_txn_t *t, storage_t *s, const Kvrpcpb__Context *ctx);

/* ---- project 4A: writes (buffered) ---------------------------------------- */

/* The lock of `key` becomes `lock` (CF_LOCK, raw key). */
void mvcc_txn_put_lock(mvcc_txn_t *t, tkv_slice_t key, const mvcc_lock_t *lock);
void mvcc_txn_delete_lock(mvcc_txn_t *t, tkv_slice_t key);
/* The value of `key` written by this txn (CF_DEFAULT at start_ts). */
void mvcc_txn_put_value(mvcc_txn_t *t, tkv_slice_t key, tkv_slice_t value);
void mvcc_txn_delete_value(mvcc_txn_t *t, tkv_slice_t key);
/* A write record for `key` at `commit_ts` (CF_WRITE). */
void mvcc_txn_put_write(mvcc_txn_t *t, tkv_slice_t key, uint64_t commit_ts, const mvcc_write_t *w);

/* ---- project 4A: reads (through the snapshot) ----------------------------
 * Each sets *found to 1 or 0 and returns TKV_OK, or returns a storage error
 * (TKV_ERR_CORRUPT for records that do not decode). */

/* The lock on `key`, whoever holds it. `lock` must be initialized. */
tkv_err_t mvcc_txn_get_lock(mvcc_txn_t *t, tkv_slice_t key, mvcc_lock_t *lock, int *found);
/* The value of `key` a reader at start_ts sees: the newest put committed at or
 * before start_ts, skipping rollbacks; a newer delete hides older puts. */
tkv_err_t mvcc_txn_get_value(mvcc_txn_t *t, tkv_slice_t key, tkv_buf_t *value, int *found);
/* The write record this txn (start_ts) left on `key`: a commit or a rollback,
 * with the commit ts it is stored at (a rollback's is start_ts itself). */
tkv_err_t mvcc_txn_current_write(mvcc_txn_t *t, tkv_slice_t key, mvcc_write_t *w,
                                 uint64_t *commit_ts, int *found);
/* The newest write record on `key` of any txn, rollbacks included. */
tkv_err_t mvcc_txn_most_recent_write(mvcc_txn_t *t, tkv_slice_t key, mvcc_write_t *w,
                                     uint64_t *commit_ts, int *found);

#endif
