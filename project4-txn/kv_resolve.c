/*
 * Recovering from clients that stop half way (project 4C). A client that
 * meets a lock asks KvCheckTxnStatus about the lock's primary: the primary
 * alone says whether the txn committed. If its TTL ran out the primary is
 * rolled back there and then, which decides the txn for good. The client then
 * finishes the secondaries with KvResolveLock (commit or roll back every lock
 * of that txn) or KvBatchRollback.
 */
#include <stdlib.h>

#include "project4-txn/kv_txn.h"
#include "project4-txn/txn_cmd.h"
#include "project4-txn/txn_resp.h"

Kvrpcpb__KeyError *txn_rollback_key(mvcc_txn_t *t, tkv_slice_t key, tkv_err_t *err)
{
    /* LAB 4C BEGIN */
    mvcc_write_t w;
    uint64_t cts;
    int found;
    *err = mvcc_txn_current_write(t, key, &w, &cts, &found);
    if (*err != TKV_OK)
        return NULL;
    if (found && w.kind == MVCC_KIND_ROLLBACK)
        return NULL; /* already rolled back */
    if (found)
        return txn_error_abort("txn %llu already committed at %llu; it cannot roll back",
                               (unsigned long long)t->start_ts, (unsigned long long)cts);
    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    *err = mvcc_txn_get_lock(t, key, &lock, &found);
    if (*err == TKV_OK) {
        if (found && lock.start_ts == t->start_ts) {
            mvcc_txn_delete_lock(t, key);
            mvcc_txn_delete_value(t, key);
        }
        /* Written even with no lock of ours, so that a prewrite still on its
         * way finds a write at its start ts and fails with a conflict. */
        mvcc_write_t rb = { MVCC_KIND_ROLLBACK, t->start_ts };
        mvcc_txn_put_write(t, key, t->start_ts, &rb);
    }
    mvcc_lock_free(&lock);
    return NULL;
    /* LAB 4C STUB
    (void)t;
    (void)key;
    *err = tkv_not_implemented("txn_rollback_key");
    return NULL;
    LAB 4C END */
}

tkv_err_t kv_check_txn_status(storage_t *s, latches_t *l, const Kvrpcpb__CheckTxnStatusRequest *req,
                              Kvrpcpb__CheckTxnStatusResponse *resp)
{
    /* LAB 4C BEGIN */
    tkv_slice_t primary = txn_slice(req->primary_key);
    txn_cmd_t c;
    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    int found = 0;
    tkv_err_t err = txn_cmd_begin(&c, s, l, req->context, req->lock_ts, &primary, 1);
    if (err == TKV_OK)
        err = mvcc_txn_get_lock(&c.txn, primary, &lock, &found);
    if (err == TKV_OK && found && lock.start_ts == req->lock_ts) {
        if (mvcc_physical_ms(lock.start_ts) + lock.ttl <= mvcc_physical_ms(req->current_ts)) {
            mvcc_write_t rb = { MVCC_KIND_ROLLBACK, req->lock_ts };
            mvcc_txn_delete_lock(&c.txn, primary);
            mvcc_txn_delete_value(&c.txn, primary);
            mvcc_txn_put_write(&c.txn, primary, req->lock_ts, &rb);
            resp->action = KVRPCPB__ACTION__TTL_EXPIRE_ROLLBACK;
            err = txn_cmd_apply(&c);
        } else {
            resp->lock_ttl = lock.ttl;
        }
    } else if (err == TKV_OK) {
        mvcc_write_t w;
        uint64_t cts;
        err = mvcc_txn_current_write(&c.txn, primary, &w, &cts, &found);
        if (err == TKV_OK && found && w.kind != MVCC_KIND_ROLLBACK) {
            resp->commit_version = cts;
        } else if (err == TKV_OK && !found) {
            /* No trace: the prewrite may still be on its way. Decide now. */
            mvcc_write_t rb = { MVCC_KIND_ROLLBACK, req->lock_ts };
            mvcc_txn_put_write(&c.txn, primary, req->lock_ts, &rb);
            resp->action = KVRPCPB__ACTION__LOCK_NOT_EXIST_ROLLBACK;
            err = txn_cmd_apply(&c);
        }
    }
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    txn_cmd_end(&c);
    mvcc_lock_free(&lock);
    return TKV_OK;
    /* LAB 4C STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_check_txn_status");
    LAB 4C END */
}

