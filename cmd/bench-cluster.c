/*
 * bench-cluster: throughput and latency of a running key-value service as
 * its clients see it, over the network: raw put, raw get and 2-key
 * transactions with 1, 16 and 64 client threads, each thread one client
 * with its own connection, one request at a time (closed loop).
 *
 * The workload reaches the service through one small interface (target_t
 * below: put, get, txn2), so the same loop measures
 *   - a tinykv cluster (--scheduler): the client library (client/), one
 *     region cache per thread, routing by region and retrying on region
 *     errors; txn2 is a Percolator transaction of the txn client (begin
 *     with a TSO timestamp, two buffered puts, commit: prewrite primary,
 *     prewrite secondary, commit primary, commit secondary);
 *   - one tinykv-server (--addr): the TinyKv RPC protocol
 *     (common/rpc_client.h) straight to it, for a standalone server. txn2
 *     sends what a Percolator client sends (the same 4 RPCs), timestamps
 *     from an in-process counter standing in for the TSO.
 *   - etcd (--etcd): etcd's v3 HTTP/JSON gateway (/v3/kv/put, /v3/kv/range,
 *     which is linearizable, /v3/kv/txn with both puts in one txn), over
 *     plain sockets with keep-alive, for tools/etcd-bench.sh. etcd is not a
 *     dependency of the project: this is a few HTTP requests by hand.
 *
 * Prints one line per figure (latencies in microseconds):
 *   bench-cluster target=T op=put clients=N metric=ops_per_sec value=X
 *   bench-cluster target=T op=put clients=N metric=p50_us value=X
 *   bench-cluster target=T op=put clients=N metric=p99_us value=X
 *   bench-cluster target=T op=txn2 clients=N metric=abort_pct value=X
 * with op put, get or txn2. Errors (not conflicts) stop the run, exit 1.
 *
 * Usage: bench-cluster (--scheduler HOST:PORT | --addr HOST:PORT | --etcd HOST:PORT) [--seconds S]
 *        [--clients 1,16,64] [--keys K] [--value-size B] [--ops put,get,txn2]
 *        [--label NAME]
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/raw_client.h"
#include "client/txn_client.h"
#include "common/buf.h"
#include "common/cli.h"
#include "common/prng.h"
#include "common/rpc_client.h"
#include "proto/tinykvpb.pb-c.h"

static const char usage[] =
    "usage: bench-cluster (--scheduler HOST:PORT | --addr HOST:PORT | --etcd HOST:PORT)\n"
    "                     [--seconds S] [--clients 1,16,64] [--keys K] [--value-size B]\n"
    "                     [--ops put,get,txn2] [--label NAME]\n"
    "\n"
    "Measures raw put, raw get and 2-key transactions against a running service,\n"
    "one closed-loop client per thread, and prints one line per figure:\n"
    "  bench-cluster target=T op=OP clients=N metric=ops_per_sec|p50_us|p99_us value=X\n"
    "\n"
    "  --scheduler HOST:PORT  a tinykv cluster, through the client library (routed\n"
    "                     by region; transactions with the scheduler's TSO)\n"
    "  --addr HOST:PORT   one tinykv-server, standalone (its Raw* and Kv* RPCs)\n"
    "  --etcd HOST:PORT   an etcd member's HTTP/JSON gateway (put, linearizable\n"
    "                     range, txn of two puts)\n"
    "  --seconds S        length of each figure's run (default 3)\n"
    "  --clients LIST     client thread counts (default 1,16,64)\n"
    "  --keys K           key space; gets read keys loaded first (default 10000)\n"
    "  --value-size B     bytes per value (default 100)\n"
    "  --ops LIST         which workloads, in order (default put,get,txn2)\n"
    "  --label NAME       the target= field (default tinykv or etcd)\n"
    "  --help             this text\n";

/* ---- the interface the workload sees ---------------------------------------- */

/* One client's connection to the service. Methods return 0 on success, 1
 * for a transaction that lost a conflict (counted, not an error), -1 for an
 * error (message in err). */
