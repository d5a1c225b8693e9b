/*
 * Response plumbing for the Kv* commands (txn_resp.h): every byte a response
 * holds is malloc'd here, so protobuf-c's free_unpacked releases it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project4-txn/txn_resp.h"

ProtobufCBinaryData txn_bytes(tkv_slice_t s)
{
    ProtobufCBinaryData b;
    b.len = s.len;
    b.data = bytes_dup(s.data, s.len);
    return b;
}

tkv_slice_t txn_slice(ProtobufCBinaryData b)
{
    return slice_of(b.data, b.len);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return xstrdup(fmt);
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

Errorpb__Error *txn_region_error(tkv_err_t err)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    const char *last = tkv_last_error();
    size_t n = strlen(tkv_strerror(err)) + strlen(last) + 3;
    e->message = xmalloc(n);
    snprintf(e->message, n, "%s: %s", tkv_strerror(err), last);
    return e;
}

static Kvrpcpb__KeyError *new_key_error(void)
{
    Kvrpcpb__KeyError *e = xmalloc(sizeof(*e));
    kvrpcpb__key_error__init(e);
    return e;
}

Kvrpcpb__KeyError *txn_error_locked(tkv_slice_t key, const mvcc_lock_t *lock)
{
    Kvrpcpb__KeyError *e = new_key_error();
    e->locked = xmalloc(sizeof(*e->locked));
    kvrpcpb__lock_info__init(e->locked);
    e->locked->primary_lock = txn_bytes(buf_slice(&lock->primary));
    e->locked->lock_version = lock->start_ts;
    e->locked->key = txn_bytes(key);
    e->locked->lock_ttl = lock->ttl;
    return e;
}

Kvrpcpb__KeyError *txn_error_conflict(tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                                      uint64_t conflict_ts)
{
    Kvrpcpb__KeyError *e = new_key_error();
    e->conflict = xmalloc(sizeof(*e->conflict));
    kvrpcpb__write_conflict__init(e->conflict);
    e->conflict->start_ts = start_ts;
    e->conflict->conflict_ts = conflict_ts;
    e->conflict->key = txn_bytes(key);
    e->conflict->primary = txn_bytes(primary);
    return e;
}

Kvrpcpb__KeyError *txn_error_retryable(const char *fmt, ...)
{
    Kvrpcpb__KeyError *e = new_key_error();
    va_list ap;
    va_start(ap, fmt);
    e->retryable = vformat(fmt, ap);
    va_end(ap);
    return e;
}

Kvrpcpb__KeyError *txn_error_abort(const char *fmt, ...)
{
    Kvrpcpb__KeyError *e = new_key_error();
    va_list ap;
    va_start(ap, fmt);
    e->abort = vformat(fmt, ap);
    va_end(ap);
    return e;
}

size_t txn_element_bytes(const ProtobufCMessage *m)
{
    size_t body = protobuf_c_message_get_packed_size(m), len = 1;
    for (size_t v = body; v >= 0x80; v >>= 7)
        len++;
    return 1 + len + body; /* a field number below 16: a one-byte tag */
}

void txn_push_key_error(Kvrpcpb__KeyError ***arr, size_t *n, Kvrpcpb__KeyError *e)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[(*n)++] = e;
}

void txn_push_pair(Kvrpcpb__KvPair ***arr, size_t *n, tkv_slice_t key, const tkv_slice_t *value,
                   Kvrpcpb__KeyError *error)
{
    Kvrpcpb__KvPair *p = xmalloc(sizeof(*p));
    kvrpcpb__kv_pair__init(p);
    p->key = txn_bytes(key);
    if (value != NULL)
        p->value = txn_bytes(*value);
    p->error = error;
    *arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[(*n)++] = p;
}
