/*
 * What the net suite's tests share: a server running in a thread of the test
 * process on a free loopback port, a connected client, and typed helpers for
 * the raw calls that assert on the reply.
 *
 * Two services can stand behind the server:
 *   - memstore: a tiny thread-safe in-memory map serving RawPut, RawGet and
 *     RawDelete. The frame tests of the server and client use it, so that they
 *     pass on a handout where the raw API and standalone storage are stubs.
 *   - the real standalone TinyKv service (kv_service.h) on standalone storage
 *     in a scratch directory: the project1 tests use it.
 *
 * Ownership: setup allocates the fixture into *state; teardown stops the
 * server, joins its thread, frees everything and removes the directory, and
 * cmocka runs it even when the test fails.
 */
#ifndef TKV_TESTS_NET_FIXTURE_H
#define TKV_TESTS_NET_FIXTURE_H

#include <pthread.h>

#include "common/buf.h"
#include "common/rpc_client.h"
#include "common/rpc_server.h"
#include "project1-standalone/storage.h"
#include "project4-txn/txn_service.h"
#include "tests/harness/test.h"

/* Generous: a safety net against a hung server, never something waited for. */
#define NET_CALL_TIMEOUT_MS 20000
#define MEMSTORE_MAX        4096

typedef struct {
    pthread_mutex_t mu;
    size_t n;
    tkv_buf_t keys[MEMSTORE_MAX];
    tkv_buf_t vals[MEMSTORE_MAX];
} memstore_t;

/* RawPut, RawGet, RawDelete on a memstore_t passed as ctx. */
extern const rpc_method_t memstore_methods[];

typedef struct {
    char dir[256];
    storage_t *storage; /* standalone fixtures only */
    memstore_t *mem;    /* memstore fixtures only */
    rpc_server_t *server;
    pthread_t thread;
    int thread_started;
    char addr[64];
    rpc_client_t *client;
    int idle_fd;                /* a raw socket a test leaves open across shutdown, or -1 */
    latches_t *latches;         /* txn fixtures only */
    txn_service_t txn;          /* txn fixtures only */
    rpc_method_t methods[24];   /* txn fixtures only: raw + Kv* */
    rpc_server_limits_t limits; /* given to the server before it runs (0: defaults) */
} net_fixture_t;

/* Serves `methods` of TinyKv with `ctx` in a new thread and connects
 * f->client. Returns 0, or -1 with a message printed. */
int net_start_server(net_fixture_t *f, const rpc_method_t *methods, void *ctx);

/* cmocka fixtures. */
int net_setup_memstore(void **state);
/* The memstore behind a server with these limits (NULL: the defaults). */
int net_setup_memstore_limits(void **state, const rpc_server_limits_t *limits);
int net_setup_standalone(void **state);
/* Standalone storage behind the raw and the transactional (Kv*) methods,
 * as tinykv-server serves them. */
int net_setup_standalone_txn(void **state);
int net_teardown(void **state);

/* Typed calls that fail the test on any error. `cf` may be "" (default). */
void net_put(rpc_client_t *c, const char *cf, const void *key, size_t klen, const void *val,
             size_t vlen);
void net_put_str(rpc_client_t *c, const char *key, const char *val);
/* `want` NULL: the key must be absent. */
void net_check_get(rpc_client_t *c, const char *cf, const char *key, const void *want, size_t wlen);
void net_check_get_str(rpc_client_t *c, const char *key, const char *want);
void net_delete(rpc_client_t *c, const char *key);

/* `threads` clients, each on its own connection and thread, each putting
 * "w<thread>-<i>" = "v<thread>-<i>" for i < ops and reading every key back.
 * Returns how many calls failed or read back something else (0 is good). */
int net_run_concurrent_clients(const char *addr, int threads, int ops);

#endif