typedef struct target target_t;
typedef struct {
    const char *name;
    target_t *(*open)(const char *addr, char *err, size_t errsize);
    int (*put)(target_t *t, const char *key, const char *val, char *err, size_t errsize);
    int (*get)(target_t *t, const char *key, char *err, size_t errsize);
    int (*txn2)(target_t *t, const char *k1, const char *k2, const char *val, char *err,
                size_t errsize);
    void (*close)(target_t *t);
} target_ops_t;

/* ---- tinykv over its RPC protocol --------------------------------------------- */

/* Start and commit timestamps: one counter for all threads, as a TSO would
 * hand them out (strictly increasing), starting from the wall clock in the
 * TSO's layout (ms << 18) so that a second run against the same server
 * starts above the first run's commits (a smaller start ts would make every
 * prewrite a write conflict). */
static _Atomic uint64_t tso_counter;

struct target {
    rcache_t *cache;   /* tinykv cluster */
    rpc_client_t *rpc; /* tinykv standalone */
    int fd;            /* etcd */
    char host[256];
    tkv_buf_t in; /* etcd: bytes read and not yet used */
};

static target_t *tkv_open(const char *addr, char *err, size_t errsize)
{
    target_t *t = xcalloc(1, sizeof(*t));
    if (rpc_client_connect(addr, 10000, &t->rpc) != TKV_OK) {
        snprintf(err, errsize, "%s", tkv_last_error());
        free(t);
        return NULL;
    }
    return t;
}

static void tkv_close(target_t *t)
{
    rpc_client_close(t->rpc);
    free(t);
}

static ProtobufCBinaryData bin(const char *s)
{
    ProtobufCBinaryData b = { strlen(s), (uint8_t *)s };
    return b;
}

/* Calls `method`; fails with the RPC error or the response's region error
 * (the first field of every Raw and Kv response). */
