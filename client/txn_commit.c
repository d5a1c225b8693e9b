/*
 * Two-phase commit of a transaction's buffer (txn_client.h): prewrite the
 * primary, then the secondaries by region; commit the primary, then the
 * secondaries by region; roll back what was prewritten when prewrite fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/region_send.h"
#include "client/txn_impl.h"
#include "common/log.h"
#include "common/pb.h"

/* One request for the keys writes[idx[0..n)] of one region. TKV_OK: done
 * with them; TKV_ERR_STALE: route them again; others: give up. A key error
 * is kept in the function's state and reported as KEY_ERROR, so that a
 * conflict (TKV_ERR_STALE to the caller) is never taken for a stale route. */
#define KEY_ERROR TKV_ERR_CLOSED
typedef tkv_err_t (*group_fn)(txnc_t *t, backoff_t *bo, rcache_loc_t *loc, const size_t *idx,
                              size_t n, void *arg);

/* Sends writes[idx[0..n)] (sorted) region by region: the keys of one
 * region go in one request. Keys whose route went stale are grouped again. */
static tkv_err_t by_region(txnc_t *t, backoff_t *bo, const size_t *idx, size_t n, group_fn fn,
                           void *arg)
{
    size_t *pending = xmalloc((n ? n : 1) * sizeof(size_t));
    memcpy(pending, idx, n * sizeof(size_t));
    size_t np = n;
    tkv_err_t e = TKV_OK;
    while (e == TKV_OK && np > 0) {
        rcache_loc_t loc;
        e = rcache_locate(t->cache, buf_slice(&t->writes[pending[0]].key), bo, &loc);
        if (e != TKV_OK)
            break;
        /* Keys are sorted and a region is a range: its keys are a prefix. */
        size_t g = 1;
        while (g < np && txn_region_holds(&loc, buf_slice(&t->writes[pending[g]].key)))
            g++;
        e = fn(t, bo, &loc, pending, g, arg);
        rcache_loc_free(&loc);
        if (e == TKV_OK) {
            memmove(pending, pending + g, (np - g) * sizeof(size_t));
            np -= g;
        } else if (e == TKV_ERR_STALE) {
            e = TKV_OK;
        }
    }
    free(pending);
    return e;
}

static ProtobufCBinaryData bin_of(const tkv_buf_t *b)
{
    ProtobufCBinaryData d = { b->len, b->data };
    return d;
}

/* ---- prewrite ------------------------------------------------------------------- */

typedef struct {
    backoff_t lock_bo;
    int *prewritten;  /* per write: a lock of ours may be there */
    tkv_err_t failed; /* TKV_ERR_STALE conflict, TKV_ERR_INVALID abort */
} prewrite_state_t;

