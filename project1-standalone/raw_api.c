/*
 * The raw API handlers (raw_api.h). Each turns a request into storage calls
 * and the result into a response; none of them knows whether the storage is
 * a local leveldb or a Raft group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project1-standalone/raw_api.h"

const char *raw_cf(const char *cf)
{
    return (cf == NULL || *cf == '\0') ? CF_DEFAULT : cf;
}

void raw_set_error(char **field, tkv_err_t code)
{
    char msg[1200];
    snprintf(msg, sizeof(msg), "%s: %s", tkv_strerror(code), tkv_last_error());
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(msg);
}

tkv_err_t raw_get(storage_t *s, const Kvrpcpb__RawGetRequest *req, Kvrpcpb__RawGetResponse *resp)
{
    /* LAB 1 BEGIN */
    storage_reader_t *r = NULL;
    tkv_err_t e = storage_reader(s, req->context, &r);
    if (e != TKV_OK) {
        raw_set_error(&resp->error, e);
        return TKV_OK;
    }
    tkv_buf_t val = TKV_BUF_INIT;
    e = reader_get_cf(r, raw_cf(req->cf), slice_of(req->key.data, req->key.len), &val);
    reader_close(r);
    if (e == TKV_ERR_NOT_FOUND) {
        resp->not_found = 1;
    } else if (e != TKV_OK) {
        raw_set_error(&resp->error, e);
    } else {
        /* An empty value is still a value: keep a non-NULL pointer so the
         * response can be told apart from "not set". */
        resp->value.len = val.len;
        resp->value.data = val.len ? buf_take(&val) : xmalloc(1);
    }
    buf_free(&val);
    return TKV_OK;
    /* LAB 1 STUB
    (void)s;
    (void)req;
    (void)resp;
    return tkv_not_implemented("raw_get");
    LAB 1 END */
}

tkv_err_t raw_put(storage_t *s, const Kvrpcpb__RawPutRequest *req, Kvrpcpb__RawPutResponse *resp)
{
    /* LAB 1 BEGIN */
    storage_modify_t m = { MODIFY_PUT, raw_cf(req->cf), slice_of(req->key.data, req->key.len),
                           slice_of(req->value.data, req->value.len) };
    tkv_err_t e = storage_write(s, req->context, &m, 1);
    if (e != TKV_OK)
        raw_set_error(&resp->error, e);
    return TKV_OK;
    /* LAB 1 STUB
    (void)s;
    (void)req;
    (void)resp;
    return tkv_not_implemented("raw_put");
    LAB 1 END */
}

tkv_err_t raw_delete(storage_t *s, const Kvrpcpb__RawDeleteRequest *req,
                     Kvrpcpb__RawDeleteResponse *resp)
{
    /* LAB 1 BEGIN */
    storage_modify_t m = {
        MODIFY_DELETE, raw_cf(req->cf), slice_of(req->key.data, req->key.len), { NULL, 0 }
    };
    tkv_err_t e = storage_write(s, req->context, &m, 1);
    if (e != TKV_OK)
        raw_set_error(&resp->error, e);
    return TKV_OK;
    /* LAB 1 STUB
    (void)s;
    (void)req;
    (void)resp;
    return tkv_not_implemented("raw_delete");
    LAB 1 END */
}

/* LAB 1 BEGIN */
/* The bytes of a varint holding v. */
static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* The encoded size of a KvPair{key, value} inside a RawScanResponse: its
 * fields (tag, length, bytes each), then its own tag and length. */
static size_t pair_bytes(size_t klen, size_t vlen)
{
    size_t body = 1 + varint_len(klen) + klen + 1 + varint_len(vlen) + vlen;
    return 1 + varint_len(body) + body;
}

static Kvrpcpb__KvPair *kv_pair_new(tkv_slice_t key, tkv_slice_t value)
{
    Kvrpcpb__KvPair *p = xmalloc(sizeof(*p));
    kvrpcpb__kv_pair__init(p);
    p->key.len = key.len;
    p->key.data = key.len ? bytes_dup(key.data, key.len) : xmalloc(1);
    p->value.len = value.len;
    p->value.data = value.len ? bytes_dup(value.data, value.len) : xmalloc(1);
    return p;
}
/* LAB 1 END */

tkv_err_t raw_scan(storage_t *s, const Kvrpcpb__RawScanRequest *req, Kvrpcpb__RawScanResponse *resp)
{
    /* LAB 1 BEGIN */
    const char *cf = raw_cf(req->cf);
    if (!eng_cf_valid(cf)) {
        raw_set_error(&resp->error, tkv_errorf(TKV_ERR_INVALID, "unknown column family '%s'", cf));
        return TKV_OK;
    }
    if (req->limit == 0)
        return TKV_OK;
    storage_reader_t *r = NULL;
    tkv_err_t e = storage_reader(s, req->context, &r);
    if (e != TKV_OK) {
        raw_set_error(&resp->error, e);
        return TKV_OK;
    }
    storage_iter_t *it = reader_iter_cf(r, cf);
    size_t cap = 0, bytes = 0;
    for (storage_iter_seek(it, slice_of(req->start_key.data, req->start_key.len));
         storage_iter_valid(it) && resp->n_kvs < req->limit; storage_iter_next(it)) {
        /* What the pair adds to the response: its encoding, a tag and a length. */
        size_t add = pair_bytes(storage_iter_key(it).len, storage_iter_value(it).len);
        if (resp->n_kvs > 0 && bytes + add > RAW_SCAN_MAX_BYTES) {
            resp->more = 1; /* the client goes on after our last key */
            break;
        }
        bytes += add;
        if (resp->n_kvs == cap) {
            cap = cap ? cap * 2 : 8;
            resp->kvs = xrealloc(resp->kvs, cap * sizeof(*resp->kvs));
        }
        resp->kvs[resp->n_kvs++] = kv_pair_new(storage_iter_key(it), storage_iter_value(it));
    }
    /* The loop also ends on a read error: then the pairs are not all there were. */
    e = storage_iter_status(it);
    storage_iter_free(it);
    reader_close(r);
    if (e != TKV_OK) {
        for (size_t i = 0; i < resp->n_kvs; i++)
            kvrpcpb__kv_pair__free_unpacked(resp->kvs[i], NULL);
        free(resp->kvs);
        resp->kvs = NULL;
        resp->n_kvs = 0;
        raw_set_error(&resp->error, e);
    }
    return TKV_OK;
    /* LAB 1 STUB
    (void)s;
    (void)req;
    (void)resp;
    return tkv_not_implemented("raw_scan");
    LAB 1 END */
}
