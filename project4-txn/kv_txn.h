/*
 * The transactional API of TinyKV (project 4): the Kv* commands a client
 * uses to run Percolator transactions, served on any Storage (storage.h).
 *
 *   4B  kv_get, kv_prewrite, kv_commit
 *   4C  kv_scan, kv_check_txn_status, kv_batch_rollback, kv_resolve_lock
 *
 * Every command has the shape
 *
 *     tkv_err_t kv_x(storage_t *s, latches_t *l, const Kvrpcpb__XRequest *req,
 *                    Kvrpcpb__XResponse *resp);
 *
 * Ownership and contract:
 *   - The caller allocates `resp` on the heap, initializes it with its
 *     kvrpcpb__x_response__init(), and after the call frees it (and all the
 *     command put in it) with protobuf_c_message_free_unpacked(&resp->base,
 *     NULL). So every field a command sets is malloc'd: bytes are malloc'd
 *     copies, strings strdup'd, repeated fields malloc'd arrays of malloc'd
 *     submessages (txn_resp.h builds them).
 *   - TKV_OK means `resp` was filled in. Outcomes of the protocol (a key is
 *     locked, a write conflict, the txn was rolled back) are KeyErrors in the
 *     response; failures of the storage below (I/O, corrupt records) are a
 *     region_error whose message says what failed. Another code means the
 *     request itself could not be served (e.g. TKV_ERR_NOT_IMPLEMENTED from a
 *     lab stub) and `resp` may be partly filled.
 *   - `l` serializes commands on the same keys (latches.h); NULL runs without
 *     latches (single-threaded callers only). `req` is borrowed.
 *   - A command's writes reach the storage as one atomic batch or not at all.
 */
#ifndef TKV_P4_KV_TXN_H
#define TKV_P4_KV_TXN_H

#include "project1-standalone/storage.h"
#include "project4-txn/latches.h"
#include "proto/kvrpcpb.pb-c.h"

/* Reads `key` at req->version. A lock from a txn that started at or before
 * the read ts blocks the read (resp->error->locked); otherwise the newest
 * committed put at or before the read ts, or not_found. */
tkv_err_t kv_get(storage_t *s, latches_t *l, const Kvrpcpb__GetRequest *req,
                 Kvrpcpb__GetResponse *resp);
/* Locks every mutated key and stores its value at start_version. One KeyError
 * per key that cannot be prewritten (conflict: a write committed at or after
 * start_version; locked: another txn's lock), as many as fit in
 * TXN_RESPONSE_MAX_BYTES (txn_resp.h; at least one); if there is any,
 * nothing is written. */
tkv_err_t kv_prewrite(storage_t *s, latches_t *l, const Kvrpcpb__PrewriteRequest *req,
                      Kvrpcpb__PrewriteResponse *resp);
/* Replaces this txn's lock on each key with a write record at commit_version.
 * Already committed: nothing to do. Rolled back: abort. Locked by another txn:
 * retryable. Neither lock nor record (the prewrite never arrived): nothing to
 * do, as in TinyKV. On any error nothing is written. */
tkv_err_t kv_commit(storage_t *s, latches_t *l, const Kvrpcpb__CommitRequest *req,
                    Kvrpcpb__CommitResponse *resp);

/* Up to `limit` pairs from start_key on, as of req->version: the newest
 * visible value of each key, deleted keys skipped; a key locked by a txn that
 * started at or before the read ts is a pair whose `error` holds the lock.
 * Fewer if the next pair would take the pairs past TXN_RESPONSE_MAX_BYTES
 * (txn_resp.h), and then resp->more is set (the first pair always fits). */
tkv_err_t kv_scan(storage_t *s, latches_t *l, const Kvrpcpb__ScanRequest *req,
                  Kvrpcpb__ScanResponse *resp);
/* What became of the txn whose primary key and start ts are given:
 * committed (commit_version), rolled back (no action), alive (lock_ttl), or
 * decided now: its lock's TTL ran out by current_ts (TTL_EXPIRE_ROLLBACK) or it
 * left no trace at all (LOCK_NOT_EXIST_ROLLBACK); both write a rollback. */
tkv_err_t kv_check_txn_status(storage_t *s, latches_t *l, const Kvrpcpb__CheckTxnStatusRequest *req,
                              Kvrpcpb__CheckTxnStatusResponse *resp);
/* Rolls back the txn on each key: drops its lock and value, writes a rollback
 * record (even with no lock, so a late prewrite fails). Idempotent; abort if
 * any key is already committed, and then nothing is written. */
tkv_err_t kv_batch_rollback(storage_t *s, latches_t *l, const Kvrpcpb__BatchRollbackRequest *req,
                            Kvrpcpb__BatchRollbackResponse *resp);
/* Commits (commit_version > 0) or rolls back (0) every lock of the txn. */
tkv_err_t kv_resolve_lock(storage_t *s, latches_t *l, const Kvrpcpb__ResolveLockRequest *req,
                          Kvrpcpb__ResolveLockResponse *resp);

#endif