tkv_err_t kv_batch_rollback(storage_t *s, latches_t *l, const Kvrpcpb__BatchRollbackRequest *req,
                            Kvrpcpb__BatchRollbackResponse *resp)
{
    /* LAB 4C BEGIN */
    tkv_slice_t *keys = txn_keys_of(req->keys, req->n_keys);
    txn_cmd_t c;
    tkv_err_t err = txn_cmd_begin(&c, s, l, req->context, req->start_version, keys, req->n_keys);
    for (size_t i = 0; err == TKV_OK && i < req->n_keys && resp->error == NULL; i++)
        resp->error = txn_rollback_key(&c.txn, keys[i], &err);
    if (err == TKV_OK && resp->error == NULL)
        err = txn_cmd_apply(&c);
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    txn_cmd_end(&c);
    free(keys);
    return TKV_OK;
    /* LAB 4C STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_batch_rollback");
    LAB 4C END */
}

/* LAB 4C BEGIN */
/* The keys locked by txn start_ts, as malloc'd bufs (caller frees each and the array). */
static tkv_err_t locks_of_txn(storage_t *s, const Kvrpcpb__Context *ctx, uint64_t start_ts,
                              tkv_buf_t **out, size_t *n)
{
    storage_reader_t *r = NULL;
    *out = NULL;
    *n = 0;
    tkv_err_t err = storage_reader(s, ctx, &r);
    if (err != TKV_OK)
        return err;
    storage_iter_t *it = reader_iter_cf(r, CF_LOCK);
    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    for (storage_iter_seek(it, slice_of(NULL, 0)); storage_iter_valid(it); storage_iter_next(it)) {
        err = mvcc_lock_decode(storage_iter_value(it), &lock);
        if (err != TKV_OK)
            break;
        if (lock.start_ts != start_ts)
            continue;
        *out = xrealloc(*out, (*n + 1) * sizeof(**out));
        buf_init(&(*out)[*n]);
        buf_set(&(*out)[*n], storage_iter_key(it).data, storage_iter_key(it).len);
        (*n)++;
    }
    if (err == TKV_OK)
        err = storage_iter_status(it); /* else some locks would be left behind */
    mvcc_lock_free(&lock);
    storage_iter_free(it);
    reader_close(r);
    return err;
}
/* LAB 4C END */

tkv_err_t kv_resolve_lock(storage_t *s, latches_t *l, const Kvrpcpb__ResolveLockRequest *req,
                          Kvrpcpb__ResolveLockResponse *resp)
{
    /* LAB 4C BEGIN */
    tkv_buf_t *found = NULL;
    size_t n = 0;
    tkv_err_t err = locks_of_txn(s, req->context, req->start_version, &found, &n);
    if (err == TKV_OK && n > 0) {
        /* The scan above ran without latches; each key is checked again
         * under them, so a lock resolved meanwhile is simply found done. */
        tkv_slice_t *keys = xcalloc(n, sizeof(*keys));
        for (size_t i = 0; i < n; i++)
            keys[i] = buf_slice(&found[i]);
        txn_cmd_t c;
        err = txn_cmd_begin(&c, s, l, req->context, req->start_version, keys, n);
        for (size_t i = 0; err == TKV_OK && i < n && resp->error == NULL; i++) {
            if (req->commit_version == 0)
                resp->error = txn_rollback_key(&c.txn, keys[i], &err);
            else
                resp->error = txn_commit_key(&c.txn, keys[i], req->commit_version, &err);
        }
        if (err == TKV_OK && resp->error == NULL)
            err = txn_cmd_apply(&c);
        txn_cmd_end(&c);
        free(keys);
    }
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    for (size_t i = 0; i < n; i++)
        buf_free(&found[i]);
    free(found);
    return TKV_OK;
    /* LAB 4C STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_resolve_lock");
    LAB 4C END */
}