static tkv_err_t prewrite_group(txnc_t *t, backoff_t *bo, rcache_loc_t *loc, const size_t *idx,
                                size_t n, void *arg)
{
    prewrite_state_t *st = arg;
    Kvrpcpb__Mutation *muts = xcalloc(n, sizeof(*muts));
    Kvrpcpb__Mutation **mp = xcalloc(n, sizeof(*mp));
    for (size_t i = 0; i < n; i++) {
        const txn_write_t *w = &t->writes[idx[i]];
        kvrpcpb__mutation__init(&muts[i]);
        muts[i].op = w->op;
        muts[i].key = bin_of(&w->key);
        muts[i].value = bin_of(&w->value);
        mp[i] = &muts[i];
        /* Sent: from now on a lock of ours may exist, even if no answer
         * comes back. */
        st->prewritten[idx[i]] = 1;
    }
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    req.n_mutations = n;
    req.mutations = mp;
    req.primary_lock = bin_of(&t->writes[0].key);
    req.start_version = t->start_ts;
    req.lock_ttl = rcache_config(t->cache)->lock_ttl_ms;
    Kvrpcpb__PrewriteResponse *resp = NULL;
    tkv_err_t e =
        rcache_send(t->cache, bo, loc, "KvPrewrite", &req.base, (ProtobufCMessage **)&resp);
    free(mp);
    free(muts);
    if (e != TKV_OK)
        return e;
    int again = 0;
    for (size_t i = 0; e == TKV_OK && i < resp->n_errors; i++) {
        const Kvrpcpb__KeyError *ke = resp->errors[i];
        if (ke->locked != NULL) {
            e = txn_handle_lock(t, bo, &st->lock_bo, ke->locked);
            again = 1;
        } else if (ke->conflict != NULL) {
            const Kvrpcpb__WriteConflict *wc = ke->conflict;
            st->failed =
                tkv_errorf(TKV_ERR_STALE,
                           "write conflict on key '%.*s': it was written at ts %llu, after this "
                           "transaction began (start ts %llu); run the transaction again",
                           (int)wc->key.len, (const char *)wc->key.data,
                           (unsigned long long)wc->conflict_ts, (unsigned long long)t->start_ts);
            e = KEY_ERROR;
        } else if (ke->retryable[0]) {
            st->failed = tkv_errorf(
                TKV_ERR_STALE, "prewrite refused (%s); run the transaction again", ke->retryable);
            e = KEY_ERROR;
        } else {
            st->failed = tkv_errorf(TKV_ERR_INVALID, "prewrite aborted: %s",
                                    ke->abort[0] ? ke->abort : "unknown key error");
            e = KEY_ERROR;
        }
    }
    pb_free(resp);
    if (e == TKV_OK && again)
        return TKV_ERR_STALE; /* the locks are gone or waited for: send the group again */
    return e;
}

/* ---- rollback and commit ------------------------------------------------------- */

static void keys_of(const txnc_t *t, const size_t *idx, size_t n, ProtobufCBinaryData *keys)
{
    for (size_t i = 0; i < n; i++)
        keys[i] = bin_of(&t->writes[idx[i]].key);
}

static tkv_err_t rollback_group(txnc_t *t, backoff_t *bo, rcache_loc_t *loc, const size_t *idx,
                                size_t n, void *arg)
{
    (void)arg;
    ProtobufCBinaryData *keys = xcalloc(n, sizeof(*keys));
    keys_of(t, idx, n, keys);
    Kvrpcpb__BatchRollbackRequest req = KVRPCPB__BATCH_ROLLBACK_REQUEST__INIT;
    req.start_version = t->start_ts;
    req.n_keys = n;
    req.keys = keys;
    Kvrpcpb__BatchRollbackResponse *resp = NULL;
    tkv_err_t e =
        rcache_send(t->cache, bo, loc, "KvBatchRollback", &req.base, (ProtobufCMessage **)&resp);
    free(keys);
    pb_free(resp);
    return e;
}

typedef struct {
    uint64_t commit_ts;
    tkv_err_t key_error; /* set when the store refused with a key error */
} commit_state_t;

static tkv_err_t commit_group(txnc_t *t, backoff_t *bo, rcache_loc_t *loc, const size_t *idx,
                              size_t n, void *arg)
{
    commit_state_t *st = arg;
    ProtobufCBinaryData *keys = xcalloc(n, sizeof(*keys));
    keys_of(t, idx, n, keys);
    Kvrpcpb__CommitRequest req = KVRPCPB__COMMIT_REQUEST__INIT;
    req.start_version = t->start_ts;
    req.commit_version = st->commit_ts;
    req.n_keys = n;
    req.keys = keys;
    Kvrpcpb__CommitResponse *resp = NULL;
    tkv_err_t e = rcache_send(t->cache, bo, loc, "KvCommit", &req.base, (ProtobufCMessage **)&resp);
    free(keys);
    if (e == TKV_OK && resp->error != NULL) {
        const Kvrpcpb__KeyError *ke = resp->error;
        st->key_error = tkv_errorf(TKV_ERR_STALE, "commit refused: %s",
                                   ke->abort[0]       ? ke->abort
                                   : ke->retryable[0] ? ke->retryable
                                   : ke->locked       ? "the key is locked by another transaction"
                                                      : "write conflict");
        e = KEY_ERROR;
    }
    pb_free(resp);
    return e;
}

