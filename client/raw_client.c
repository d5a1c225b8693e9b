/*
 * The raw client (raw_client.h): one routed call per operation, and the
 * scan that walks regions.
 */
#include <string.h>

#include "client/raw_client.h"
#include "client/region_send.h"
#include "common/pb.h"
#include "proto/kvrpcpb.pb-c.h"

static ProtobufCBinaryData bin(tkv_slice_t s)
{
    ProtobufCBinaryData b = { s.len, (uint8_t *)s.data };
    return b;
}

static char *cf_of(const char *cf)
{
    return (char *)(cf ? cf : "");
}

/* The text a store puts in a response's `error` field. */
static tkv_err_t storage_error(const char *error)
{
    if (error == NULL || error[0] == '\0')
        return TKV_OK;
    return tkv_errorf(TKV_ERR_IO, "server error: %s", error);
}

static tkv_err_t call(rcache_t *c, tkv_slice_t key, const char *method, ProtobufCMessage *req,
                      ProtobufCMessage **resp, rcache_loc_t *served)
{
    backoff_t bo;
    backoff_init(&bo, rcache_config(c));
    return rcache_call(c, &bo, key, method, req, resp, served);
}

tkv_err_t rawc_put(rcache_t *c, const char *cf, tkv_slice_t key, tkv_slice_t value)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key = bin(key);
    req.value = bin(value);
    req.cf = cf_of(cf);
    Kvrpcpb__RawPutResponse *resp = NULL;
    tkv_err_t e = call(c, key, "RawPut", &req.base, (ProtobufCMessage **)&resp, NULL);
    if (e == TKV_OK)
        e = storage_error(resp->error);
    pb_free(resp);
    return e;
}

tkv_err_t rawc_get(rcache_t *c, const char *cf, tkv_slice_t key, tkv_buf_t *value)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key = bin(key);
    req.cf = cf_of(cf);
    Kvrpcpb__RawGetResponse *resp = NULL;
    tkv_err_t e = call(c, key, "RawGet", &req.base, (ProtobufCMessage **)&resp, NULL);
    if (e == TKV_OK)
        e = storage_error(resp->error);
    if (e == TKV_OK && resp->not_found)
        e = tkv_errorf(TKV_ERR_NOT_FOUND, "key not found");
    if (e == TKV_OK)
        buf_set(value, resp->value.data, resp->value.len);
    pb_free(resp);
    return e;
}

tkv_err_t rawc_delete(rcache_t *c, const char *cf, tkv_slice_t key)
{
    Kvrpcpb__RawDeleteRequest req = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    req.key = bin(key);
    req.cf = cf_of(cf);
    Kvrpcpb__RawDeleteResponse *resp = NULL;
    tkv_err_t e = call(c, key, "RawDelete", &req.base, (ProtobufCMessage **)&resp, NULL);
    if (e == TKV_OK)
        e = storage_error(resp->error);
    pb_free(resp);
    return e;
}

tkv_err_t rawc_scan(rcache_t *c, const char *cf, tkv_slice_t start, tkv_slice_t end, uint32_t limit,
                    kv_list_t *out)
{
    kv_list_t got = KV_LIST_INIT;
    tkv_buf_t from = TKV_BUF_INIT;
    buf_set(&from, start.data, start.len);
    tkv_err_t e = TKV_OK;
    int done = 0;
    while (e == TKV_OK && !done && got.n < limit) {
        Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
        req.start_key.data = from.data;
        req.start_key.len = from.len;
        req.limit = limit - (uint32_t)got.n;
        req.cf = cf_of(cf);
        Kvrpcpb__RawScanResponse *resp = NULL;
        rcache_loc_t loc = { NULL, 0, 0 };
        e = call(c, buf_slice(&from), "RawScan", &req.base, (ProtobufCMessage **)&resp, &loc);
        if (e == TKV_OK)
            e = storage_error(resp->error);
        if (e != TKV_OK) {
            pb_free(resp);
            rcache_loc_free(&loc);
            break;
        }
        tkv_slice_t rend = slice_of(loc.region->end_key.data, loc.region->end_key.len);
        int clipped = 0;
        for (size_t i = 0; i < resp->n_kvs && got.n < limit; i++) {
            tkv_slice_t k = slice_of(resp->kvs[i]->key.data, resp->kvs[i]->key.len);
            if (end.len > 0 && slice_compare(k, end) >= 0) {
                done = 1;
                break;
            }
            if (rend.len > 0 && slice_compare(k, rend) >= 0) {
                clipped = 1; /* past the region: the next region answers for it */
                break;
            }
            kv_list_push(&got, k, slice_of(resp->kvs[i]->value.data, resp->kvs[i]->value.len));
        }
        if (!done && !clipped && resp->more && resp->n_kvs > 0) {
            /* The store cut its reply short: the smallest key after the last. */
            const Kvrpcpb__KvPair *last = resp->kvs[resp->n_kvs - 1];
            buf_set(&from, last->key.data, last->key.len);
            buf_append_byte(&from, 0);
        } else if (!done) {
            /* This region is read: on to the next, unless it was the last
             * or the next starts at or past the end asked for. */
            if (rend.len == 0 || (end.len > 0 && slice_compare(rend, end) >= 0))
                done = 1;
            else
                buf_set(&from, rend.data, rend.len);
        }
        pb_free(resp);
        rcache_loc_free(&loc);
    }
    buf_free(&from);
    if (e == TKV_OK) {
        for (size_t i = 0; i < got.n; i++)
            kv_list_push(out, buf_slice(&got.items[i].key), buf_slice(&got.items[i].value));
    }
    kv_list_free(&got);
    return e;
}
