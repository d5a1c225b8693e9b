/*
 * What every Kv* command does around its own logic (frame code): take the
 * latches of its keys, open a snapshot reader, run an MVCC txn over it, apply
 * the txn's buffer in one batch, let everything go. Also the two per-key
 * steps several commands share (commit one key, roll back one key), which
 * students write.
 *
 *     txn_cmd_t c;
 *     tkv_err_t err = txn_cmd_begin(&c, s, l, req->context, start_ts, keys, n);
 *     if (err == TKV_OK) { ...reads and buffered writes on &c.txn...;
 *                          err = txn_cmd_apply(&c); }
 *     txn_cmd_end(&c);
 *
 * Ownership: `keys` (borrowed from the request) must outlive the command;
 * txn_cmd_end() releases everything txn_cmd_begin() took, even after a
 * failed begin.
 */
#ifndef TKV_P4_TXN_CMD_H
#define TKV_P4_TXN_CMD_H

#include "project1-standalone/storage.h"
#include "project4-txn/latches.h"
#include "project4-txn/mvcc/txn.h"
#include "proto/kvrpcpb.pb-c.h"

typedef struct {
    storage_t *storage;
    latches_t *latches; /* NULL: none taken */
    const Kvrpcpb__Context *ctx;
    const tkv_slice_t *keys;
    size_t n_keys;
    storage_reader_t *reader;
    mvcc_txn_t txn;
} txn_cmd_t;

/* Latches keys[0..n) (if l), opens a reader, starts a txn at start_ts. */
tkv_err_t txn_cmd_begin(txn_cmd_t *c, storage_t *s, latches_t *l, const Kvrpcpb__Context *ctx,
                        uint64_t start_ts, const tkv_slice_t *keys, size_t n);
/* Writes the txn's buffered changes in one batch. */
tkv_err_t txn_cmd_apply(txn_cmd_t *c);
void txn_cmd_end(txn_cmd_t *c);

/* Request keys as slices: a malloc'd array (caller frees) viewing `keys`. */
tkv_slice_t *txn_keys_of(ProtobufCBinaryData *keys, size_t n);

/* Commits `key` for txn t->start_ts at commit_ts, buffering the changes in t.
 * Returns NULL when the key is committed (now or before) or has no trace of
 * the txn, a KeyError when it cannot be (rolled back: abort; locked by
 * another txn: retryable). Storage failures go to *err (and NULL returns). */
Kvrpcpb__KeyError *txn_commit_key(mvcc_txn_t *t, tkv_slice_t key, uint64_t commit_ts,
                                  tkv_err_t *err);
/* Rolls back txn t->start_ts on `key`: drops its lock and value if present and
 * writes a rollback record, unless one is there. A KeyError (abort) when the
 * key is already committed. Storage failures as for txn_commit_key. */
Kvrpcpb__KeyError *txn_rollback_key(mvcc_txn_t *t, tkv_slice_t key, tkv_err_t *err);

#endif
