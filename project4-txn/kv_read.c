/*
 * Snapshot reads: KvGet (project 4B) and KvScan (project 4C). A read at ts
 * sees every write committed at or before ts and nothing after. A lock from a
 * txn that started at or before ts is a txn that may yet commit before ts, so
 * the read cannot answer and reports the lock instead; the client resolves it
 * (kv_resolve.c) and retries. Reads take no latches: they write nothing, and
 * the snapshot keeps them consistent.
 */
#include <stdlib.h>

#include "project4-txn/kv_txn.h"
#include "project4-txn/mvcc/scanner.h"
#include "project4-txn/txn_cmd.h"
#include "project4-txn/txn_resp.h"

tkv_err_t kv_get(storage_t *s, latches_t *l, const Kvrpcpb__GetRequest *req,
                 Kvrpcpb__GetResponse *resp)
{
    /* LAB 4B BEGIN */
    (void)l;
    tkv_slice_t key = txn_slice(req->key);
    txn_cmd_t c;
    mvcc_lock_t lock;
    mvcc_lock_init(&lock);
    tkv_buf_t value = TKV_BUF_INIT;
    int found = 0;
    tkv_err_t err = txn_cmd_begin(&c, s, NULL, req->context, req->version, NULL, 0);
    if (err == TKV_OK)
        err = mvcc_txn_get_lock(&c.txn, key, &lock, &found);
    if (err == TKV_OK && found && lock.start_ts <= req->version) {
        resp->error = txn_error_locked(key, &lock);
    } else if (err == TKV_OK) {
        err = mvcc_txn_get_value(&c.txn, key, &value, &found);
        if (err == TKV_OK && found)
            resp->value = txn_bytes(buf_slice(&value));
        else if (err == TKV_OK)
            resp->not_found = 1;
    }
    if (err != TKV_OK)
        resp->region_error = txn_region_error(err);
    txn_cmd_end(&c);
    mvcc_lock_free(&lock);
    buf_free(&value);
    return TKV_OK;
    /* LAB 4B STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_get");
    LAB 4B END */
}

tkv_err_t kv_scan(storage_t *s, latches_t *l, const Kvrpcpb__ScanRequest *req,
                  Kvrpcpb__ScanResponse *resp)
{
    /* LAB 4C BEGIN */
    (void)l;
    txn_cmd_t c;
    tkv_err_t err = txn_cmd_begin(&c, s, NULL, req->context, req->version, NULL, 0);
    if (err == TKV_OK && req->limit > 0) {
        mvcc_scanner_t *sc = mvcc_scanner_new(&c.txn, txn_slice(req->start_key));
        tkv_buf_t key = TKV_BUF_INIT, value = TKV_BUF_INIT;
        mvcc_lock_t lock;
        mvcc_lock_init(&lock);
        size_t bytes = 0;
        while (resp->n_pairs < req->limit) {
            mvcc_scan_kind_t kind;
            err = mvcc_scanner_next(sc, &key, &value, &lock, &kind);
            if (err != TKV_OK || kind == MVCC_SCAN_DONE)
                break;
            if (kind == MVCC_SCAN_VALUE) {
                tkv_slice_t v = buf_slice(&value);
                txn_push_pair(&resp->pairs, &resp->n_pairs, buf_slice(&key), &v, NULL);
            } else {
                txn_push_pair(&resp->pairs, &resp->n_pairs, buf_slice(&key), NULL,
                              txn_error_locked(buf_slice(&key), &lock));
            }
            /* The response must fit in a frame: past the limit, this pair
             * goes and the client scans on from the one before. */
            size_t add = txn_element_bytes(&resp->pairs[resp->n_pairs - 1]->base);
            if (resp->n_pairs > 1 && bytes + add > TXN_RESPONSE_MAX_BYTES) {
                kvrpcpb__kv_pair__free_unpacked(resp->pairs[--resp->n_pairs], NULL);
                resp->more = 1;
                break;
            }
            bytes += add;
        }
        mvcc_lock_free(&lock);
        buf_free(&key);
        buf_free(&value);
        mvcc_scanner_free(sc);
    }
    if (err != TKV_OK) {
        /* An error comes instead of the pairs, never with a short list. */
        for (size_t i = 0; i < resp->n_pairs; i++)
            kvrpcpb__kv_pair__free_unpacked(resp->pairs[i], NULL);
        free(resp->pairs);
        resp->pairs = NULL;
        resp->n_pairs = 0;
        resp->region_error = txn_region_error(err);
    }
    txn_cmd_end(&c);
    return TKV_OK;
    /* LAB 4C STUB
    (void)s;
    (void)l;
    (void)req;
    (void)resp;
    return tkv_not_implemented("kv_scan");
    LAB 4C END */
}
