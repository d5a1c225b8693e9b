/*
 * The Percolator transaction client (frame code), on the region cache.
 *
 *     txnc_t *t;
 *     txnc_begin(cache, &t);                 start_ts from the scheduler's TSO
 *     txnc_get(t, key, &value);              reads the snapshot at start_ts
 *     txnc_put(t, key, value);               buffered until commit
 *     e = txnc_commit(t, &commit_ts);        TKV_ERR_STALE: write conflict,
 *     txnc_free(t);                          run the transaction again
 *
 * Reads (KvGet, KvScan at start_ts) see the transaction's own buffered
 * writes over the snapshot. A lock met on a read is resolved
 * (lock_resolver.h); a live one is waited for, up to cfg.lock_wait_retries
 * times, then the read fails with TKV_ERR_BUSY.
 *
 * Commit, as in Percolator. The smallest written key is the primary:
 *   1. KvPrewrite of the primary alone, then of the secondaries grouped by
 *      region (one request per region). Every key gets a lock naming the
 *      primary, with TTL cfg.lock_ttl_ms. A lock of another transaction is
 *      resolved (or waited for) and the group sent again; a newer write
 *      (WriteConflict) or any other key error fails the commit: the locks
 *      already taken are rolled back (KvBatchRollback) and the caller gets
 *      TKV_ERR_STALE (conflict or retryable: run the transaction again) or
 *      TKV_ERR_INVALID (abort).
 *   2. commit_ts from the TSO.
 *   3. KvCommit of the primary alone. This is the commit point: once it
 *      succeeds the transaction is committed, whatever happens next. If it
 *      fails with a key error the locks were rolled back by a reader that
 *      found them expired: TKV_ERR_STALE. If the store cannot be reached
 *      within the retries the outcome is unknown: TKV_ERR_TIMEOUT, saying so.
 *   4. KvCommit of the secondaries grouped by region. A failure here is
 *      not the caller's: the locks left behind point at a committed
 *      primary, and the next reader to meet them commits them.
 *
 * A transaction is used by one thread at a time, with its cache.
 *
 * Ownership: txnc_begin() returns a transaction the caller frees with
 * txnc_free() (committed or not; an uncommitted one left no locks, or had
 * them rolled back). The cache is borrowed and must outlive it. Keys and
 * values passed in are copied; *value and *out are the caller's.
 */
#ifndef TKV_CLIENT_TXN_CLIENT_H
#define TKV_CLIENT_TXN_CLIENT_H

#include <stdint.h>

#include "client/kv_list.h"
#include "client/region_cache.h"

typedef struct txnc txnc_t;

tkv_err_t txnc_begin(rcache_t *c, txnc_t **out);
uint64_t txnc_start_ts(const txnc_t *t);
void txnc_free(txnc_t *t);

/* TKV_ERR_NOT_FOUND when the key has no value at start_ts (or the
 * transaction deleted it). */
tkv_err_t txnc_get(txnc_t *t, tkv_slice_t key, tkv_buf_t *value);
/* Up to `limit` pairs with key >= start, in key order, appended to *out. */
tkv_err_t txnc_scan(txnc_t *t, tkv_slice_t start, uint32_t limit, kv_list_t *out);

void txnc_put(txnc_t *t, tkv_slice_t key, tkv_slice_t value);
void txnc_delete(txnc_t *t, tkv_slice_t key);
/* Buffered writes so far. */
size_t txnc_n_writes(const txnc_t *t);

/* Commits the buffered writes (none: TKV_OK, commit_ts 0). `commit_ts`
 * may be NULL. After any return the transaction can only be freed. */
tkv_err_t txnc_commit(txnc_t *t, uint64_t *commit_ts);

#endif
