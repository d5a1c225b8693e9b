/*
 * bench-txn: throughput of Percolator transactions (project 4) on standalone
 * storage.
 *
 * Each transaction reads two random keys (KvGet at its start ts), prewrites
 * both (the first is the primary), then commits the primary and the
 * secondary, as a client would: five commands. Timestamps come from one
 * atomic counter standing in for the timestamp oracle. A txn that meets a lock
 * or a conflict rolls back and counts as aborted. Threads share one storage
 * and one set of latches.
 *
 * Prints one line per figure:
 *   bench-txn threads=N metric=txn_per_sec value=X     (committed txns)
 *   bench-txn threads=N metric=abort_pct value=X
 *
 * Usage: bench-txn [--seconds S] [--keys K] [--threads 1,2,4,8] (--help says more)
 * Data lives in a scratch directory under $TMPDIR (or /tmp), removed at exit.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cli.h"
#include "common/prng.h"
#include "project1-standalone/standalone_storage.h"
#include "project4-txn/kv_txn.h"

typedef struct {
    storage_t *s;
    latches_t *l;
    unsigned keys;
    double seconds;
    _Atomic uint64_t *oracle;
    uint64_t seed;
    uint64_t committed;
    uint64_t aborted;
    tkv_err_t err;
} worker_t;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void key_name(char *buf, unsigned k)
{
    snprintf(buf, 16, "key%06u", k);
}

static ProtobufCBinaryData bin(const char *s)
{
    ProtobufCBinaryData b = { strlen(s), (uint8_t *)s };
    return b;
}

/* 1 if the get saw no lock. */
static int get_ok(worker_t *w, const char *key, uint64_t ts)
{
    Kvrpcpb__GetRequest req = KVRPCPB__GET_REQUEST__INIT;
    req.key = bin(key);
    req.version = ts;
    Kvrpcpb__GetResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__get_response__init(resp);
    w->err = kv_get(w->s, w->l, &req, resp);
    int ok = w->err == TKV_OK && resp->error == NULL && resp->region_error == NULL;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return ok;
}

static int prewrite_ok(worker_t *w, char keys[2][16], const char *value, uint64_t start)
{
    Kvrpcpb__Mutation m[2], *mp[2];
    for (int i = 0; i < 2; i++) {
        kvrpcpb__mutation__init(&m[i]);
        m[i].op = KVRPCPB__OP__OP_PUT;
        m[i].key = bin(keys[i]);
        m[i].value = bin(value);
        mp[i] = &m[i];
    }
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    req.n_mutations = 2;
    req.mutations = mp;
    req.primary_lock = bin(keys[0]);
    req.start_version = start;
    req.lock_ttl = 3000;
    Kvrpcpb__PrewriteResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__prewrite_response__init(resp);
    w->err = kv_prewrite(w->s, w->l, &req, resp);
    int ok = w->err == TKV_OK && resp->n_errors == 0 && resp->region_error == NULL;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return ok;
}

static int commit_ok(worker_t *w, const char *key, uint64_t start, uint64_t commit)
{
    ProtobufCBinaryData k = bin(key);
    Kvrpcpb__CommitRequest req = KVRPCPB__COMMIT_REQUEST__INIT;
    req.n_keys = 1;
    req.keys = &k;
    req.start_version = start;
    req.commit_version = commit;
    Kvrpcpb__CommitResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__commit_response__init(resp);
    w->err = kv_commit(w->s, w->l, &req, resp);
    int ok = w->err == TKV_OK && resp->error == NULL && resp->region_error == NULL;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return ok;
}

static void rollback(worker_t *w, char keys[2][16], uint64_t start)
{
    ProtobufCBinaryData k[2] = { bin(keys[0]), bin(keys[1]) };
    Kvrpcpb__BatchRollbackRequest req = KVRPCPB__BATCH_ROLLBACK_REQUEST__INIT;
    req.n_keys = 2;
    req.keys = k;
    req.start_version = start;
    Kvrpcpb__BatchRollbackResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__batch_rollback_response__init(resp);
    w->err = kv_batch_rollback(w->s, w->l, &req, resp);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void *work(void *arg)
{
    worker_t *w = arg;
    tkv_prng_t r;
    prng_seed(&r, w->seed);
    double end = now_s() + w->seconds;
    char keys[2][16], value[32];
    while (now_s() < end && w->err == TKV_OK) {
        unsigned a = (unsigned)prng_below(&r, w->keys), b = (unsigned)prng_below(&r, w->keys - 1);
        if (b >= a)
            b++;
        key_name(keys[0], a);
        key_name(keys[1], b);
        uint64_t start = atomic_fetch_add(w->oracle, 1);
        snprintf(value, sizeof(value), "value-%llu", (unsigned long long)start);
        if (!get_ok(w, keys[0], start) || !get_ok(w, keys[1], start) ||
            !prewrite_ok(w, keys, value, start)) {
            if (w->err == TKV_OK)
                rollback(w, keys, start);
            w->aborted++;
            continue;
        }
        uint64_t commit = atomic_fetch_add(w->oracle, 1);
        /* Once the primary is committed the txn is; the secondary follows. */
        if (!commit_ok(w, keys[0], start, commit)) {
            w->aborted++;
            continue;
        }
        commit_ok(w, keys[1], start, commit);
        w->committed++;
    }
    return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int run(const char *dir, int threads, unsigned keys, double seconds)
{
    storage_t *s = NULL;
    if (standalone_storage_new(dir, &s) != TKV_OK || storage_start(s) != TKV_OK) {
        fprintf(stderr, "bench-txn: cannot open storage in %s: %s\n", dir, tkv_last_error());
        storage_free(s);
        return 1;
    }
    latches_t *l = latches_new();
    _Atomic uint64_t oracle = 1000;
    worker_t *w = xcalloc((size_t)threads, sizeof(*w));
    pthread_t *t = xcalloc((size_t)threads, sizeof(*t));
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker_t){ s, l, keys, seconds, &oracle, 7 + (uint64_t)i, 0, 0, TKV_OK };
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    uint64_t committed = 0, aborted = 0;
    int rc = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        committed += w[i].committed;
        aborted += w[i].aborted;
        if (w[i].err != TKV_OK) {
            fprintf(stderr, "bench-txn: a command failed: %s\n", tkv_strerror(w[i].err));
            rc = 1;
        }
    }
    double elapsed = now_s() - t0;
    printf("bench-txn threads=%d metric=txn_per_sec value=%.0f\n", threads,
           (double)committed / elapsed);
    printf("bench-txn threads=%d metric=abort_pct value=%.2f\n", threads,
           committed + aborted ? 100.0 * (double)aborted / (double)(committed + aborted) : 0.0);
    fflush(stdout);
    free(w);
    free(t);
    latches_free(l);
    storage_stop(s);
    storage_free(s);
    return rc;
}

