/*
 * The net suite's fixture (net_fixture.h): server thread, client, memstore
 * service and typed call helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project1-standalone/kv_service.h"
#include "project1-standalone/standalone_storage.h"
#include "proto/tinykvpb.pb-c.h"
#include "tests/net/net_fixture.h"

/* ---- memstore: a service that owes nothing to the labs ---------------------- */

/* Index of key, or -1. Called with mu held. */
static long mem_find(const memstore_t *m, ProtobufCBinaryData key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (slice_equal(buf_slice(&m->keys[i]), slice_of(key.data, key.len)))
            return (long)i;
    }
    return -1;
}

static tkv_err_t mem_put(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    memstore_t *m = ctx;
    const Kvrpcpb__RawPutRequest *r = (const Kvrpcpb__RawPutRequest *)req;
    (void)resp;
    tkv_err_t e = TKV_OK;
    pthread_mutex_lock(&m->mu);
    long i = mem_find(m, r->key);
    if (i < 0 && m->n == MEMSTORE_MAX) {
        e = tkv_errorf(TKV_ERR_BUSY, "memstore is full (%d keys)", MEMSTORE_MAX);
    } else {
        if (i < 0) {
            i = (long)m->n++;
            buf_set(&m->keys[i], r->key.data, r->key.len);
        }
        buf_set(&m->vals[i], r->value.data, r->value.len);
    }
    pthread_mutex_unlock(&m->mu);
    return e;
}

static tkv_err_t mem_get(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    memstore_t *m = ctx;
    const Kvrpcpb__RawGetRequest *r = (const Kvrpcpb__RawGetRequest *)req;
    Kvrpcpb__RawGetResponse *out = (Kvrpcpb__RawGetResponse *)resp;
    pthread_mutex_lock(&m->mu);
    long i = mem_find(m, r->key);
    if (i < 0) {
        out->not_found = 1;
    } else {
        out->value.len = m->vals[i].len;
        out->value.data = xmalloc(m->vals[i].len ? m->vals[i].len : 1);
        if (m->vals[i].len)
            memcpy(out->value.data, m->vals[i].data, m->vals[i].len);
    }
    pthread_mutex_unlock(&m->mu);
    return TKV_OK;
}

static tkv_err_t mem_delete(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    memstore_t *m = ctx;
    const Kvrpcpb__RawDeleteRequest *r = (const Kvrpcpb__RawDeleteRequest *)req;
    (void)resp;
    pthread_mutex_lock(&m->mu);
    long i = mem_find(m, r->key);
    if (i >= 0) {
        /* Move the last pair into the hole. */
        tkv_buf_t k = m->keys[i], v = m->vals[i];
        m->n--;
        m->keys[i] = m->keys[m->n];
        m->vals[i] = m->vals[m->n];
        m->keys[m->n] = k;
        m->vals[m->n] = v;
        buf_clear(&m->keys[m->n]);
        buf_clear(&m->vals[m->n]);
    }
    pthread_mutex_unlock(&m->mu);
    return TKV_OK;
}

const rpc_method_t memstore_methods[] = {
    { "RawPut", mem_put },
    { "RawGet", mem_get },
    { "RawDelete", mem_delete },
    { NULL, NULL },
};

