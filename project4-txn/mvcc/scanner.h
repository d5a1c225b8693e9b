/*
 * A scanner reads a range of user keys as of one timestamp (project 4C).
 *
 * It walks user keys in order from a start key and yields, for each key that
 * has something to say at the txn's start ts:
 *   - MVCC_SCAN_LOCKED: a lock of a txn that started at or before the read ts
 *     (its commit could land before the read ts, so the value is unknown);
 *   - MVCC_SCAN_VALUE: the newest committed value at or before the read ts.
 * Keys whose newest visible write is a delete, or that have no write at or
 * before the read ts, are skipped.
 *
 * Ownership: the scanner borrows `txn` (and so its reader) until
 * mvcc_scanner_free(). Out-parameters belong to the caller.
 */
#ifndef TKV_P4_MVCC_SCANNER_H
#define TKV_P4_MVCC_SCANNER_H

#include "project4-txn/mvcc/txn.h"

typedef struct mvcc_scanner mvcc_scanner_t;

typedef enum {
    MVCC_SCAN_DONE,
    MVCC_SCAN_VALUE,
    MVCC_SCAN_LOCKED,
} mvcc_scan_kind_t;

/* A scanner over keys >= start_key as of txn->start_ts. */
mvcc_scanner_t *mvcc_scanner_new(mvcc_txn_t *txn, tkv_slice_t start_key);
void mvcc_scanner_free(mvcc_scanner_t *sc);
/* The next entry: *kind says which; `key` is replaced by its user key,
 * `value` by its value (VALUE) and `lock` (initialized) by its lock (LOCKED). */
tkv_err_t mvcc_scanner_next(mvcc_scanner_t *sc, tkv_buf_t *key, tkv_buf_t *value, mvcc_lock_t *lock,
                            mvcc_scan_kind_t *kind);

#endif
