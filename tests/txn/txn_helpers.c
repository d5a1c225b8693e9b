/*
 * Test helpers for project 4 (txn_helpers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project1-standalone/standalone_storage.h"
#include "tests/harness/expect.h"
#include "tests/txn/txn_helpers.h"

txn_fixture_t *txn_fixture_new(void)
{
    txn_fixture_t *f = xcalloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    expect_err(standalone_storage_new(f->dir, &f->s), TKV_OK,
               "standalone_storage_new(f->dir, &f->s)");
    expect_err(storage_start(f->s), TKV_OK, "storage_start(f->s)");
    f->l = latches_new();
    return f;
}

void txn_fixture_free(txn_fixture_t *f)
{
    if (f == NULL)
        return;
    if (f->s != NULL) {
        storage_stop(f->s);
        storage_free(f->s);
    }
    latches_free(f->l);
    tkv_rmdir(f->dir);
    free(f);
}

int txn_setup(void **state)
{
    *state = txn_fixture_new();
    return 0;
}

int txn_teardown(void **state)
{
    txn_fixture_free(*state);
    *state = NULL;
    return 0;
}

tkv_slice_t K(uint8_t b)
{
    static uint8_t bytes[256];
    static int ready;
    if (!ready) {
        for (int i = 0; i < 256; i++)
            bytes[i] = (uint8_t)i;
        ready = 1;
    }
    return slice_of(&bytes[b], 1);
}

tkv_slice_t S(const char *s)
{
    return slice_of_str(s);
}

static void put_versioned(storage_t *s, const char *cf, tkv_slice_t key, uint64_t ts,
                          tkv_slice_t value)
{
    tkv_buf_t enc = TKV_BUF_INIT;
    mvcc_encode_key(&enc, key, ts);
    expect_err(storage_put(s, cf, buf_slice(&enc), value), TKV_OK,
               "storage_put(s, cf, buf_slice(&enc), value)");
    buf_free(&enc);
}

void th_put_value(storage_t *s, tkv_slice_t key, uint64_t start_ts, tkv_slice_t value)
{
    put_versioned(s, CF_DEFAULT, key, start_ts, value);
}

void th_put_lock(storage_t *s, tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                 uint64_t ttl, mvcc_kind_t kind)
{
    mvcc_lock_t l;
    mvcc_lock_init(&l);
    l.kind = kind;
    l.start_ts = start_ts;
    l.ttl = ttl;
    buf_set(&l.primary, primary.data, primary.len);
    tkv_buf_t val = TKV_BUF_INIT;
    mvcc_lock_encode(&l, &val);
    expect_err(storage_put(s, CF_LOCK, key, buf_slice(&val)), TKV_OK,
               "storage_put(s, CF_LOCK, key, buf_slice(&val))");
    buf_free(&val);
    mvcc_lock_free(&l);
}

void th_put_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts, uint64_t start_ts,
                  mvcc_kind_t kind)
{
    mvcc_write_t w = { kind, start_ts };
    tkv_buf_t val = TKV_BUF_INIT;
    mvcc_write_encode(&w, &val);
    put_versioned(s, CF_WRITE, key, commit_ts, buf_slice(&val));
    buf_free(&val);
}

void th_put_raw(storage_t *s, const char *cf, tkv_slice_t key, tkv_slice_t value)
{
    expect_err(storage_put(s, cf, key, value), TKV_OK, "storage_put(s, cf, key, value)");
}

size_t th_count(storage_t *s, const char *cf)
{
    storage_reader_t *r = NULL;
    expect_err(storage_reader(s, NULL, &r), TKV_OK, "storage_reader(s, NULL, &r)");
    storage_iter_t *it = reader_iter_cf(r, cf);
    size_t n = 0;
    for (storage_iter_seek(it, slice_of(NULL, 0)); storage_iter_valid(it); storage_iter_next(it))
        n++;
    storage_iter_free(it);
    reader_close(r);
    return n;
}

void th_assert_lens(storage_t *s, size_t n_default, size_t n_lock, size_t n_write)
{
    expect_u64(th_count(s, CF_DEFAULT), n_default, "entries in the default CF (values)");
    expect_u64(th_count(s, CF_LOCK), n_lock, "entries in the lock CF (locks)");
    expect_u64(th_count(s, CF_WRITE), n_write, "entries in the write CF (commits and rollbacks)");
}

/* A key as the tests write them: printable bytes as is, others in hex. */
static const char *key_str(tkv_slice_t k)
{
    static char buf[80];
    size_t n = 0;
    for (size_t i = 0; i < k.len && n + 5 < sizeof(buf); i++) {
        unsigned char c = ((const unsigned char *)k.data)[i];
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, (c >= 0x21 && c < 0x7f) ? "%c" : "\\x%02x",
                              c);
    }
    buf[n] = '\0';
    return buf;
}