static const char usage[] =
    "usage: bench-txn [--seconds S] [--keys K] [--threads LIST]\n"
    "\n"
    "Measures Percolator transactions (project 4) on standalone storage: each\n"
    "reads two random keys, prewrites both and commits them. One line per\n"
    "figure, for example\n"
    "  bench-txn threads=2 metric=txn_per_sec value=17185\n"
    "  bench-txn threads=2 metric=abort_pct value=0.03\n"
    "\n"
    "  --seconds S      how long each figure runs (default 2; a decimal > 0)\n"
    "  --keys K         how many keys the transactions pick from (default 10000, >= 2)\n"
    "  --threads LIST   thread counts to measure, comma-separated (default 1,2,4,8)\n"
    "  --help           this text\n"
    "\n"
    "Data lives in a scratch directory under $TMPDIR (or /tmp), removed at exit.\n"
    "Exit status: 0 when every figure was measured, 1 when a run failed (project 4\n"
    "not implemented, storage unusable), 2 on bad usage.\n";

/* The thread counts of LIST, or 0 when one is not a number in 1..1024. */
static size_t parse_threads(const char *list, int *out, size_t max)
{
    size_t n = 0;
    const char *p = list;
    while (n < max) {
        char one[16];
        size_t len = strcspn(p, ",");
        uint64_t v;
        if (len == 0 || len >= sizeof(one))
            return 0;
        memcpy(one, p, len);
        one[len] = '\0';
        if (cli_parse_u64(one, 1, 1024, &v) != 0)
            return 0;
        out[n++] = (int)v;
        if (p[len] == '\0')
            return n;
        p += len + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    uint64_t keys = 10000;
    const char *threads = "1,2,4,8";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_is_flag(argv[i], "--seconds")) {
            char *end = NULL;
            if ((v = cli_flag_value(argc, argv, &i, "--seconds")) == NULL)
                return cli_usage_error("bench-txn", "--seconds needs a number");
            seconds = strtod(v, &end);
            if (end == v || *end != '\0' || !(seconds > 0 && seconds <= 3600))
                return cli_usage_error("bench-txn", "--seconds '%s' is not a number in (0, 3600]",
                                       v);
        } else if (cli_is_flag(argv[i], "--keys")) {
            if ((v = cli_flag_value(argc, argv, &i, "--keys")) == NULL)
                return cli_usage_error("bench-txn", "--keys needs a number");
            if (cli_parse_u64(v, 2, 100000000, &keys) != 0)
                return cli_usage_error("bench-txn", "--keys '%s' is not a number in 2..100000000",
                                       v);
        } else if (cli_is_flag(argv[i], "--threads")) {
            if ((v = cli_flag_value(argc, argv, &i, "--threads")) == NULL)
                return cli_usage_error("bench-txn", "--threads needs a list such as 1,2,4");
            threads = v;
        } else {
            return cli_usage_error("bench-txn", "unknown argument '%s'", argv[i]);
        }
    }
    int counts[32];
    size_t n_counts = parse_threads(threads, counts, sizeof(counts) / sizeof(counts[0]));
    if (n_counts == 0)
        return cli_usage_error("bench-txn",
                               "--threads '%s' is not a list of up to 32 thread counts in 1..1024 "
                               "(such as 1,2,4)",
                               threads);
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/bench-txn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("bench-txn: mkdtemp");
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n_counts && rc == 0; i++) {
        /* A fresh database per figure, so earlier rounds' versions don't weigh on later ones. */
        char sub[600];
        snprintf(sub, sizeof(sub), "%s/run%zu", dir, i);
        rc = run(sub, counts[i], (unsigned)keys, seconds);
    }
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
