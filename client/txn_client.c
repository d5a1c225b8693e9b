/*
 * A transaction's buffer and its reads (txn_client.h): begin, put, delete,
 * get and scan at start_ts, locks met on the way resolved.
 */
#include <stdlib.h>
#include <string.h>

#include "client/lock_resolver.h"
#include "client/region_send.h"
#include "client/txn_impl.h"
#include "common/pb.h"

tkv_err_t txnc_begin(rcache_t *c, txnc_t **out)
{
    *out = NULL;
    uint64_t ts = 0;
    tkv_err_t e = rcache_tso(c, &ts);
    if (e != TKV_OK)
        return e;
    txnc_t *t = xcalloc(1, sizeof(*t));
    t->cache = c;
    t->lock_cfg = *rcache_config(c);
    t->lock_cfg.max_attempts = t->lock_cfg.lock_wait_retries + 1;
    t->start_ts = ts;
    *out = t;
    return TKV_OK;
}

uint64_t txnc_start_ts(const txnc_t *t)
{
    return t->start_ts;
}

void txnc_free(txnc_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_writes; i++) {
        buf_free(&t->writes[i].key);
        buf_free(&t->writes[i].value);
    }
    free(t->writes);
    free(t);
}

size_t txnc_n_writes(const txnc_t *t)
{
    return t->n_writes;
}