static const char *kind_name(mvcc_kind_t k)
{
    switch (k) {
    case MVCC_KIND_PUT:
        return "put";
    case MVCC_KIND_DELETE:
        return "delete";
    case MVCC_KIND_ROLLBACK:
        return "rollback";
    default:
        return "an unknown kind";
    }
}

/* Reads a raw entry; 1 if present. */
static int get_raw(storage_t *s, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    storage_reader_t *r = NULL;
    expect_err(storage_reader(s, NULL, &r), TKV_OK, "storage_reader(s, NULL, &r)");
    tkv_err_t err = reader_get_cf(r, cf, key, val);
    reader_close(r);
    if (err == TKV_ERR_NOT_FOUND)
        return 0;
    expect_err(err, TKV_OK, "reading key %s from the %s CF", key_str(key), cf);
    return 1;
}

static int get_versioned(storage_t *s, const char *cf, tkv_slice_t key, uint64_t ts, tkv_buf_t *val)
{
    tkv_buf_t enc = TKV_BUF_INIT;
    mvcc_encode_key(&enc, key, ts);
    int found = get_raw(s, cf, buf_slice(&enc), val);
    buf_free(&enc);
    return found;
}

void th_assert_value(storage_t *s, tkv_slice_t key, uint64_t start_ts, tkv_slice_t value)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(get_versioned(s, CF_DEFAULT, key, start_ts, &val),
                "key %s must have a value at start ts %llu in the default CF", key_str(key),
                (unsigned long long)start_ts);
    expect_bytes(val.data ? (const void *)val.data : "", val.len,
                 value.data ? (const void *)value.data : "", value.len,
                 "the value of key %s at start ts %llu", key_str(key),
                 (unsigned long long)start_ts);
    buf_free(&val);
}

void th_assert_no_value(storage_t *s, tkv_slice_t key, uint64_t start_ts)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(!get_versioned(s, CF_DEFAULT, key, start_ts, &val),
                "key %s must have no value at start ts %llu", key_str(key),
                (unsigned long long)start_ts);
    buf_free(&val);
}

void th_assert_lock(storage_t *s, tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                    uint64_t ttl, mvcc_kind_t kind)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(get_raw(s, CF_LOCK, key, &val), "key %s must be locked (by the txn at %llu)",
                key_str(key), (unsigned long long)start_ts);
    mvcc_lock_t l;
    mvcc_lock_init(&l);
    expect_err(mvcc_lock_decode(buf_slice(&val), &l), TKV_OK, "decoding the lock of key %s",
               key_str(key));
    expect_u64(l.start_ts, start_ts, "the start ts of the lock on key %s", key_str(key));
    expect_u64(l.ttl, ttl, "the TTL of the lock on key %s", key_str(key));
    expect_true(l.kind == kind, "the lock on key %s must be a %s lock, not %s", key_str(key),
                kind_name(kind), kind_name(l.kind));
    expect_bytes(l.primary.data ? (const void *)l.primary.data : "", l.primary.len,
                 primary.data ? (const void *)primary.data : "", primary.len,
                 "the primary of the lock on key %s", key_str(key));
    mvcc_lock_free(&l);
    buf_free(&val);
}

