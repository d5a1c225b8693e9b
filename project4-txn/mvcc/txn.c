/*
 * The MVCC transaction (txn.h): a write buffer over a snapshot, and the four
 * reads Percolator needs. The reads lean on the key order of mvcc_codec.h:
 * for one user key the write CF holds versions newest first, so "newest
 * version at or before ts" is one seek to mvcc_encode_key(key, ts).
 */
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "project4-txn/mvcc/txn.h"

void mvcc_txn_init(mvcc_txn_t *t, storage_reader_t *reader, uint64_t start_ts)
{
    memset(t, 0, sizeof(*t));
    t->reader = reader;
    t->start_ts = start_ts;
}

void mvcc_txn_free(mvcc_txn_t *t)
{
    for (size_t i = 0; i < t->n_mods; i++) {
        free((void *)t->mods[i].key.data);
        free((void *)t->mods[i].value.data);
    }
    free(t->mods);
    memset(t, 0, sizeof(*t));
}

void mvcc_txn_add(mvcc_txn_t *t, modify_kind_t kind, const char *cf, tkv_slice_t key,
                  tkv_slice_t value)
{
    if (t->n_mods == t->cap_mods) {
        t->cap_mods = t->cap_mods ? t->cap_mods * 2 : 8;
        t->mods = xrealloc(t->mods, t->cap_mods * sizeof(*t->mods));
    }
    storage_modify_t *m = &t->mods[t->n_mods++];
    m->kind = kind;
    m->cf = cf;
    m->key = slice_of(bytes_dup(key.data, key.len), key.len);
    if (kind == MODIFY_PUT)
        m->value = slice_of(bytes_dup(value.data, value.len), value.len);
    else
        m->value = slice_of(NULL, 0);
}

const storage_modify_t *mvcc_txn_writes(const mvcc_txn_t *t, size_t *n)
{
    *n = t->n_mods;
    return t->mods;
}

tkv_err_t mvcc_txn_write(mvcc_txn_t *t, storage_t *s, const Kvrpcpb__Context *ctx)
{
    if (t->n_mods == 0)
        return TKV_OK;
    return storage_write(s, ctx, t->mods, t->n_mods);
}

/* LAB 4A BEGIN */
/* Buffers a put or delete of enc(key) ++ desc(ts) in `cf`. */
static void add_versioned(mvcc_txn_t *t, modify_kind_t kind, const char *cf, tkv_slice_t key,
                          uint64_t ts, tkv_slice_t value)
{
    tkv_buf_t enc = TKV_BUF_INIT;
    mvcc_encode_key(&enc, key, ts);
    mvcc_txn_add(t, kind, cf, buf_slice(&enc), value);
    buf_free(&enc);
}

/* Whether `ikey` (an encoded key from CF_DEFAULT or CF_WRITE) is a version of
 * the user key whose memcomparable encoding is `prefix`. */
static int is_version_of(tkv_slice_t ikey, const tkv_buf_t *prefix)
{
    return ikey.len == prefix->len + 8 && memcmp(ikey.data, prefix->data, prefix->len) == 0;
}

/* Walks the write records of `key` from the newest at or before `from_ts`
 * towards older ones, calling `stop` on each; stops at the first record for
 * which it returns non-zero, filling *w, *commit_ts and *found. */
typedef int (*write_pred_t)(const mvcc_write_t *w, uint64_t commit_ts, const void *arg);

static tkv_err_t find_write(mvcc_txn_t *t, tkv_slice_t key, uint64_t from_ts, write_pred_t stop,
                            const void *arg, mvcc_write_t *w, uint64_t *commit_ts, int *found)
{
    tkv_buf_t prefix = TKV_BUF_INIT, seek = TKV_BUF_INIT;
    codec_encode_bytes(&prefix, key.data, key.len);
    mvcc_encode_key(&seek, key, from_ts);
    storage_iter_t *it = reader_iter_cf(t->reader, CF_WRITE);
    tkv_err_t err = TKV_OK;
    *found = 0;
    for (storage_iter_seek(it, buf_slice(&seek)); storage_iter_valid(it); storage_iter_next(it)) {
        tkv_slice_t ikey = storage_iter_key(it);
        if (!is_version_of(ikey, &prefix))
            break;
        uint64_t cts = codec_get_u64_desc(ikey.data + prefix.len);
        mvcc_write_t cur;
        err = mvcc_write_decode(storage_iter_value(it), &cur);
        if (err != TKV_OK)
            break;
        int verdict = stop(&cur, cts, arg);
        if (verdict > 0) {
            *w = cur;
            *commit_ts = cts;
            *found = 1;
            break;
        }
        if (verdict < 0)
            break;
    }
    if (err == TKV_OK)
        err = storage_iter_status(it); /* a read error is not "no such write" */
    if (err != TKV_OK)
        *found = 0;
    storage_iter_free(it);
    buf_free(&prefix);
    buf_free(&seek);
    return err;
}

/* The first record that is not a rollback decides what a reader sees. */
static int visible_pred(const mvcc_write_t *w, uint64_t commit_ts, const void *arg)
{
    (void)commit_ts;
    (void)arg;
    return w->kind != MVCC_KIND_ROLLBACK;
}

/* This txn's record; records committed before start_ts cannot be ours. */
static int own_pred(const mvcc_write_t *w, uint64_t commit_ts, const void *arg)
{
    uint64_t start_ts = *(const uint64_t *)arg;
    if (commit_ts < start_ts)
        return -1;
    return w->start_ts == start_ts;
}