/* Best effort: takes back the locks prewrite may have left. A lock left
 * behind (a store unreachable now) expires and is rolled back by the next
 * reader, so a failure here is only logged. */
static void roll_back(txnc_t *t, const int *prewritten)
{
    size_t *idx = xmalloc((t->n_writes ? t->n_writes : 1) * sizeof(size_t));
    size_t n = 0;
    for (size_t i = 0; i < t->n_writes; i++) {
        if (prewritten[i])
            idx[n++] = i;
    }
    backoff_t bo;
    backoff_init(&bo, rcache_config(t->cache));
    char saved[512];
    snprintf(saved, sizeof(saved), "%s", tkv_last_error());
    if (n > 0 && by_region(t, &bo, idx, n, rollback_group, NULL) != TKV_OK)
        tkv_logf(TKV_LOG_WARN, "txn", "rollback of txn %llu left locks to expire: %s",
                 (unsigned long long)t->start_ts, tkv_last_error());
    tkv_errorf(TKV_ERR_INVALID, "%s", saved); /* the caller's message, not ours */
    free(idx);
}

tkv_err_t txnc_commit(txnc_t *t, uint64_t *commit_ts)
{
    if (commit_ts != NULL)
        *commit_ts = 0;
    if (t->finished)
        return tkv_errorf(TKV_ERR_INVALID, "the transaction was already committed or failed");
    t->finished = 1;
    if (t->n_writes == 0)
        return TKV_OK;
    size_t n = t->n_writes;
    size_t *idx = xmalloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* writes[0], the smallest key, is the primary. */
    prewrite_state_t pw;
    memset(&pw, 0, sizeof(pw));
    backoff_init(&pw.lock_bo, &t->lock_cfg);
    pw.prewritten = xcalloc(n, sizeof(int));
    backoff_t bo;
    backoff_init(&bo, rcache_config(t->cache));
    tkv_err_t e = by_region(t, &bo, idx, 1, prewrite_group, &pw);
    if (e == TKV_OK && n > 1) {
        backoff_init(&bo, rcache_config(t->cache));
        e = by_region(t, &bo, idx + 1, n - 1, prewrite_group, &pw);
    }
    if (e != TKV_OK) {
        tkv_err_t code = e == KEY_ERROR ? pw.failed : e;
        roll_back(t, pw.prewritten);
        free(pw.prewritten);
        free(idx);
        return code;
    }

    commit_state_t cs = { 0, TKV_OK };
    e = rcache_tso(t->cache, &cs.commit_ts);
    if (e == TKV_OK) {
        backoff_init(&bo, rcache_config(t->cache));
        e = by_region(t, &bo, idx, 1, commit_group, &cs);
        if (e != TKV_OK && cs.key_error == TKV_OK) {
            /* Nothing says whether the primary's commit applied. */
            e = client_wrap_error(TKV_ERR_TIMEOUT,
                                  "the outcome of transaction %llu is unknown: committing its "
                                  "primary key failed",
                                  (unsigned long long)t->start_ts);
        } else if (e != TKV_OK) {
            e = client_wrap_error(TKV_ERR_STALE,
                                  "transaction %llu was rolled back before it could commit (its "
                                  "locks expired?)",
                                  (unsigned long long)t->start_ts);
        }
    } else {
        roll_back(t, pw.prewritten);
    }
    free(pw.prewritten);
    if (e != TKV_OK) {
        free(idx);
        return e;
    }
    /* Committed. The secondaries' locks now only wait to be turned into
     * writes; one left behind is committed by its next reader. */
    if (n > 1) {
        backoff_init(&bo, rcache_config(t->cache));
        if (by_region(t, &bo, idx + 1, n - 1, commit_group, &cs) != TKV_OK)
            tkv_logf(TKV_LOG_WARN, "txn",
                     "txn %llu committed, but some secondary keys are still locked (readers "
                     "will commit them): %s",
                     (unsigned long long)t->start_ts, tkv_last_error());
    }
    free(idx);
    if (commit_ts != NULL)
        *commit_ts = cs.commit_ts;
    return TKV_OK;
}