void th_assert_no_lock(storage_t *s, tkv_slice_t key)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(!get_raw(s, CF_LOCK, key, &val), "key %s must not be locked", key_str(key));
    buf_free(&val);
}

void th_assert_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts, uint64_t start_ts,
                     mvcc_kind_t kind)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(get_versioned(s, CF_WRITE, key, commit_ts, &val),
                "key %s must have a write record (%s) at commit ts %llu", key_str(key),
                kind_name(kind), (unsigned long long)commit_ts);
    mvcc_write_t w;
    expect_err(mvcc_write_decode(buf_slice(&val), &w), TKV_OK, "decoding the write of key %s",
               key_str(key));
    expect_u64(w.start_ts, start_ts, "the start ts in the write of key %s at commit ts %llu",
               key_str(key), (unsigned long long)commit_ts);
    expect_true(w.kind == kind, "the write of key %s at %llu must be a %s, not a %s", key_str(key),
                (unsigned long long)commit_ts, kind_name(kind), kind_name(w.kind));
    buf_free(&val);
}

void th_assert_no_write(storage_t *s, tkv_slice_t key, uint64_t commit_ts)
{
    tkv_buf_t val = TKV_BUF_INIT;
    expect_true(!get_versioned(s, CF_WRITE, key, commit_ts, &val),
                "key %s must have no write record at commit ts %llu", key_str(key),
                (unsigned long long)commit_ts);
    buf_free(&val);
}

/* ---- commands ------------------------------------------------------------- */

static ProtobufCBinaryData pb(tkv_slice_t s)
{
    ProtobufCBinaryData b = { s.len, (uint8_t *)s.data };
    return b;
}

Kvrpcpb__GetResponse *th_get(txn_fixture_t *f, tkv_slice_t key, uint64_t ts)
{
    Kvrpcpb__GetRequest req = KVRPCPB__GET_REQUEST__INIT;
    req.key = pb(key);
    req.version = ts;
    Kvrpcpb__GetResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__get_response__init(resp);
    tkv_err_t err = kv_get(f->s, f->l, &req, resp);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(err, TKV_OK,
               "kv_get returned (errors go in the response; the return value is for the frame)");
    return resp;
}

Kvrpcpb__PrewriteResponse *th_prewrite(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                       const tkv_slice_t *values, const Kvrpcpb__Op *ops,
                                       tkv_slice_t primary, uint64_t start_ts, uint64_t ttl)
{
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    Kvrpcpb__Mutation *ms = xcalloc(n ? n : 1, sizeof(*ms));
    Kvrpcpb__Mutation **mp = xcalloc(n ? n : 1, sizeof(*mp));
    for (size_t i = 0; i < n; i++) {
        kvrpcpb__mutation__init(&ms[i]);
        ms[i].op = ops != NULL ? ops[i] : KVRPCPB__OP__OP_PUT;
        ms[i].key = pb(keys[i]);
        if (values != NULL)
            ms[i].value = pb(values[i]);
        mp[i] = &ms[i];
    }
    req.n_mutations = n;
    req.mutations = mp;
    req.primary_lock = pb(primary);
    req.start_version = start_ts;
    req.lock_ttl = ttl;
    Kvrpcpb__PrewriteResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__prewrite_response__init(resp);
    tkv_err_t err = kv_prewrite(f->s, f->l, &req, resp);
    free(ms);
    free(mp);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(
        err, TKV_OK,
        "kv_prewrite returned (errors go in the response; the return value is for the frame)");
    return resp;
}

Kvrpcpb__PrewriteResponse *th_prewrite_put(txn_fixture_t *f, tkv_slice_t key, tkv_slice_t value,
                                           uint64_t start_ts)
{
    return th_prewrite(f, 1, &key, &value, NULL, key, start_ts, 0);
}

