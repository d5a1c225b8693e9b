/*
 * The two phases of Percolator's commit (project 4B): KvPrewrite locks every
 * key of a transaction and stores its values at the start ts; KvCommit turns
 * each lock into a write record at the commit ts. The transaction is
 * committed the moment its primary key is; the other keys follow, or are
 * committed later by whoever finds their locks (kv_resolve.c).
 */
#include <stdlib.h>

#include "project4-txn/kv_txn.h"
#include "project4-txn/txn_cmd.h"
#include "project4-txn/txn_resp.h"

/* LAB 4B BEGIN */
/* One mutation of a prewrite: NULL when it is buffered in t, else why not. */
static Kvrpcpb__KeyError *prewrite_one(mvcc_txn_t *t, const Kvrpcpb__PrewriteRequest *req,
                                       const Kvrpcpb__Mutation *m, tkv_err_t *err)
{
    tkv_slice_t key = txn_slice(m->key);
    tkv_slice_t primary = txn_slice(req->primary_lock);
    mvcc_write_t w;
    uint64_t commit_ts;
    int found;

    /* Snapshot isolation: someone committed (or rolled us back) after we
     * started, so our view of this key is stale. */
    *err = mvcc_txn_most_recent_write(t, key, &w, &commit_ts, &found);
    if (*err != TKV_OK)
        return NULL;
    if (found && commit_ts >= t->start_ts)
        return txn_error_conflict(key, primary, t->start_ts, commit_ts);

    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    *err = mvcc_txn_get_lock(t, key, &lock, &found);
    if (*err != TKV_OK) {
        mvcc_lock_free(&lock);
        return NULL;
    }
    if (found && lock.start_ts != t->start_ts) {
        Kvrpcpb__KeyError *e = txn_error_locked(key, &lock);
        mvcc_lock_free(&lock);
        return e;
    }

    switch (m->op) {
    case KVRPCPB__OP__OP_PUT:
        lock.kind = MVCC_KIND_PUT;
        mvcc_txn_put_value(t, key, txn_slice(m->value));
        break;
    case KVRPCPB__OP__OP_DEL:
        lock.kind = MVCC_KIND_DELETE;
        mvcc_txn_delete_value(t, key);
        break;
    default:
        mvcc_lock_free(&lock);
        return txn_error_abort("prewrite supports put and delete, not op %d", (int)m->op);
    }
    lock.start_ts = t->start_ts;
    lock.ttl = req->lock_ttl;
    buf_set(&lock.primary, primary.data, primary.len);
    mvcc_txn_put_lock(t, key, &lock);
    mvcc_lock_free(&lock);
    return NULL;
}
/* LAB 4B END */

tkv_err_t kv_prewrite(storage_t *s, latches_t *l, const Kvrpcpb__PrewriteRequest *req,
                      Kvrpcpb__PrewriteResponse *resp)
{
    /* LAB 4B BEGIN */
    tkv_slice_t *keys = xcalloc(req->n_mutations ? req->n_mutations : 1, sizeof(*keys));
    for (size_t i = 0; i < req->n_mutations; i++)
        keys[i] = txn_slice(req->mutations[i]->key);
    txn_cmd_t c;
    tkv_err_t err =
        txn_cmd_begin(&c, s, l, req->context, req->start_version, keys, req->n_mutations);
    size_t bytes = 0;
    for (size_t i = 0; err == TKV_OK && i < req->n_mutations; i++) {
        Kvrpcpb__KeyError *e = prewrite_one(&c.txn, req, req->mutations[i], &err);
        if (e == NULL)
            continue;
        /* Errors can outgrow the request (each carries a lock's primary):
         * as many as fit say that the prewrite failed and what to resolve. */
        size_t add = txn_element_bytes(&e->base);
        if (resp->n_errors > 0 && bytes + add > TXN_RESPONSE_MAX_BYTES) {
            kvrpcpb__key_error__free_unpacked(e, NULL);
            break;
        }
        bytes += add;
        txn_push_key_error(&resp->errors, &resp->n_errors, e);
    }
    /* All or nothing: with any key refused, the client must retry or abort. */
    if (err == TKV_OK && resp->n_errors == 0)
        err = txn_cmd_apply(&c);
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    txn_cmd_end(&c);
    free(keys);
    return TKV_OK;
    /* LAB 4B STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_prewrite");
    LAB 4B END */
}

Kvrpcpb__KeyError *txn_commit_key(mvcc_txn_t *t, tkv_slice_t key, uint64_t commit_ts,
                                  tkv_err_t *err)
{
    /* LAB 4B BEGIN */
    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    int locked = 0, found = 0;
    Kvrpcpb__KeyError *e = NULL;
    *err = mvcc_txn_get_lock(t, key, &lock, &locked);
    if (*err != TKV_OK)
        goto out;
    if (locked && lock.start_ts == t->start_ts) {
        mvcc_write_t w = { lock.kind, t->start_ts };
        mvcc_txn_put_write(t, key, commit_ts, &w);
        mvcc_txn_delete_lock(t, key);
        goto out;
    }
    /* Our lock is gone: find out what became of us on this key. */
    mvcc_write_t w;
    uint64_t cts;
    *err = mvcc_txn_current_write(t, key, &w, &cts, &found);
    if (*err != TKV_OK)
        goto out;
    if (found && w.kind == MVCC_KIND_ROLLBACK)
        e = txn_error_abort("txn %llu was rolled back on this key; it cannot commit",
                            (unsigned long long)t->start_ts);
    else if (!found && locked)
        e = txn_error_retryable("key is locked by txn %llu, not by txn %llu",
                                (unsigned long long)lock.start_ts, (unsigned long long)t->start_ts);
    /* Found a commit: a repeated request, nothing to do. Nothing at all: the
     * prewrite never arrived, and there is nothing to commit. */
out:
    mvcc_lock_free(&lock);
    return e;
    /* LAB 4B STUB
    (void)t;
    (void)key;
    (void)commit_ts;
    *err = tkv_not_implemented("txn_commit_key");
    return NULL;
    LAB 4B END */
}

tkv_err_t kv_commit(storage_t *s, latches_t *l, const Kvrpcpb__CommitRequest *req,
                    Kvrpcpb__CommitResponse *resp)
{
    /* LAB 4B BEGIN */
    if (req->n_keys > 0 && req->commit_version <= req->start_version) {
        resp->error = txn_error_abort("commit ts %llu is not after start ts %llu",
                                      (unsigned long long)req->commit_version,
                                      (unsigned long long)req->start_version);
        return TKV_OK;
    }
    tkv_slice_t *keys = txn_keys_of(req->keys, req->n_keys);
    txn_cmd_t c;
    tkv_err_t err = txn_cmd_begin(&c, s, l, req->context, req->start_version, keys, req->n_keys);
    for (size_t i = 0; err == TKV_OK && i < req->n_keys && resp->error == NULL; i++)
        resp->error = txn_commit_key(&c.txn, keys[i], req->commit_version, &err);
    if (err == TKV_OK && resp->error == NULL)
        err = txn_cmd_apply(&c);
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    txn_cmd_end(&c);
    free(keys);
    return TKV_OK;
    /* LAB 4B STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_commit");
    LAB 4B END */
}