/* The first index whose key is >= key. */
static size_t lower_bound(const txnc_t *t, tkv_slice_t key)
{
    size_t lo = 0, hi = t->n_writes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_compare(buf_slice(&t->writes[mid].key), key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

long txn_find_write(const txnc_t *t, tkv_slice_t key)
{
    size_t i = lower_bound(t, key);
    if (i < t->n_writes && slice_equal(buf_slice(&t->writes[i].key), key))
        return (long)i;
    return -1;
}

static void buffer(txnc_t *t, tkv_slice_t key, tkv_slice_t value, Kvrpcpb__Op op)
{
    size_t i = lower_bound(t, key);
    if (i == t->n_writes || !slice_equal(buf_slice(&t->writes[i].key), key)) {
        if (t->n_writes == t->cap_writes) {
            t->cap_writes = t->cap_writes ? 2 * t->cap_writes : 8;
            t->writes = xrealloc(t->writes, t->cap_writes * sizeof(*t->writes));
        }
        memmove(&t->writes[i + 1], &t->writes[i], (t->n_writes - i) * sizeof(*t->writes));
        t->n_writes++;
        buf_init(&t->writes[i].key);
        buf_init(&t->writes[i].value);
        buf_set(&t->writes[i].key, key.data, key.len);
    }
    buf_set(&t->writes[i].value, value.data, value.len);
    t->writes[i].op = op;
}

void txnc_put(txnc_t *t, tkv_slice_t key, tkv_slice_t value)
{
    buffer(t, key, value, KVRPCPB__OP__OP_PUT);
}

void txnc_delete(txnc_t *t, tkv_slice_t key)
{
    buffer(t, key, slice_of(NULL, 0), KVRPCPB__OP__OP_DEL);
}

int txn_region_holds(const rcache_loc_t *loc, tkv_slice_t key)
{
    const Metapb__Region *r = loc->region;
    tkv_slice_t start = slice_of(r->start_key.data, r->start_key.len);
    tkv_slice_t end = slice_of(r->end_key.data, r->end_key.len);
    return slice_compare(start, key) <= 0 && (end.len == 0 || slice_compare(key, end) < 0);
}

tkv_err_t txn_handle_lock(txnc_t *t, backoff_t *bo, backoff_t *lock_bo,
                          const Kvrpcpb__LockInfo *lock)
{
    tkv_err_t e = lockr_resolve(t->cache, bo, lock);
    if (e == TKV_ERR_BUSY)
        return backoff_wait(lock_bo, tkv_last_error()) == TKV_OK ? TKV_OK : TKV_ERR_BUSY;
    if (e != TKV_OK)
        return e;
    /* Resolved: counted too, so a store that keeps answering "locked"
     * cannot keep us here. */
    return backoff_retry(lock_bo, "locks keep coming back") == TKV_OK ? TKV_OK : TKV_ERR_BUSY;
}

/* A key error of a read that is not a lock. */
static tkv_err_t read_error(const Kvrpcpb__KeyError *ke)
{
    return tkv_errorf(TKV_ERR_IO, "read failed: %s",
                      ke->abort[0]       ? ke->abort
                      : ke->retryable[0] ? ke->retryable
                                         : "key error");
}

tkv_err_t txnc_get(txnc_t *t, tkv_slice_t key, tkv_buf_t *value)
{
    long w = txn_find_write(t, key);
    if (w >= 0) {
        if (t->writes[w].op == KVRPCPB__OP__OP_DEL)
            return tkv_errorf(TKV_ERR_NOT_FOUND, "key not found (deleted in this transaction)");
        buf_set(value, t->writes[w].value.data, t->writes[w].value.len);
        return TKV_OK;
    }
    backoff_t bo, lock_bo;
    backoff_init(&bo, rcache_config(t->cache));
    backoff_init(&lock_bo, &t->lock_cfg);
    for (;;) {
        Kvrpcpb__GetRequest req = KVRPCPB__GET_REQUEST__INIT;
        req.key.data = (uint8_t *)key.data;
        req.key.len = key.len;
        req.version = t->start_ts;
        Kvrpcpb__GetResponse *resp = NULL;
        tkv_err_t e =
            rcache_call(t->cache, &bo, key, "KvGet", &req.base, (ProtobufCMessage **)&resp, NULL);
        if (e != TKV_OK)
            return e;
        if (resp->error != NULL && resp->error->locked != NULL) {
            e = txn_handle_lock(t, &bo, &lock_bo, resp->error->locked);
            pb_free(resp);
            if (e != TKV_OK)
                return e;
            continue;
        }
        if (resp->error != NULL)
            e = read_error(resp->error);
        else if (resp->not_found)
            e = tkv_errorf(TKV_ERR_NOT_FOUND, "key not found");
        else
            buf_set(value, resp->value.data, resp->value.len);
        pb_free(resp);
        return e;
    }
}

/* Up to `limit` committed pairs from `start` at start_ts, across regions,
 * into *got; *exhausted tells whether the key space ended before limit. */
static tkv_err_t scan_store(txnc_t *t, tkv_slice_t start, uint32_t limit, kv_list_t *got,
                            int *exhausted)
{
    backoff_t bo, lock_bo;
    backoff_init(&bo, rcache_config(t->cache));
    backoff_init(&lock_bo, &t->lock_cfg);
    tkv_buf_t from = TKV_BUF_INIT;
    buf_set(&from, start.data, start.len);
    tkv_err_t e = TKV_OK;
    *exhausted = 0;
    while (e == TKV_OK && got->n < limit && !*exhausted) {
        Kvrpcpb__ScanRequest req = KVRPCPB__SCAN_REQUEST__INIT;
        req.start_key.data = from.data;
        req.start_key.len = from.len;
        req.limit = limit - (uint32_t)got->n;
        req.version = t->start_ts;
        Kvrpcpb__ScanResponse *resp = NULL;
        rcache_loc_t loc = { NULL, 0, 0 };
        e = rcache_call(t->cache, &bo, buf_slice(&from), "KvScan", &req.base,
                        (ProtobufCMessage **)&resp, &loc);
        if (e != TKV_OK)
            break;
        tkv_slice_t rend = slice_of(loc.region->end_key.data, loc.region->end_key.len);
        int stop_early = 0; /* a lock or the region's end cut this reply */
        for (size_t i = 0; i < resp->n_pairs && got->n < limit; i++) {
            const Kvrpcpb__KvPair *p = resp->pairs[i];
            tkv_slice_t k = slice_of(p->key.data, p->key.len);
            if (rend.len > 0 && slice_compare(k, rend) >= 0) {
                stop_early = 1;
                buf_set(&from, rend.data, rend.len);
                break;
            }
            if (p->error != NULL && p->error->locked != NULL) {
                /* Resolve, then scan again from the locked key. */
                e = txn_handle_lock(t, &bo, &lock_bo, p->error->locked);
                stop_early = 1;
                buf_set(&from, k.data, k.len);
                break;
            }
            if (p->error != NULL) {
                e = read_error(p->error);
                break;
            }
            kv_list_push(got, k, slice_of(p->value.data, p->value.len));
        }
        if (e == TKV_OK && !stop_early && got->n < limit && resp->more && resp->n_pairs > 0) {
            /* The store cut its reply to fit a frame: go on from the
             * smallest key after its last one, in the same region. */
            const Kvrpcpb__KvPair *last = resp->pairs[resp->n_pairs - 1];
            buf_set(&from, last->key.data, last->key.len);
            buf_append_byte(&from, 0);
        } else if (e == TKV_OK && !stop_early && got->n < limit) {
            /* Fewer than asked and no more: this region is read. */
            if (rend.len == 0)
                *exhausted = 1;
            else
                buf_set(&from, rend.data, rend.len);
        }
        pb_free(resp);
        rcache_loc_free(&loc);
    }
    buf_free(&from);
    return e;
}

tkv_err_t txnc_scan(txnc_t *t, tkv_slice_t start, uint32_t limit, kv_list_t *out)
{
    /* Buffered deletes may hide stored keys: fetch that many more. */
    size_t first = lower_bound(t, start), n_del = 0;
    for (size_t i = first; i < t->n_writes; i++)
        n_del += t->writes[i].op == KVRPCPB__OP__OP_DEL;
    uint64_t want = (uint64_t)limit + n_del;
    if (want > UINT32_MAX)
        want = UINT32_MAX;
    kv_list_t got = KV_LIST_INIT;
    int exhausted = 0;
    tkv_err_t e = scan_store(t, start, (uint32_t)want, &got, &exhausted);
    if (e != TKV_OK) {
        kv_list_free(&got);
        return e;
    }
    /* Merge: the store's pairs with the buffer over them. If the store
     * returned all it was asked for, keys past its last one are unknown,
     * so buffered puts beyond it wait for a later scan. */
    int bounded = !exhausted && got.n > 0 && got.n >= want;
    tkv_slice_t bound = bounded ? buf_slice(&got.items[got.n - 1].key) : slice_of(NULL, 0);
    size_t i = 0, j = first, n = 0;
    while (n < limit && (i < got.n || j < t->n_writes)) {
        tkv_slice_t wk = j < t->n_writes ? buf_slice(&t->writes[j].key) : slice_of(NULL, 0);
        int w_ok = j < t->n_writes && (!bounded || slice_compare(wk, bound) <= 0);
        if (!w_ok && i >= got.n)
            break;
        int c = !w_ok ? -1 : i >= got.n ? 1 : slice_compare(buf_slice(&got.items[i].key), wk);
        if (c < 0) {
            kv_list_push(out, buf_slice(&got.items[i].key), buf_slice(&got.items[i].value));
            n++;
            i++;
            continue;
        }
        if (c == 0)
            i++; /* the buffer's write wins */
        if (t->writes[j].op == KVRPCPB__OP__OP_PUT) {
            kv_list_push(out, wk, buf_slice(&t->writes[j].value));
            n++;
        }
        j++;
    }
    kv_list_free(&got);
    return TKV_OK;
}
