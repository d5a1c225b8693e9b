/*
 * Project 1's test fixture and raw-API helpers (fixture.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/project1/fixture.h"

int p1_setup(void **state)
{
    p1_fixture_t *f = calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    expect_err(standalone_storage_new(f->dir, &f->storage), TKV_OK,
               "standalone_storage_new(f->dir, &f->storage)");
    expect_err(storage_start(f->storage), TKV_OK, "storage_start(f->storage)");
    *state = f;
    return 0;
}

int p1_teardown(void **state)
{
    p1_fixture_t *f = *state;
    if (f == NULL)
        return 0;
    storage_stop(f->storage);
    storage_free(f->storage);
    tkv_rmdir(f->dir);
    free(f);
    return 0;
}

void p1_restart(p1_fixture_t *f)
{
    storage_stop(f->storage);
    expect_err(storage_start(f->storage), TKV_OK, "storage_start(f->storage)");
}

static void check_no_error(tkv_err_t e, const char *error, const char *what)
{
    if (e != TKV_OK)
        fail_msg("%s returned %s: %s", what, tkv_strerror(e), tkv_last_error());
    if (error != NULL && *error != '\0')
        fail_msg("%s answered with an error: %s", what, error);
}

void p1_put(storage_t *s, const char *cf, const void *key, size_t klen, const void *val,
            size_t vlen)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.cf = (char *)cf;
    req.key.data = (uint8_t *)key;
    req.key.len = klen;
    req.value.data = (uint8_t *)val;
    req.value.len = vlen;
    Kvrpcpb__RawPutResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_put_response__init(resp);
    tkv_err_t e = raw_put(s, &req, resp);
    char *error = resp->error;
    check_no_error(e, error, "RawPut");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

void p1_delete(storage_t *s, const char *cf, const void *key, size_t klen)
{
    Kvrpcpb__RawDeleteRequest req = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    req.cf = (char *)cf;
    req.key.data = (uint8_t *)key;
    req.key.len = klen;
    Kvrpcpb__RawDeleteResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_delete_response__init(resp);
    tkv_err_t e = raw_delete(s, &req, resp);
    check_no_error(e, resp->error, "RawDelete");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

int p1_get(storage_t *s, const char *cf, const void *key, size_t klen, tkv_buf_t *val)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.cf = (char *)cf;
    req.key.data = (uint8_t *)key;
    req.key.len = klen;
    Kvrpcpb__RawGetResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_get_response__init(resp);
    tkv_err_t e = raw_get(s, &req, resp);
    check_no_error(e, resp->error, "RawGet");
    int found = !resp->not_found;
    if (found)
        buf_set(val, resp->value.data, resp->value.len);
    else if (resp->value.len != 0)
        fail_msg("RawGet set not_found but also returned a %zu-byte value", resp->value.len);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return found;
}

Kvrpcpb__RawScanResponse *p1_scan(storage_t *s, const char *cf, const char *start, uint32_t limit)
{
    Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    req.cf = (char *)cf;
    req.start_key.data = (uint8_t *)start;
    req.start_key.len = strlen(start);
    req.limit = limit;
    Kvrpcpb__RawScanResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_scan_response__init(resp);
    tkv_err_t e = raw_scan(s, &req, resp);
    check_no_error(e, resp->error, "RawScan");
    return resp;
}

void p1_put_str(storage_t *s, const char *cf, const char *key, const char *val)
{
    p1_put(s, cf, key, strlen(key), val, strlen(val));
}

void p1_expect_str(storage_t *s, const char *cf, const char *key, const char *want)
{
    tkv_buf_t v = TKV_BUF_INIT;
    if (!p1_get(s, cf, key, strlen(key), &v))
        fail_msg("RawGet(%s, \"%s\") said not found; expected \"%s\"", cf ? cf : "default", key,
                 want);
    if (v.len != strlen(want) || memcmp(v.data, want, v.len) != 0)
        fail_msg("RawGet(%s, \"%s\") returned \"%.*s\"; expected \"%s\"", cf ? cf : "default", key,
                 (int)v.len, (const char *)v.data, want);
    buf_free(&v);
}

void p1_expect_missing(storage_t *s, const char *cf, const char *key)
{
    tkv_buf_t v = TKV_BUF_INIT;
    if (p1_get(s, cf, key, strlen(key), &v))
        fail_msg("RawGet(%s, \"%s\") returned \"%.*s\"; expected not found", cf ? cf : "default",
                 key, (int)v.len, (const char *)v.data);
    buf_free(&v);
}

void p1_expect_scan_keys(const Kvrpcpb__RawScanResponse *resp, const char *const *keys)
{
    size_t want = 0;
    while (keys[want] != NULL)
        want++;
    if (resp->n_kvs != want)
        fail_msg("RawScan returned %zu pairs; expected %zu", resp->n_kvs, want);
    for (size_t i = 0; i < want; i++) {
        const ProtobufCBinaryData *k = &resp->kvs[i]->key;
        if (k->len != strlen(keys[i]) || memcmp(k->data, keys[i], k->len) != 0)
            fail_msg("RawScan pair %zu has key \"%.*s\"; expected \"%s\"", i, (int)k->len,
                     (const char *)k->data, keys[i]);
    }
}