static int tkv_call(target_t *t, const char *method, const ProtobufCMessage *req,
                    ProtobufCMessage **resp, char *err, size_t errsize)
{
    if (rpc_client_call(t->rpc, &tinykvpb__tiny_kv__descriptor, method, req, resp) != TKV_OK) {
        snprintf(err, errsize, "%s: %s", method, tkv_last_error());
        return -1;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name((*resp)->descriptor, "region_error");
    Errorpb__Error *re = f ? *(Errorpb__Error **)((char *)*resp + f->offset) : NULL;
    if (re != NULL) {
        snprintf(err, errsize, "%s: region error: %s", method, re->message ? re->message : "");
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
        return -1;
    }
    return 0;
}

static int tkv_put(target_t *t, const char *key, const char *val, char *err, size_t errsize)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key = bin(key);
    req.value = bin(val);
    req.cf = "default";
    Kvrpcpb__RawPutResponse *resp = NULL;
    if (tkv_call(t, "RawPut", &req.base, (ProtobufCMessage **)&resp, err, errsize) != 0)
        return -1;
    int rc = 0;
    if (resp->error != NULL && resp->error[0] != '\0') {
        snprintf(err, errsize, "RawPut: %s", resp->error);
        rc = -1;
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

static int tkv_get(target_t *t, const char *key, char *err, size_t errsize)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key = bin(key);
    req.cf = "default";
    Kvrpcpb__RawGetResponse *resp = NULL;
    if (tkv_call(t, "RawGet", &req.base, (ProtobufCMessage **)&resp, err, errsize) != 0)
        return -1;
    int rc = 0;
    if (resp->error != NULL && resp->error[0] != '\0') {
        snprintf(err, errsize, "RawGet: %s", resp->error);
        rc = -1;
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

/* Prewrites `key` (0), or finds it locked or conflicting (1). */
static int tkv_prewrite(target_t *t, const char *key, const char *primary, const char *val,
                        uint64_t start, char *err, size_t errsize)
{
    Kvrpcpb__Mutation m = KVRPCPB__MUTATION__INIT, *mp = &m;
    m.op = KVRPCPB__OP__OP_PUT;
    m.key = bin(key);
    m.value = bin(val);
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    req.n_mutations = 1;
    req.mutations = &mp;
    req.primary_lock = bin(primary);
    req.start_version = start;
    req.lock_ttl = 3000;
    Kvrpcpb__PrewriteResponse *resp = NULL;
    if (tkv_call(t, "KvPrewrite", &req.base, (ProtobufCMessage **)&resp, err, errsize) != 0)
        return -1;
    int rc = resp->n_errors > 0 ? 1 : 0;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

static int tkv_commit(target_t *t, const char *key, uint64_t start, uint64_t commit, char *err,
                      size_t errsize)
{
    ProtobufCBinaryData k = bin(key);
    Kvrpcpb__CommitRequest req = KVRPCPB__COMMIT_REQUEST__INIT;
    req.start_version = start;
    req.commit_version = commit;
    req.n_keys = 1;
    req.keys = &k;
    Kvrpcpb__CommitResponse *resp = NULL;
    if (tkv_call(t, "KvCommit", &req.base, (ProtobufCMessage **)&resp, err, errsize) != 0)
        return -1;
    int rc = 0;
    if (resp->error != NULL) {
        snprintf(err, errsize, "KvCommit of %s failed after its prewrite succeeded", key);
        rc = -1;
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

/* Undoes the prewrites of a transaction that lost (locks left behind would
 * block the next transaction on those keys until their TTL). */
static int tkv_rollback(target_t *t, const char *k1, const char *k2, uint64_t start, char *err,
                        size_t errsize)
{
    ProtobufCBinaryData keys[2] = { bin(k1), bin(k2) };
    Kvrpcpb__BatchRollbackRequest req = KVRPCPB__BATCH_ROLLBACK_REQUEST__INIT;
    req.start_version = start;
    req.n_keys = 2;
    req.keys = keys;
    Kvrpcpb__BatchRollbackResponse *resp = NULL;
    if (tkv_call(t, "KvBatchRollback", &req.base, (ProtobufCMessage **)&resp, err, errsize) != 0)
        return -1;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return 0;
}

static int tkv_txn2(target_t *t, const char *k1, const char *k2, const char *val, char *err,
                    size_t errsize)
{
    uint64_t start = atomic_fetch_add(&tso_counter, 1);
    int rc = tkv_prewrite(t, k1, k1, val, start, err, errsize);
    if (rc == 0)
        rc = tkv_prewrite(t, k2, k1, val, start, err, errsize);
    if (rc == 1)
        return tkv_rollback(t, k1, k2, start, err, errsize) == 0 ? 1 : -1;
    if (rc != 0)
        return -1;
    uint64_t commit = atomic_fetch_add(&tso_counter, 1);
    if (tkv_commit(t, k1, start, commit, err, errsize) != 0 ||
        tkv_commit(t, k2, start, commit, err, errsize) != 0)
        return -1;
    return 0;
}

static const target_ops_t tinykv_ops = {
    "tinykv", tkv_open, tkv_put, tkv_get, tkv_txn2, tkv_close
};

/* ---- a tinykv cluster through the client library -------------------------------- */

static target_t *cl_open(const char *addr, char *err, size_t errsize)
{
    target_t *t = xcalloc(1, sizeof(*t));
    client_config_t cfg = client_config_default();
    if (rcache_new(addr, &cfg, &t->cache) != TKV_OK) {
        snprintf(err, errsize, "%s", tkv_last_error());
        free(t);
        return NULL;
    }
    return t;
}

static void cl_close(target_t *t)
{
    rcache_free(t->cache);
    free(t);
}

static int cl_put(target_t *t, const char *key, const char *val, char *err, size_t errsize)
{
    if (rawc_put(t->cache, NULL, slice_of_str(key), slice_of_str(val)) != TKV_OK) {
        snprintf(err, errsize, "raw put %s: %s", key, tkv_last_error());
        return -1;
    }
    return 0;
}

static int cl_get(target_t *t, const char *key, char *err, size_t errsize)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = rawc_get(t->cache, NULL, slice_of_str(key), &v);
    buf_free(&v);
    if (e != TKV_OK && e != TKV_ERR_NOT_FOUND) {
        snprintf(err, errsize, "raw get %s: %s", key, tkv_last_error());
        return -1;
    }
    return 0;
}

static int cl_txn2(target_t *t, const char *k1, const char *k2, const char *val, char *err,
                   size_t errsize)
{
    txnc_t *x = NULL;
    if (txnc_begin(t->cache, &x) != TKV_OK) {
        snprintf(err, errsize, "txn begin: %s", tkv_last_error());
        return -1;
    }
    txnc_put(x, slice_of_str(k1), slice_of_str(val));
    txnc_put(x, slice_of_str(k2), slice_of_str(val));
    tkv_err_t e = txnc_commit(x, NULL);
    txnc_free(x);
    if (e == TKV_ERR_STALE)
        return 1; /* a write conflict: the client would run it again */
    if (e != TKV_OK) {
        snprintf(err, errsize, "txn commit of %s, %s: %s", k1, k2, tkv_last_error());
        return -1;
    }
    return 0;
}

static const target_ops_t cluster_ops = { "tinykv", cl_open, cl_put, cl_get, cl_txn2, cl_close };

/* ---- etcd over its HTTP/JSON gateway ----------------------------------------- */

static target_t *etcd_open(const char *addr, char *err, size_t errsize)
{
    char host[256];
    int port = 0;
    if (cli_split_addr(addr, host, sizeof(host), &port) != 0) {
        snprintf(err, errsize, "bad address '%s' (want HOST:PORT)", addr);
        return NULL;
    }
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, ports, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errsize, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(err, errsize, "cannot connect to %s", addr);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return NULL;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    target_t *t = xcalloc(1, sizeof(*t));
    t->fd = fd;
    snprintf(t->host, sizeof(t->host), "%s", addr);
    return t;
}

static void etcd_close(target_t *t)
{
    close(t->fd);
    buf_free(&t->in);
    free(t);
}

static void b64(const char *s, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Reads until buf holds `need` bytes; 0, or -1 when the connection ends. */
static int fill(target_t *t, size_t need)
{
    while (t->in.len < need) {
        char chunk[16384];
        ssize_t n = read(t->fd, chunk, sizeof(chunk));
        if (n <= 0)
            return -1;
        buf_append(&t->in, chunk, (size_t)n);
    }
    return 0;
}

static void consume(target_t *t, size_t n)
{
    memmove(t->in.data, t->in.data + n, t->in.len - n);
    t->in.len -= n;
}

/* POSTs `body` to `path` and reads the whole answer (Content-Length or
 * chunked). Returns 0 for status 200, -1 otherwise (err says why). */
static int etcd_post(target_t *t, const char *path, const char *body, char *err, size_t errsize)
{
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, t->host, strlen(body));
    tkv_buf_t req = TKV_BUF_INIT;
    buf_append(&req, head, (size_t)hl);
    buf_append(&req, body, strlen(body));
    size_t off = 0;
    while (off < req.len) {
        ssize_t n = write(t->fd, req.data + off, req.len - off);
        if (n <= 0) {
            buf_free(&req);
            snprintf(err, errsize, "%s: the connection broke while sending", path);
            return -1;
        }
        off += (size_t)n;
    }
    buf_free(&req);
    /* The header block. */
    char *end = NULL;
    for (;;) {
        if (t->in.len > 0) {
            buf_append(&t->in, "", 1); /* a NUL to search in, removed below */
            t->in.len--;
            end = strstr((char *)t->in.data, "\r\n\r\n");
            if (end != NULL)
                break;
        }
        if (fill(t, t->in.len + 1) != 0) {
            snprintf(err, errsize, "%s: the connection closed before an answer", path);
            return -1;
        }
    }
    size_t hdr = (size_t)(end - (char *)t->in.data) + 4;
    int status = atoi((char *)t->in.data + 9);
    const char *cl = strstr((char *)t->in.data, "Content-Length:");
    if (cl == NULL)
        cl = strstr((char *)t->in.data, "content-length:");
    int chunked = strstr((char *)t->in.data, "chunked") != NULL &&
                  strstr((char *)t->in.data, "chunked") < end;
    if (cl != NULL && cl < end) {
        size_t len = (size_t)strtoul(cl + 15, NULL, 10);
        if (fill(t, hdr + len) != 0)
            return -1;
        consume(t, hdr + len);
    } else if (chunked) {
        consume(t, hdr);
        for (;;) {
            char *nl = NULL;
            while (t->in.len < 3 || (nl = memchr(t->in.data, '\n', t->in.len)) == NULL) {
                if (fill(t, t->in.len + 1) != 0)
                    return -1;
            }
            size_t size = (size_t)strtoul((char *)t->in.data, NULL, 16);
            size_t line = (size_t)(nl - (char *)t->in.data) + 1;
            if (fill(t, line + size + 2) != 0)
                return -1;
            consume(t, line + size + 2);
            if (size == 0)
                break;
        }
    } else {
        snprintf(err, errsize, "%s: an answer with no length", path);
        return -1;
    }
    if (status != 200) {
        snprintf(err, errsize, "%s: HTTP status %d", path, status);
        return -1;
    }
    return 0;
}

static int etcd_put(target_t *t, const char *key, const char *val, char *err, size_t errsize)
{
    char k[64], v[4096], body[4300];
    b64(key, k);
    b64(val, v);
    snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    return etcd_post(t, "/v3/kv/put", body, err, errsize);
}

static int etcd_get(target_t *t, const char *key, char *err, size_t errsize)
{
    char k[64], body[128];
    b64(key, k);
    snprintf(body, sizeof(body), "{\"key\":\"%s\"}", k); /* serializable unset: linearizable */
    return etcd_post(t, "/v3/kv/range", body, err, errsize);
}

static int etcd_txn2(target_t *t, const char *k1, const char *k2, const char *val, char *err,
                     size_t errsize)
{
    char a[64], b[64], v[4096], body[8600];
    b64(k1, a);
    b64(k2, b);
    b64(val, v);
    snprintf(body, sizeof(body),
             "{\"success\":[{\"requestPut\":{\"key\":\"%s\",\"value\":\"%s\"}},"
             "{\"requestPut\":{\"key\":\"%s\",\"value\":\"%s\"}}]}",
             a, v, b, v);
    return etcd_post(t, "/v3/kv/txn", body, err, errsize);
}

static const target_ops_t etcd_ops = {
    "etcd", etcd_open, etcd_put, etcd_get, etcd_txn2, etcd_close
};

/* ---- the workload ------------------------------------------------------------- */

typedef enum { OP_PUT, OP_GET, OP_TXN2 } op_t;
static const char *const op_names[] = { "put", "get", "txn2" };

typedef struct {
    const target_ops_t *ops;
    const char *addr;
    op_t op;
    unsigned keys, first_key, stride; /* loading: keys first_key, +stride, ... */
    const char *value;
    double seconds; /* 0: load mode, one put per key and stop */
    uint64_t seed;
    /* results */
    uint64_t done, aborted;
    uint32_t *lat_us; /* one per finished op (owned; capped at lat_cap) */
    size_t n_lat, lat_cap;
    char err[512];
    int failed;
} worker_t;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Key k of a workload: "bk..." for raw puts and gets, "bt..." for
 * transactions. Raw and transactional data must not share keys (as in
 * TiKV), and the raw keys loaded for the gets would otherwise put region
 * boundaries where transactional keys need none
 * (project3-multiraft/raftstore/split_check.c). */
static void key_name(char *buf, char kind, unsigned k)
{
    snprintf(buf, 16, "b%c%08u", kind, k);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    target_t *t = w->ops->open(w->addr, w->err, sizeof(w->err));
    if (t == NULL) {
        w->failed = 1;
        return NULL;
    }
    tkv_prng_t prng;
    prng_seed(&prng, w->seed);
    double start = now_s(), end = start + w->seconds;
    unsigned next_load = w->first_key;
    for (;;) {
        char k1[16], k2[16];
        int rc;
        double t0 = now_s();
        if (w->seconds == 0) {
            if (next_load >= w->keys)
                break;
            key_name(k1, 'k', next_load);
            next_load += w->stride;
            rc = w->ops->put(t, k1, w->value, w->err, sizeof(w->err));
        } else {
            if (t0 >= end)
                break;
            unsigned a = (unsigned)prng_below(&prng, w->keys);
            key_name(k1, 'k', a);
            if (w->op == OP_PUT) {
                rc = w->ops->put(t, k1, w->value, w->err, sizeof(w->err));
            } else if (w->op == OP_GET) {
                rc = w->ops->get(t, k1, w->err, sizeof(w->err));
            } else {
                unsigned b = (a + 1 + (unsigned)prng_below(&prng, w->keys - 1)) % w->keys;
                key_name(k1, 't', a);
                key_name(k2, 't', b);
                rc = w->ops->txn2(t, k1, k2, w->value, w->err, sizeof(w->err));
            }
        }
        if (rc < 0) {
            w->failed = 1;
            break;
        }
        double us = (now_s() - t0) * 1e6;
        if (rc == 1) {
            w->aborted++;
            continue;
        }
        w->done++;
        if (w->n_lat < w->lat_cap)
            w->lat_us[w->n_lat++] = us > 4e9 ? UINT32_MAX : (uint32_t)us;
    }
    w->ops->close(t);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs `clients` workers of `op` (or a load when seconds == 0). Returns 0,
 * or 1 after printing the first error. */
static int run(const target_ops_t *ops, const char *addr, const char *label, op_t op, int clients,
               unsigned keys, const char *value, double seconds, int print)
{
    worker_t *w = xcalloc((size_t)clients, sizeof(*w));
    pthread_t *th = xcalloc((size_t)clients, sizeof(*th));
    for (int i = 0; i < clients; i++) {
        w[i].ops = ops;
        w[i].addr = addr;
        w[i].op = op;
        w[i].keys = keys;
        w[i].first_key = (unsigned)i;
        w[i].stride = (unsigned)clients;
        w[i].value = value;
        w[i].seconds = seconds;
        w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) + (uint64_t)op;
        w[i].lat_cap = print ? 1u << 20 : 0;
        w[i].lat_us = print ? xmalloc(w[i].lat_cap * sizeof(uint32_t)) : NULL;
    }
    double t0 = now_s();
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    int rc = 0;
    uint64_t done = 0, aborted = 0;
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        if (w[i].failed && rc == 0) {
            fprintf(stderr, "bench-cluster: %s %s with %d clients: %s\n", label, op_names[op],
                    clients, w[i].err);
            rc = 1;
        }
        done += w[i].done;
        aborted += w[i].aborted;
        n += w[i].n_lat;
    }
    if (rc == 0 && print) {
        uint32_t *all = xmalloc((n ? n : 1) * sizeof(*all));
        size_t at = 0;
        for (int i = 0; i < clients; i++) {
            memcpy(all + at, w[i].lat_us, w[i].n_lat * sizeof(*all));
            at += w[i].n_lat;
        }
        qsort(all, n, sizeof(*all), cmp_u32);
        const char *o = op_names[op];
        printf("bench-cluster target=%s op=%s clients=%d metric=ops_per_sec value=%.0f\n", label, o,
               clients, (double)done / elapsed);
        printf("bench-cluster target=%s op=%s clients=%d metric=p50_us value=%u\n", label, o,
               clients, n ? all[n / 2] : 0);
        printf("bench-cluster target=%s op=%s clients=%d metric=p99_us value=%u\n", label, o,
               clients, n ? all[(n * 99) / 100] : 0);
        if (op == OP_TXN2)
            printf("bench-cluster target=%s op=%s clients=%d metric=abort_pct value=%.2f\n", label,
                   o, clients,
                   done + aborted ? 100.0 * (double)aborted / (double)(done + aborted) : 0.0);
        fflush(stdout);
        free(all);
    }
    for (int i = 0; i < clients; i++)
        free(w[i].lat_us);
    free(w);
    free(th);
    return rc;
}

static int parse_list(const char *s, int *out, int max, const char *what)
{
    int n = 0;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", s);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long v = strtol(tok, &end, 10);
        if (*end != '\0' || v <= 0 || v > 4096 || n == max) {
            fprintf(stderr, "bench-cluster: bad %s '%s'\n%s", what, tok, usage);
            return -1;
        }
        out[n++] = (int)v;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *label = NULL, *clients_s = "1,16,64", *ops_s = "put,get,txn2";
    const target_ops_t *ops = NULL;
    double seconds = 3;
    unsigned keys = 10000, value_size = 100;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_is_flag(argv[i], "--addr") || cli_is_flag(argv[i], "--etcd") ||
                   cli_is_flag(argv[i], "--scheduler")) {
            const char *flag = cli_is_flag(argv[i], "--addr")   ? "--addr"
                               : cli_is_flag(argv[i], "--etcd") ? "--etcd"
                                                                : "--scheduler";
            ops = flag[2] == 'a' ? &tinykv_ops : flag[2] == 'e' ? &etcd_ops : &cluster_ops;
            addr = cli_flag_value(argc, argv, &i, flag);
        } else if (cli_is_flag(argv[i], "--seconds") &&
                   (v = cli_flag_value(argc, argv, &i, "--seconds")) != NULL) {
            seconds = atof(v);
        } else if (cli_is_flag(argv[i], "--clients") &&
                   (v = cli_flag_value(argc, argv, &i, "--clients")) != NULL) {
            clients_s = v;
        } else if (cli_is_flag(argv[i], "--keys") &&
                   (v = cli_flag_value(argc, argv, &i, "--keys")) != NULL) {
            keys = (unsigned)strtoul(v, NULL, 10);
        } else if (cli_is_flag(argv[i], "--value-size") &&
                   (v = cli_flag_value(argc, argv, &i, "--value-size")) != NULL) {
            value_size = (unsigned)strtoul(v, NULL, 10);
        } else if (cli_is_flag(argv[i], "--ops") &&
                   (v = cli_flag_value(argc, argv, &i, "--ops")) != NULL) {
            ops_s = v;
        } else if (cli_is_flag(argv[i], "--label") &&
                   (v = cli_flag_value(argc, argv, &i, "--label")) != NULL) {
            label = v;
        } else {
            fprintf(stderr, "bench-cluster: unknown or incomplete argument '%s'\n%s", argv[i],
                    usage);
            return 2;
        }
    }
    if (ops == NULL || addr == NULL) {
        fprintf(stderr, "bench-cluster: give --scheduler, --addr or --etcd HOST:PORT\n%s", usage);
        return 2;
    }
    if (seconds <= 0 || keys < 2 || value_size == 0 || value_size > 3000) {
        fprintf(stderr, "bench-cluster: need --seconds > 0, --keys >= 2, --value-size 1..3000\n");
        return 2;
    }
    int clients[16], nclients = parse_list(clients_s, clients, 16, "client count");
    if (nclients <= 0)
        return 2;
    op_t order[8];
    int nops = 0;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", ops_s);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int o = 0; o < 3; o++)
            if (strcmp(tok, op_names[o]) == 0)
                found = o;
        if (found < 0 || nops == 8) {
            fprintf(stderr, "bench-cluster: bad op '%s' (put, get or txn2)\n", tok);
            return 2;
        }
        order[nops++] = (op_t)found;
    }
    if (label == NULL)
        label = ops->name;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    atomic_store(&tso_counter, ((uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000)
                                   << 18);
    char *value = xmalloc(value_size + 1);
    memset(value, 'v', value_size);
    value[value_size] = '\0';
    /* Every key exists before gets are timed (a miss is cheaper than a hit). */
    int rc = run(ops, addr, label, OP_PUT, 16, keys, value, 0, 0);
    for (int o = 0; o < nops && rc == 0; o++)
        for (int c = 0; c < nclients && rc == 0; c++)
            rc = run(ops, addr, label, order[o], clients[c], keys, value, seconds, 1);
    free(value);
    return rc;
}