static ProtobufCBinaryData *pb_keys(size_t n, const tkv_slice_t *keys)
{
    ProtobufCBinaryData *out = xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = pb(keys[i]);
    return out;
}

Kvrpcpb__CommitResponse *th_commit(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                   uint64_t start_ts, uint64_t commit_ts)
{
    Kvrpcpb__CommitRequest req = KVRPCPB__COMMIT_REQUEST__INIT;
    req.n_keys = n;
    req.keys = pb_keys(n, keys);
    req.start_version = start_ts;
    req.commit_version = commit_ts;
    Kvrpcpb__CommitResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__commit_response__init(resp);
    tkv_err_t err = kv_commit(f->s, f->l, &req, resp);
    free(req.keys);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(err, TKV_OK,
               "kv_commit returned (errors go in the response; the return value is for the frame)");
    return resp;
}

Kvrpcpb__ScanResponse *th_scan(txn_fixture_t *f, tkv_slice_t start, uint32_t limit, uint64_t ts)
{
    Kvrpcpb__ScanRequest req = KVRPCPB__SCAN_REQUEST__INIT;
    req.start_key = pb(start);
    req.limit = limit;
    req.version = ts;
    Kvrpcpb__ScanResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__scan_response__init(resp);
    tkv_err_t err = kv_scan(f->s, f->l, &req, resp);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(err, TKV_OK,
               "kv_scan returned (errors go in the response; the return value is for the frame)");
    return resp;
}

Kvrpcpb__CheckTxnStatusResponse *th_check(txn_fixture_t *f, tkv_slice_t primary, uint64_t lock_ts,
                                          uint64_t current_ts)
{
    Kvrpcpb__CheckTxnStatusRequest req = KVRPCPB__CHECK_TXN_STATUS_REQUEST__INIT;
    req.primary_key = pb(primary);
    req.lock_ts = lock_ts;
    req.current_ts = current_ts;
    Kvrpcpb__CheckTxnStatusResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__check_txn_status_response__init(resp);
    tkv_err_t err = kv_check_txn_status(f->s, f->l, &req, resp);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(err, TKV_OK,
               "kv_check_txn_status returned (errors go in the response; the return value is for "
               "the frame)");
    return resp;
}

Kvrpcpb__BatchRollbackResponse *th_rollback(txn_fixture_t *f, size_t n, const tkv_slice_t *keys,
                                            uint64_t start_ts)
{
    Kvrpcpb__BatchRollbackRequest req = KVRPCPB__BATCH_ROLLBACK_REQUEST__INIT;
    req.n_keys = n;
    req.keys = pb_keys(n, keys);
    req.start_version = start_ts;
    Kvrpcpb__BatchRollbackResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__batch_rollback_response__init(resp);
    tkv_err_t err = kv_batch_rollback(f->s, f->l, &req, resp);
    free(req.keys);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(err, TKV_OK,
               "kv_batch_rollback returned (errors go in the response; the return value is for the "
               "frame)");
    return resp;
}

Kvrpcpb__ResolveLockResponse *th_resolve(txn_fixture_t *f, uint64_t start_ts, uint64_t commit_ts)
{
    Kvrpcpb__ResolveLockRequest req = KVRPCPB__RESOLVE_LOCK_REQUEST__INIT;
    req.start_version = start_ts;
    req.commit_version = commit_ts;
    Kvrpcpb__ResolveLockResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__resolve_lock_response__init(resp);
    tkv_err_t err = kv_resolve_lock(f->s, f->l, &req, resp);
    if (err != TKV_OK)
        th_free(resp);
    expect_err(
        err, TKV_OK,
        "kv_resolve_lock returned (errors go in the response; the return value is for the frame)");
    return resp;
}

void th_free(void *resp)
{
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
}

void th_assert_bytes(ProtobufCBinaryData b, tkv_slice_t want)
{
    expect_bytes(b.len ? b.data : (const void *)"", b.len, want.data ? want.data : (const void *)"",
                 want.len, "the bytes in the response");
}