static memstore_t *memstore_new(void)
{
    memstore_t *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void memstore_free(memstore_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < MEMSTORE_MAX; i++) {
        buf_free(&m->keys[i]);
        buf_free(&m->vals[i]);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- the server thread and the fixtures ------------------------------------------ */

static void *serve(void *arg)
{
    rpc_server_t *s = arg;
    rpc_server_run(s);
    return NULL;
}

int net_start_server(net_fixture_t *f, const rpc_method_t *methods, void *ctx)
{
    if (rpc_server_new(&tinykvpb__tiny_kv__descriptor, methods, ctx, &f->server) != TKV_OK ||
        rpc_server_listen(f->server, "127.0.0.1", 0) != TKV_OK) {
        fprintf(stderr, "cannot start the server: %s\n", tkv_last_error());
        return -1;
    }
    rpc_server_set_limits(f->server, &f->limits);
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", rpc_server_port(f->server));
    if (pthread_create(&f->thread, NULL, serve, f->server) != 0) {
        fprintf(stderr, "cannot start the server thread\n");
        return -1;
    }
    f->thread_started = 1;
    if (rpc_client_connect(f->addr, NET_CALL_TIMEOUT_MS, &f->client) != TKV_OK) {
        fprintf(stderr, "cannot connect to the server: %s\n", tkv_last_error());
        return -1;
    }
    return 0;
}

static net_fixture_t *fixture_new(void **state)
{
    net_fixture_t *f = xcalloc(1, sizeof(*f));
    f->idle_fd = -1;
    *state = f;
    return f;
}

int net_setup_memstore(void **state)
{
    return net_setup_memstore_limits(state, NULL);
}

int net_setup_memstore_limits(void **state, const rpc_server_limits_t *limits)
{
    net_fixture_t *f = fixture_new(state);
    if (limits != NULL)
        f->limits = *limits;
    f->mem = memstore_new();
    if (net_start_server(f, memstore_methods, f->mem) != 0) {
        net_teardown(state);
        return -1;
    }
    return 0;
}

int net_setup_standalone(void **state)
{
    net_fixture_t *f = fixture_new(state);
    tkv_tmpdir(f->dir, sizeof(f->dir));
    if (standalone_storage_new(f->dir, &f->storage) != TKV_OK ||
        storage_start(f->storage) != TKV_OK) {
        fprintf(stderr, "cannot start standalone storage in %s: %s\n", f->dir, tkv_last_error());
        net_teardown(state);
        return -1;
    }
    if (net_start_server(f, kv_service_standalone_methods(), f->storage) != 0) {
        net_teardown(state);
        return -1;
    }
    return 0;
}

int net_setup_standalone_txn(void **state)
{
    net_fixture_t *f = fixture_new(state);
    tkv_tmpdir(f->dir, sizeof(f->dir));
    if (standalone_storage_new(f->dir, &f->storage) != TKV_OK ||
        storage_start(f->storage) != TKV_OK) {
        fprintf(stderr, "cannot start standalone storage in %s: %s\n", f->dir, tkv_last_error());
        net_teardown(state);
        return -1;
    }
    f->latches = latches_new();
    f->txn.storage = f->storage;
    f->txn.latches = f->latches;
    size_t n = rpc_methods_append(f->methods, 0, 24, kv_service_standalone_methods(), f->storage);
    rpc_methods_append(f->methods, n, 24, txn_service_methods(), &f->txn);
    if (net_start_server(f, f->methods, NULL) != 0) {
        net_teardown(state);
        return -1;
    }
    return 0;
}

int net_teardown(void **state)
{
    net_fixture_t *f = *state;
    if (f == NULL)
        return 0;
    rpc_client_close(f->client);
    if (f->server != NULL) {
        rpc_server_stop(f->server);
        if (f->thread_started)
            pthread_join(f->thread, NULL);
        rpc_server_free(f->server);
    }
    if (f->idle_fd >= 0)
        close(f->idle_fd);
    if (f->storage != NULL) {
        storage_stop(f->storage);
        storage_free(f->storage);
    }
    latches_free(f->latches);
    memstore_free(f->mem);
    if (f->dir[0] != '\0')
        tkv_rmdir(f->dir);
    free(f);
    *state = NULL;
    return 0;
}

/* ---- typed helpers over the client ------------------------------------------------- */

void net_put(rpc_client_t *c, const char *cf, const void *key, size_t klen, const void *val,
             size_t vlen)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = klen;
    req.value.data = (uint8_t *)val;
    req.value.len = vlen;
    req.cf = (char *)cf;
    Kvrpcpb__RawPutResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawPut", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawPut: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

void net_put_str(rpc_client_t *c, const char *key, const char *val)
{
    net_put(c, "", key, strlen(key), val, strlen(val));
}

void net_check_get(rpc_client_t *c, const char *cf, const char *key, const void *want, size_t wlen)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = strlen(key);
    req.cf = (char *)cf;
    Kvrpcpb__RawGetResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawGet: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    if (want == NULL) {
        assert_true(resp->not_found);
    } else {
        assert_false(resp->not_found);
        assert_int_equal(resp->value.len, wlen);
        assert_memory_equal(resp->value.data, want, wlen);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

void net_check_get_str(rpc_client_t *c, const char *key, const char *want)
{
    net_check_get(c, "", key, want, want ? strlen(want) : 0);
}

void net_delete(rpc_client_t *c, const char *key)
{
    Kvrpcpb__RawDeleteRequest req = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = strlen(key);
    Kvrpcpb__RawDeleteResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawDelete", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("RawDelete: %s", tkv_last_error());
    assert_string_equal(resp->error, "");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* ---- many clients at once ------------------------------------------------------------ */

typedef struct {
    const char *addr;
    int id;
    int ops;
    int failures;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    rpc_client_t *c = NULL;
    if (rpc_client_connect(w->addr, NET_CALL_TIMEOUT_MS, &c) != TKV_OK) {
        w->failures++;
        return NULL;
    }
    for (int i = 0; i < w->ops; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "w%d-%02d", w->id, i);
        snprintf(v, sizeof(v), "v%d-%02d", w->id, i);
        Kvrpcpb__RawPutRequest put_req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        put_req.key.data = (uint8_t *)k;
        put_req.key.len = strlen(k);
        put_req.value.data = (uint8_t *)v;
        put_req.value.len = strlen(v);
        ProtobufCMessage *resp = NULL;
        if (rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawPut", &put_req.base, &resp) !=
            TKV_OK) {
            w->failures++;
            break;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        Kvrpcpb__RawGetRequest get_req = KVRPCPB__RAW_GET_REQUEST__INIT;
        get_req.key = put_req.key;
        Kvrpcpb__RawGetResponse *got = NULL;
        if (rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &get_req.base,
                            (ProtobufCMessage **)&got) != TKV_OK) {
            w->failures++;
            break;
        }
        if (got->value.len != strlen(v) || memcmp(got->value.data, v, strlen(v)) != 0)
            w->failures++;
        protobuf_c_message_free_unpacked(&got->base, NULL);
    }
    rpc_client_close(c);
    return NULL;
}

int net_run_concurrent_clients(const char *addr, int threads, int ops)
{
    pthread_t *t = xcalloc((size_t)threads, sizeof(*t));
    worker_t *w = xcalloc((size_t)threads, sizeof(*w));
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){ addr, i, ops, 0 };
        if (pthread_create(&t[i], NULL, worker, &w[i]) != 0) {
            threads = i;
            failures++;
            break;
        }
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    free(t);
    free(w);
    return failures;
}