static int any_pred(const mvcc_write_t *w, uint64_t commit_ts, const void *arg)
{
    (void)w;
    (void)commit_ts;
    (void)arg;
    return 1;
}
/* LAB 4A END */

void mvcc_txn_put_lock(mvcc_txn_t *t, tkv_slice_t key, const mvcc_lock_t *lock)
{
    /* LAB 4A BEGIN */
    tkv_buf_t val = TKV_BUF_INIT;
    mvcc_lock_encode(lock, &val);
    mvcc_txn_add(t, MODIFY_PUT, CF_LOCK, key, buf_slice(&val));
    buf_free(&val);
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)lock;
    LAB 4A END */
}

void mvcc_txn_delete_lock(mvcc_txn_t *t, tkv_slice_t key)
{
    /* LAB 4A BEGIN */
    mvcc_txn_add(t, MODIFY_DELETE, CF_LOCK, key, slice_of(NULL, 0));
    /* LAB 4A STUB
    (void)t;
    (void)key;
    LAB 4A END */
}

void mvcc_txn_put_value(mvcc_txn_t *t, tkv_slice_t key, tkv_slice_t value)
{
    /* LAB 4A BEGIN */
    add_versioned(t, MODIFY_PUT, CF_DEFAULT, key, t->start_ts, value);
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)value;
    LAB 4A END */
}

void mvcc_txn_delete_value(mvcc_txn_t *t, tkv_slice_t key)
{
    /* LAB 4A BEGIN */
    add_versioned(t, MODIFY_DELETE, CF_DEFAULT, key, t->start_ts, slice_of(NULL, 0));
    /* LAB 4A STUB
    (void)t;
    (void)key;
    LAB 4A END */
}

void mvcc_txn_put_write(mvcc_txn_t *t, tkv_slice_t key, uint64_t commit_ts, const mvcc_write_t *w)
{
    /* LAB 4A BEGIN */
    tkv_buf_t val = TKV_BUF_INIT;
    mvcc_write_encode(w, &val);
    add_versioned(t, MODIFY_PUT, CF_WRITE, key, commit_ts, buf_slice(&val));
    buf_free(&val);
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)commit_ts;
    (void)w;
    LAB 4A END */
}

tkv_err_t mvcc_txn_get_lock(mvcc_txn_t *t, tkv_slice_t key, mvcc_lock_t *lock, int *found)
{
    /* LAB 4A BEGIN */
    tkv_buf_t val = TKV_BUF_INIT;
    *found = 0;
    tkv_err_t err = reader_get_cf(t->reader, CF_LOCK, key, &val);
    if (err == TKV_OK) {
        err = mvcc_lock_decode(buf_slice(&val), lock);
        *found = err == TKV_OK;
    } else if (err == TKV_ERR_NOT_FOUND) {
        err = TKV_OK;
    }
    buf_free(&val);
    return err;
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)lock;
    *found = 0;
    return tkv_not_implemented("mvcc_txn_get_lock");
    LAB 4A END */
}

tkv_err_t mvcc_txn_get_value(mvcc_txn_t *t, tkv_slice_t key, tkv_buf_t *value, int *found)
{
    /* LAB 4A BEGIN */
    mvcc_write_t w;
    uint64_t cts;
    tkv_err_t err = find_write(t, key, t->start_ts, visible_pred, NULL, &w, &cts, found);
    if (err != TKV_OK || !*found)
        return err;
    *found = 0;
    if (w.kind != MVCC_KIND_PUT)
        return TKV_OK;
    tkv_buf_t enc = TKV_BUF_INIT;
    mvcc_encode_key(&enc, key, w.start_ts);
    buf_clear(value);
    err = reader_get_cf(t->reader, CF_DEFAULT, buf_slice(&enc), value);
    buf_free(&enc);
    if (err == TKV_ERR_NOT_FOUND)
        return tkv_errorf(TKV_ERR_CORRUPT,
                          "write record at ts %llu points to missing value at %llu",
                          (unsigned long long)cts, (unsigned long long)w.start_ts);
    *found = err == TKV_OK;
    return err;
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)value;
    *found = 0;
    return tkv_not_implemented("mvcc_txn_get_value");
    LAB 4A END */
}

tkv_err_t mvcc_txn_current_write(mvcc_txn_t *t, tkv_slice_t key, mvcc_write_t *w,
                                 uint64_t *commit_ts, int *found)
{
    /* LAB 4A BEGIN */
    return find_write(t, key, MVCC_TS_MAX, own_pred, &t->start_ts, w, commit_ts, found);
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)w;
    (void)commit_ts;
    *found = 0;
    return tkv_not_implemented("mvcc_txn_current_write");
    LAB 4A END */
}

tkv_err_t mvcc_txn_most_recent_write(mvcc_txn_t *t, tkv_slice_t key, mvcc_write_t *w,
                                     uint64_t *commit_ts, int *found)
{
    /* LAB 4A BEGIN */
    return find_write(t, key, MVCC_TS_MAX, any_pred, NULL, w, commit_ts, found);
    /* LAB 4A STUB
    (void)t;
    (void)key;
    (void)w;
    (void)commit_ts;
    *found = 0;
    return tkv_not_implemented("mvcc_txn_most_recent_write");
    LAB 4A END */
}
